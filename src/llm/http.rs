//! What the HTTP API providers ([`super::openai`], [`super::anthropic`]) share: the redacting
//! [`ApiKey`], building the `reqwest` client, and turning one HTTP exchange into a parsed body
//! or a typed [`ChatError`].
//!
//! Keys stay out of every message: [`ApiKey`] prints `[redacted]`, header values are marked
//! sensitive and never formatted, URLs in messages lose their user info and query, and an
//! error body that quotes the key (some servers echo what they were sent) has it replaced by
//! `[redacted]` before it becomes a [`ChatError`].

use std::ffi::OsString;
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::Url;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value as Json;

use super::chat::ChatError;

/// Longest error message kept from an error body, in characters.
pub(crate) const MAX_ERROR_MESSAGE: usize = 500;

/// Largest response body read; a longer one is a malformed response.
const MAX_RESPONSE_BODY: usize = 32 << 20;

/// How much of an unparsable body a [`ChatError::Malformed`] quotes, in characters.
const MALFORMED_SNIPPET: usize = 200;

/// Keys shorter than this are not scrubbed from error messages: they are placeholders
/// (`ollama`, `none`), and replacing every occurrence of such a word would garble messages.
const MIN_SCRUBBED_KEY: usize = 8;

/// An API key. It prints as `[redacted]` with `{}` and `{:?}`; only [`ApiKey::expose`] gives
/// the text, to put it in a header.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct ApiKey(String);

impl ApiKey {
    /// Wraps a key.
    pub(crate) fn new(key: impl Into<String>) -> ApiKey {
        ApiKey(key.into())
    }

    /// The key itself. Never format it.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for ApiKey {
    fn from(key: String) -> ApiKey {
        ApiKey(key)
    }
}

impl From<&str> for ApiKey {
    fn from(key: &str) -> ApiKey {
        ApiKey(key.to_owned())
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Why a provider could not be configured. Messages name variables and headers, never values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ProviderError {
    /// The variable that should hold the API key is unset or empty.
    #[error("the API key variable `{var}` is not set (or is empty)")]
    MissingKey {
        /// The variable's name.
        var: String,
    },
    /// The variable that should hold the API key is not UTF-8.
    #[error("the API key variable `{var}` is not valid UTF-8")]
    KeyNotUtf8 {
        /// The variable's name.
        var: String,
    },
    /// The base URL is not an `http` or `https` URL.
    #[error("invalid base URL `{url}`: {reason}")]
    BaseUrl {
        /// The URL, without user info or query.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// A header name or value (the key, the organization, an extra header) cannot be sent.
    #[error("header `{name}` cannot be sent: invalid {what}")]
    Header {
        /// The header's name.
        name: String,
        /// `name` or `value`.
        what: &'static str,
    },
    /// `reqwest` refused to build a client.
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

/// Reads an API key from the variable `var` through `lookup` (`std::env::var_os` in
/// production); surrounding whitespace is trimmed.
pub(crate) fn key_from(
    var: &str,
    lookup: impl Fn(&str) -> Option<OsString>,
) -> Result<ApiKey, ProviderError> {
    let value = lookup(var).ok_or_else(|| ProviderError::MissingKey {
        var: var.to_owned(),
    })?;
    let value = value.into_string().map_err(|_| ProviderError::KeyNotUtf8 {
        var: var.to_owned(),
    })?;
    let value = value.trim();
    if value.is_empty() {
        return Err(ProviderError::MissingKey {
            var: var.to_owned(),
        });
    }
    Ok(ApiKey::new(value))
}

/// A base URL from the variable `var` through `lookup`, trimmed; `None` when it is unset,
/// empty or not UTF-8 (the SDKs treat an empty one as unset too).
pub(crate) fn url_from(var: &str, lookup: impl Fn(&str) -> Option<OsString>) -> Option<String> {
    let value = lookup(var)?.into_string().ok()?;
    let value = value.trim();
    (!value.is_empty()).then(|| value.to_owned())
}

/// A header to send; `sensitive` ones are hidden from `HeaderMap`'s own `Debug`.
pub(crate) fn header(
    name: &str,
    value: &str,
    sensitive: bool,
) -> Result<(HeaderName, HeaderValue), ProviderError> {
    let bad = |what| ProviderError::Header {
        name: name.to_owned(),
        what,
    };
    let name_ = HeaderName::from_bytes(name.as_bytes()).map_err(|_| bad("name"))?;
    let mut value = HeaderValue::from_str(value).map_err(|_| bad("value"))?;
    value.set_sensitive(sensitive);
    Ok((name_, value))
}

/// Writes header names with `[redacted]` values, for `Debug` of configurations.
pub(crate) struct RedactedHeaders<'a>(pub &'a [(String, String)]);

impl fmt::Debug for RedactedHeaders<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|(name, _)| (name, "[redacted]")))
            .finish()
    }
}

/// A URL for messages: scheme, host, port and path; no user info, no query, no fragment.
pub(crate) fn display_url(url: &Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.set_query(None);
    shown.set_fragment(None);
    shown.to_string()
}

/// One API endpoint: a client with the provider's headers, the URL it posts to, and the key
/// to scrub from error messages.
pub(crate) struct Endpoint {
    client: reqwest::Client,
    url: Url,
    /// The base URL as reports show it (see [`Endpoint::base_url`]).
    base_url: String,
    timeout: Duration,
    key: Option<ApiKey>,
}

impl Endpoint {
    /// `{base_url}/{path}`, posted to with `headers` (the caller marks the secret ones
    /// sensitive) and the request `timeout`.
    pub(crate) fn new(
        base_url: &str,
        path: &str,
        headers: Vec<(HeaderName, HeaderValue)>,
        timeout: Duration,
        key: Option<ApiKey>,
    ) -> Result<Endpoint, ProviderError> {
        let url = endpoint_url(base_url, path)?;
        let shown = display_url(&url);
        let base_url = shown
            .strip_suffix(path)
            .unwrap_or(&shown)
            .trim_end_matches('/')
            .to_owned();
        // `rustls-no-provider`: building a client without a process-wide crypto provider
        // panics. Installing is idempotent: a second call (or main's) returns Err, ignored.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.insert(name, value);
        }
        let client = reqwest::Client::builder()
            .default_headers(map)
            .timeout(timeout)
            .user_agent(concat!("traceval/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ProviderError::Client(error_chain(&e.without_url())))?;
        Ok(Endpoint {
            client,
            url,
            base_url,
            timeout,
            key,
        })
    }

    /// The URL posted to.
    pub(crate) fn url(&self) -> &Url {
        &self.url
    }

    /// The base URL, without user info, query, fragment or trailing slash: safe to report.
    pub(crate) fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Posts `body` as JSON, parses a 2xx answer as `T` and converts it with `convert`.
    /// Timeouts become [`ChatError::Timeout`], connection and transfer failures
    /// [`ChatError::Network`], other statuses [`ChatError::Http`] (with `retry-after-ms` /
    /// `Retry-After` and the body's message), and a body that is not JSON or not a `T`
    /// [`ChatError::Malformed`]. Every error, `convert`'s included, has the key scrubbed.
    pub(crate) async fn post<T: DeserializeOwned, R>(
        &self,
        body: &impl Serialize,
        convert: impl FnOnce(T) -> Result<R, ChatError>,
    ) -> Result<R, ChatError> {
        self.exchange(body)
            .await
            .and_then(convert)
            .map_err(|e| self.scrub(e))
    }

    async fn exchange<T: DeserializeOwned>(&self, body: &impl Serialize) -> Result<T, ChatError> {
        let mut response = self
            .client
            .post(self.url.clone())
            .json(body)
            .send()
            .await
            .map_err(|e| self.transport_error(e))?;
        let status = response.status();
        let retry_after = retry_after(response.headers(), SystemTime::now());
        let mut bytes = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.transport_error(e))?
        {
            if bytes.len() + chunk.len() > MAX_RESPONSE_BODY {
                return Err(ChatError::Malformed(format!(
                    "the response body is larger than {MAX_RESPONSE_BODY} bytes"
                )));
            }
            bytes.extend_from_slice(&chunk);
        }
        if !status.is_success() {
            return Err(ChatError::Http {
                status: status.as_u16(),
                retry_after,
                message: error_message(&bytes, status.canonical_reason()),
            });
        }
        serde_json::from_slice(&bytes).map_err(|e| {
            ChatError::Malformed(format!(
                "{e}; the body starts with: {}",
                truncate(String::from_utf8_lossy(&bytes).trim(), MALFORMED_SNIPPET)
            ))
        })
    }

    fn transport_error(&self, e: reqwest::Error) -> ChatError {
        if e.is_timeout() {
            return ChatError::Timeout(self.timeout);
        }
        ChatError::Network(format!(
            "POST {}: {}",
            display_url(&self.url),
            error_chain(&e.without_url())
        ))
    }

    /// Replaces the key wherever a message quotes it.
    fn scrub(&self, error: ChatError) -> ChatError {
        let Some(key) = self
            .key
            .as_ref()
            .map(ApiKey::expose)
            .filter(|k| k.len() >= MIN_SCRUBBED_KEY)
        else {
            return error;
        };
        let clean = |s: String| {
            if s.contains(key) {
                s.replace(key, "[redacted]")
            } else {
                s
            }
        };
        match error {
            ChatError::Http {
                status,
                retry_after,
                message,
            } => ChatError::Http {
                status,
                retry_after,
                message: clean(message),
            },
            ChatError::Network(m) => ChatError::Network(clean(m)),
            ChatError::Malformed(m) => ChatError::Malformed(clean(m)),
            timeout @ ChatError::Timeout(_) => timeout,
        }
    }
}

/// `{base}/{path}` for an `http(s)` base URL, with or without a trailing slash.
fn endpoint_url(base_url: &str, path: &str) -> Result<Url, ProviderError> {
    let bad = |url: String, reason: String| ProviderError::BaseUrl { url, reason };
    let base = Url::parse(base_url.trim()).map_err(|e| {
        // Unparsable: show nothing that could be a credential, only the scheme-ish prefix.
        let shown = base_url.split(['@', '?']).next().unwrap_or_default();
        bad(truncate(shown, 100), e.to_string())
    })?;
    if !matches!(base.scheme(), "http" | "https") {
        return Err(bad(
            display_url(&base),
            format!("the scheme must be http or https, not `{}`", base.scheme()),
        ));
    }
    let joined = format!("{}/{path}", base.as_str().trim_end_matches('/'));
    Url::parse(&joined).map_err(|e| bad(display_url(&base), e.to_string()))
}

/// An error and its sources, `: `-separated (reqwest's own message alone says little).
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

/// How long the server asked us to wait: `retry-after-ms` (milliseconds, as OpenAI sends it)
/// first, else `Retry-After` as seconds (fractions accepted) or an HTTP date (IMF-fixdate,
/// measured from `now`; a date in the past means zero).
pub(crate) fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(ms) = text("retry-after-ms").and_then(|t| t.parse::<f64>().ok())
        && let Some(d) = seconds(ms / 1000.0)
    {
        return Some(d);
    }
    let value = text("retry-after")?;
    if let Ok(secs) = value.parse::<f64>() {
        return seconds(secs);
    }
    let at = http_date(value)?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

fn seconds(secs: f64) -> Option<Duration> {
    if secs.is_finite() && secs >= 0.0 {
        Duration::try_from_secs_f64(secs).ok()
    } else {
        None
    }
}

/// An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the date format HTTP senders must use.
pub(crate) fn http_date(text: &str) -> Option<SystemTime> {
    let parts: Vec<&str> = text.split_ascii_whitespace().collect();
    let [_weekday, day, month, year, time, "GMT"] = parts[..] else {
        return None;
    };
    let day: u32 = day.parse().ok()?;
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|m| *m == month)? as u32
        + 1;
    let year: i64 = year.parse().ok()?;
    let hms: Vec<u64> = time
        .split(':')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let [h, m, s] = hms[..] else {
        return None;
    };
    if !(1..=31).contains(&day) || h > 23 || m > 59 || s > 60 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let secs = u64::try_from(days).ok()? * 86_400 + h * 3600 + m * 60 + s;
    UNIX_EPOCH.checked_add(Duration::from_secs(secs))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((month + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The message of an error body, at most [`MAX_ERROR_MESSAGE`] characters: OpenAI's and
/// Anthropic's `{"error": {"message", "type"/"code"}}` as `code-or-type: message`, the
/// `{"error": "..."}`, `{"message": ...}` and `{"detail": ...}` of other compatible servers,
/// else the body's text, else the status's reason phrase.
pub(crate) fn error_message(body: &[u8], reason: Option<&str>) -> String {
    let parsed = serde_json::from_slice::<Json>(body)
        .ok()
        .and_then(|v| message_of(&v));
    let text = parsed.unwrap_or_else(|| String::from_utf8_lossy(body).trim().to_owned());
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.is_empty() {
        return reason.unwrap_or("no error message").to_owned();
    }
    truncate(&text, MAX_ERROR_MESSAGE)
}

fn message_of(v: &Json) -> Option<String> {
    fn s(v: Option<&Json>) -> Option<&str> {
        v.and_then(Json::as_str).filter(|s| !s.trim().is_empty())
    }
    match v.get("error") {
        Some(Json::String(m)) => Some(m.clone()),
        Some(e @ Json::Object(_)) => {
            let message = s(e.get("message"));
            let kind = s(e.get("code")).or_else(|| s(e.get("type")));
            match (kind, message) {
                (Some(k), Some(m)) => Some(format!("{k}: {m}")),
                (None, Some(m)) => Some(m.to_owned()),
                (Some(k), None) => Some(k.to_owned()),
                (None, None) => None,
            }
        }
        _ => s(v.get("message"))
            .or_else(|| s(v.get("detail")))
            .map(str::to_owned),
    }
}

/// At most `max` characters, with `…` when cut.
pub(crate) fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_print_redacted() {
        let key = ApiKey::new("sk-live-123456789");
        assert_eq!(format!("{key} {key:?}"), "[redacted] [redacted]");
        assert_eq!(key.expose(), "sk-live-123456789");
    }

    #[test]
    fn keys_come_from_the_named_variable_and_errors_name_only_it() {
        let lookup = |v: &str| (v == "MY_KEY").then(|| OsString::from(" sk-abcdefgh\n"));
        assert_eq!(key_from("MY_KEY", lookup).unwrap().expose(), "sk-abcdefgh");
        let err = key_from("OTHER", lookup).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the API key variable `OTHER` is not set (or is empty)"
        );
        let empty = |_: &str| Some(OsString::from("  "));
        assert!(matches!(
            key_from("E", empty),
            Err(ProviderError::MissingKey { .. })
        ));
    }

    #[test]
    fn invalid_header_values_are_named_not_printed() {
        let err = header("x-secret", "sk-bad\nvalue", true).unwrap_err();
        assert_eq!(
            err.to_string(),
            "header `x-secret` cannot be sent: invalid value"
        );
        let (_, v) = header("authorization", "Bearer sk-abcdefgh", true).unwrap();
        assert_eq!(format!("{v:?}"), "Sensitive");
    }

    #[test]
    fn endpoint_urls_join_with_or_without_a_slash_and_refuse_other_schemes() {
        let u = endpoint_url("http://h:1/v1/", "chat/completions").unwrap();
        assert_eq!(u.as_str(), "http://h:1/v1/chat/completions");
        let u = endpoint_url("https://api.x.com/v1", "messages").unwrap();
        assert_eq!(u.as_str(), "https://api.x.com/v1/messages");
        let err = endpoint_url("ftp://user:pw@h/v1", "m").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid base URL `ftp://h/v1`: the scheme must be http or https, not `ftp`"
        );
        let err = endpoint_url("not a url", "m").unwrap_err();
        assert!(err.to_string().starts_with("invalid base URL `not a url`"));
    }

    #[test]
    fn urls_in_messages_lose_credentials_and_queries() {
        let u = Url::parse("https://me:secret@h.example/v1/x?key=sk-1#f").unwrap();
        assert_eq!(display_url(&u), "https://h.example/v1/x");
    }

    #[test]
    fn retry_after_reads_milliseconds_then_seconds_then_dates() {
        let now = UNIX_EPOCH + Duration::from_secs(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
        let h = |pairs: &[(&'static str, &'static str)]| {
            let mut m = HeaderMap::new();
            for (k, v) in pairs {
                m.insert(*k, HeaderValue::from_static(v));
            }
            m
        };
        type Headers<'a> = &'a [(&'a str, &'a str)];
        let cases: &[(Headers, Option<Duration>)] = &[
            (&[], None),
            (&[("retry-after", "7")], Some(Duration::from_secs(7))),
            (
                &[("retry-after", " 1.5 ")],
                Some(Duration::from_millis(1500)),
            ),
            (
                &[("retry-after-ms", "250"), ("retry-after", "1")],
                Some(Duration::from_millis(250)),
            ),
            (
                &[("retry-after-ms", "nope"), ("retry-after", "2")],
                Some(Duration::from_secs(2)),
            ),
            (&[("retry-after", "-3")], None),
            (&[("retry-after", "soon")], None),
            (
                &[("retry-after", "Sun, 06 Nov 1994 08:50:07 GMT")],
                Some(Duration::from_secs(30)),
            ),
            (
                &[("retry-after", "Sun, 06 Nov 1994 08:00:00 GMT")],
                Some(Duration::ZERO),
            ),
        ];
        for (headers, want) in cases {
            assert_eq!(retry_after(&h(headers), now), *want, "{headers:?}");
        }
    }

    #[test]
    fn http_dates_parse_as_imf_fixdate() {
        let t = http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(t.duration_since(UNIX_EPOCH).unwrap().as_secs(), 784_111_777);
        let t = http_date("Thu, 29 Feb 2024 00:00:00 GMT").unwrap();
        assert_eq!(
            t.duration_since(UNIX_EPOCH).unwrap().as_secs(),
            1_709_164_800
        );
        assert_eq!(http_date("Sun, 06 Nov 1994 08:49:37 UTC"), None);
        assert_eq!(http_date("Sunday, 06-Nov-94 08:49:37 GMT"), None);
    }

    #[test]
    fn error_messages_come_from_the_usual_body_shapes() {
        let cases: &[(&str, &str)] = &[
            (
                r#"{"error":{"message":"Rate limit reached","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#,
                "rate_limit_exceeded: Rate limit reached",
            ),
            (
                r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
                "overloaded_error: Overloaded",
            ),
            (
                r#"{"error":{"message":"boom","type":null,"code":null}}"#,
                "boom",
            ),
            (r#"{"error":"model not found"}"#, "model not found"),
            (
                r#"{"object":"error","message":"bad  request\n here","code":400}"#,
                "bad request here",
            ),
            (r#"{"detail":"Not Found"}"#, "Not Found"),
            (
                "<html>502 Bad Gateway</html>",
                "<html>502 Bad Gateway</html>",
            ),
            ("", "Too Many Requests"),
        ];
        for (body, want) in cases {
            assert_eq!(
                error_message(body.as_bytes(), Some("Too Many Requests")),
                *want
            );
        }
        let long = "é".repeat(2000);
        let m = error_message(long.as_bytes(), None);
        assert_eq!(m.chars().count(), MAX_ERROR_MESSAGE + 1);
        assert!(m.ends_with('…'));
    }
}
