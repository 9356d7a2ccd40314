//! When to retry a failed model call and how long to wait first. Pure: the caller (the builtin
//! agent) owns the loop, the sleeping, the spans and the randomness.
//!
//! ```text
//! use std::time::Duration;
//! use traceval::llm::chat::ChatError;
//! use traceval::llm::retry::RetryPolicy;
//!
//! let policy = RetryPolicy::default();
//! let busy = ChatError::Http { status: 503, retry_after: None, message: "busy".into() };
//! // Attempt 2 failed: back off up to 500ms·2 = 1s, scaled by the caller's jitter.
//! assert_eq!(policy.delay(2, &busy, 0.5), Some(Duration::from_millis(500)));
//! // Attempt 4 of 4 failed: give up.
//! assert_eq!(policy.delay(4, &busy, 0.5), None);
//! ```

use std::time::Duration;

use super::chat::ChatError;

/// Bounded exponential backoff with full jitter, honouring the server's `Retry-After`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RetryPolicy {
    /// Attempts in all, the first included (default 4). 0 counts as 1: never retry.
    pub max_attempts: u32,
    /// The backoff ceiling after the first failure (default 500 ms).
    pub base: Duration,
    /// The longest wait, for backoff and for `Retry-After` alike (default 20 s).
    pub max: Duration,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 4,
            base: Duration::from_millis(500),
            max: Duration::from_secs(20),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    #[cfg(test)]
    pub(crate) fn never() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// How long to wait before the next attempt, after attempt `attempt` (1-based) failed
    /// with `error`; `None` to give up, because the error is not
    /// [retryable](ChatError::retryable) or `attempt >= max_attempts`.
    ///
    /// When the error carries a `Retry-After` (`retry_after` of [`ChatError::Http`]) the wait is
    /// exactly that, capped at `max`: the server knows best, and jitter would only add to it
    /// or undercut it. Otherwise it is "full jitter" backoff:
    ///
    /// ```text
    /// ceiling = min(max, base · 2^(attempt − 1))
    /// delay   = jitter · ceiling
    /// ```
    ///
    /// with `jitter` uniform in `[0, 1)` supplied by the caller (values outside are clamped,
    /// NaN counts as 0), so concurrent trials that failed together spread their retries over
    /// the whole window instead of retrying in lockstep.
    pub(crate) fn delay(&self, attempt: u32, error: &ChatError, jitter: f64) -> Option<Duration> {
        if !error.retryable() || attempt >= self.max_attempts.max(1) {
            return None;
        }
        if let ChatError::Http {
            retry_after: Some(after),
            ..
        } = error
        {
            return Some((*after).min(self.max));
        }
        let jitter = if jitter.is_nan() {
            0.0
        } else {
            jitter.clamp(0.0, 1.0)
        };
        Some(self.ceiling(attempt).mul_f64(jitter))
    }

    /// `min(max, base · 2^(attempt − 1))`, saturating.
    pub(crate) fn ceiling(&self, attempt: u32) -> Duration {
        let factor = 1u32
            .checked_shl(attempt.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http(status: u16, retry_after: Option<Duration>) -> ChatError {
        ChatError::Http {
            status,
            retry_after,
            message: String::new(),
        }
    }

    #[test]
    fn delays_follow_the_table() {
        let ms = Duration::from_millis;
        let p = RetryPolicy::default();
        let cases: &[(u32, ChatError, f64, Option<Duration>)] = &[
            // Exponential ceilings 500ms, 1s, 2s scaled by the jitter.
            (1, http(429, None), 0.75, Some(ms(375))),
            (1, http(500, None), 0.5, Some(ms(250))),
            (2, http(503, None), 0.5, Some(ms(500))),
            (3, ChatError::Timeout(ms(10)), 0.5, Some(ms(1000))),
            (
                3,
                ChatError::Network("reset".into()),
                0.0,
                Some(Duration::ZERO),
            ),
            // Retry-After wins, without jitter, capped at max.
            (1, http(429, Some(ms(7000))), 0.1, Some(ms(7000))),
            (2, http(529, Some(ms(0))), 0.9, Some(Duration::ZERO)),
            (
                1,
                http(429, Some(Duration::from_secs(90))),
                0.1,
                Some(ms(20_000)),
            ),
            // Exhausted: attempt 4 of 4 failed.
            (4, http(429, Some(ms(10))), 0.5, None),
            (9, http(500, None), 0.5, None),
            // Not retryable.
            (1, http(400, Some(ms(10))), 0.5, None),
            (1, http(401, None), 0.5, None),
            (1, ChatError::Malformed("x".into()), 0.5, None),
            // Jitter outside [0, 1) is clamped, NaN is 0.
            (1, http(500, None), 7.0, Some(ms(500))),
            (1, http(500, None), -1.0, Some(Duration::ZERO)),
            (1, http(500, None), f64::NAN, Some(Duration::ZERO)),
        ];
        for (attempt, error, jitter, want) in cases {
            assert_eq!(
                p.delay(*attempt, error, *jitter),
                *want,
                "attempt {attempt}, {error:?}, jitter {jitter}"
            );
        }
    }

    #[test]
    fn ceilings_double_up_to_max_and_never_overflow() {
        let p = RetryPolicy {
            max_attempts: u32::MAX,
            ..RetryPolicy::default()
        };
        let secs: Vec<f64> = (1..=8).map(|a| p.ceiling(a).as_secs_f64()).collect();
        assert_eq!(secs, [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 20.0, 20.0]);
        assert_eq!(p.ceiling(0), Duration::from_millis(500));
        assert_eq!(p.ceiling(200), Duration::from_secs(20));
        assert_eq!(
            p.delay(u32::MAX - 1, &http(500, None), 0.5),
            Some(Duration::from_secs(10))
        );
    }

    #[test]
    fn zero_or_one_attempt_never_retries() {
        for max_attempts in [0, 1] {
            let p = RetryPolicy {
                max_attempts,
                ..RetryPolicy::default()
            };
            assert_eq!(p.delay(1, &http(503, None), 0.5), None);
        }
        assert_eq!(RetryPolicy::never().delay(1, &http(503, None), 0.5), None);
    }
}
