//! [`Attempts`]: which attempt of a request this is, for callers that only see requests (the
//! HTTP face), so that injected failures hit the first tries and a retry gets through.

use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::{Mutex, PoisonError};

use crate::llm::chat::{ChatRequest, Role};

/// Requests remembered per generation; two generations are kept, so memory stays bounded
/// (a few MB) however long a server runs, while a request retried within the last
/// 65,536 distinct requests is still recognized.
const GENERATION: usize = 1 << 16;

/// Counts the attempts of each request: thread-safe, keyed by a 64-bit hash of the trial's
/// identity and the request's messages, so a retried identical request counts up.
///
/// Two trials that send the same conversation under the same identity share a count: give
/// each trial its own identity (the trial's name, or anything the caller can tell trials
/// apart by).
#[derive(Debug, Default)]
pub(crate) struct Attempts {
    hasher: foldhash::quality::RandomState,
    seen: Mutex<Generations>,
}

#[derive(Debug, Default)]
struct Generations {
    current: foldhash::HashMap<u64, u32>,
    /// The generation before `current`, dropped when `current` fills up again.
    previous: foldhash::HashMap<u64, u32>,
}

impl Attempts {
    /// No request seen yet.
    #[cfg(test)]
    pub(crate) fn new() -> Attempts {
        Attempts::default()
    }

    /// Records one more attempt of `request` under `identity`: 1 the first time, 2 the next…
    pub(crate) fn next(&self, identity: &str, request: &ChatRequest) -> u32 {
        let key = self.key(identity, request);
        // A panic elsewhere cannot leave a count half-written, so a poisoned lock is usable.
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        let before = match seen.current.get(&key) {
            Some(&count) => count,
            None => seen.previous.remove(&key).unwrap_or(0),
        };
        let count = before.saturating_add(1);
        seen.current.insert(key, count);
        if seen.current.len() >= GENERATION {
            seen.previous = std::mem::take(&mut seen.current);
        }
        count
    }

    fn key(&self, identity: &str, request: &ChatRequest) -> u64 {
        let mut hasher = self.hasher.build_hasher();
        identity.hash(&mut hasher);
        request.messages.len().hash(&mut hasher);
        for message in &request.messages {
            let role: u8 = match message.role {
                Role::System => 0,
                Role::User => 1,
                Role::Assistant => 2,
                Role::Tool => 3,
            };
            role.hash(&mut hasher);
            message.content.hash(&mut hasher);
            message.tool_call_id.hash(&mut hasher);
            message.tool_calls.len().hash(&mut hasher);
            for call in &message.tool_calls {
                call.id.hash(&mut hasher);
                call.name.hash(&mut hasher);
                call.arguments.hash(&mut hasher);
            }
        }
        hasher.finish()
    }

    /// How many requests are remembered.
    #[cfg(test)]
    fn remembered(&self) -> usize {
        let seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        seen.current.len() + seen.previous.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::chat::Message;

    fn request(messages: &[&str]) -> ChatRequest {
        ChatRequest {
            messages: messages
                .iter()
                .map(|text| Message::text(Role::User, *text))
                .collect(),
            ..ChatRequest::default()
        }
    }

    #[test]
    fn identical_requests_count_up_and_others_start_at_one() {
        let attempts = Attempts::new();
        let cases = [
            ("t#1", vec!["hi"], 1),
            ("t#1", vec!["hi"], 2),
            ("t#1", vec!["hi"], 3),
            ("t#2", vec!["hi"], 1),
            ("t#1", vec!["hi", "more"], 1),
            // Message boundaries count: ["hi", "more"] is not ["himore"].
            ("t#1", vec!["himore"], 1),
            ("t#1", vec!["hi"], 4),
        ];
        for (identity, messages, expected) in cases {
            assert_eq!(
                attempts.next(identity, &request(&messages)),
                expected,
                "{identity} {messages:?}"
            );
        }
    }

    #[test]
    fn memory_is_bounded_and_recent_requests_are_kept() {
        let attempts = Attempts::new();
        let first = request(&["first"]);
        assert_eq!(attempts.next("t", &first), 1);
        for i in 0..3 * GENERATION {
            attempts.next(&i.to_string(), &first);
            if i == GENERATION / 2 {
                // Still remembered half a generation later.
                assert_eq!(attempts.next("t", &first), 2);
            }
        }
        assert!(attempts.remembered() <= 2 * GENERATION);
        // Forgotten two generations later.
        assert_eq!(attempts.next("t", &first), 1);
    }

    #[test]
    fn counts_are_shared_between_threads() {
        let attempts = Attempts::new();
        let hello = request(&["hello"]);
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    for _ in 0..100 {
                        attempts.next("t", &hello);
                    }
                });
            }
        });
        assert_eq!(attempts.next("t", &hello), 401);
    }
}
