//! The scripted model: a deterministic fake LLM driven by a TOML script, so that agents can be
//! tested offline and pass@k means something. It answers with tool calls or text, reports
//! usage, finish reasons and latency, and fails on purpose when told to. The builtin agent
//! calls it in process; `traceval serve-model` serves it over HTTP.
//!
//! ```text
//! use std::path::Path;
//! use traceval::llm::chat::{ChatRequest, Message, Role};
//! use traceval::llm::scripted::{CallContext, Script};
//!
//! let script = Script::parse(
//!     r#"
//!     [[rule]]
//!     when.user = 'weather in (?P<city>\w+)'
//!     tool-calls = [{ name = "get_weather", args = { city = "${city}" } }]
//!     "#,
//!     Path::new("scripts/sunny.toml"),
//! )?;
//! let request = ChatRequest {
//!     messages: vec![Message::text(Role::User, "What's the weather in Paris?")],
//!     ..ChatRequest::default()
//! };
//! let reply = script.reply(&request, &CallContext::default());
//! let response = reply.outcome?;
//! assert_eq!(response.model, "sunny");
//! assert_eq!(response.message.tool_calls[0].arguments, r#"{"city":"Paris"}"#);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # The script
//!
//! Keys are kebab-case and unknown keys are errors, reported like suite errors:
//! ``scripts/sunny.toml:12:1: unknown key `rule[0].when.usr` `` with ``did you mean `user`?``.
//!
//! ```toml
//! model = "sunny-1"       # the model name responses report (default: the file stem)
//! latency = "40ms"        # simulated latency of every call (default: 0s); reported, not slept
//! seed-by = "trial"       # what variant choices vary with: "trial" (default) or "input"
//!
//! [fallback]              # answers when no rule matches; takes the keys of a rule but `when`
//! text = "I can't help with that: ${user}"
//!
//! [[rule]]                # rules are tried in order; the first whose conditions all hold answers
//! when.user = '(?i)weather in (?P<city>[A-Z][a-z]+)'  # regex on the last user message
//! when.turn = 0           # the turn: how many assistant messages the conversation has
//! # when.tool-result = 're'  regex on the last tool result (the conversation ends with one)
//! # when.tool-called = "x"   the last assistant message called tool `x`
//! tool-calls = [          # several calls are parallel calls; ids are `call_<turn>_<index>`
//!     { name = "get_weather", args = { city = "${city}" } },
//!     { name = "get_time", args = { city = "${1}", utc = true } },
//! ]
//! usage = { input = 120, output = 18, cache-read = 100 }  # each optional, see Usage
//! latency = "50ms"        # overrides the script's latency
//! fail = { status = 429, times = 1, retry-after = "20ms" }  # attempts 1..=times fail
//!
//! [[rule]]
//! when.tool-result = '(?P<sky>sunny|cloudy)'
//! text = "It is ${sky} in ${tool_result}."  # templates, see below
//! finish-reason = "stop"  # stop | tool-calls | length | content-filter
//!                         # (default: tool-calls for tool calls, stop for text)
//!
//! [[rule]]
//! when.user = 'research'
//! latency = "1s"          # a rule's manner keys (finish-reason, usage, latency, fail,
//!                         # malformed-args) are defaults for its variants
//! [[rule.variant]]        # weighted variants, chosen deterministically (see below)
//! weight = 7              # a positive integer (default 1)
//! tool-calls = [{ name = "search", args = { q = "${user}" } }]
//! [[rule.variant]]
//! weight = 3
//! tool-calls = [{ name = "search", args = { q = "${user}" } }]
//! malformed-args = true   # the arguments are not valid JSON (cut before the closing brace)
//! ```
//!
//! A rule (and the fallback) has exactly one of `text`, `tool-calls` or `[[rule.variant]]`
//! tables, and a variant exactly one of `text` or `tool-calls`; a rule with no `when` matches
//! every call. `fail.status` is 400 to 599, `fail.times` at least 1 (default 1), and
//! `fail.message` replaces the default error message. Durations are strings such as `"40ms"`
//! or `"2s"`. Arguments are a table; TOML datetimes in them become strings.
//!
//! # Templates
//!
//! `text` and every string in `args` may use `${name}` (a named group of the rule's
//! `when.user` regex, else of its `when.tool-result` regex), `${1}` (a numbered group of the
//! `when.user` regex, or of `when.tool-result` when the rule has no `when.user`; `${0}` is the
//! whole match), `${user}` (the last user message) and `${tool_result}` (the last tool result;
//! empty unless the conversation ends with one). `$$` is a literal `$`. References are
//! resolved when the script loads: a name no regex of the rule defines is a load error with a
//! did-you-mean hint, and groups cannot be named `user` or `tool_result`. Only a group that
//! took no part in the match (`(?P<unit>C|F)?`) renders empty. Substitutions land inside JSON
//! strings, escaped; they never change a value's type.
//!
//! # Variants
//!
//! The variant is chosen from the run seed, a key, the rule and the turn, so that a trial is
//! reproducible and trials of one case differ. The procedure is frozen:
//!
//! ```text
//! h     = splitmix64(splitmix64(splitmix64(seed) ^ fnv1a64(key)) ^ (rule << 32 | turn))
//! pick  = h % (sum of the weights)
//! ```
//!
//! and the chosen variant is the first whose running sum of weights exceeds `pick`, in file
//! order. `key` is the bytes of [`CallContext::identity`] (with `seed-by = "input"`, or with no
//! identity, the conversation's first user message; empty without one). `rule` is the 0-based
//! rule index (`0xFFFFFFFF` for the fallback) and `turn` the turn, each as 32 bits.
//! `fnv1a64` is 64-bit FNV-1a (offset basis `0xcbf29ce484222325`, prime `0x100000001b3`) and
//! `splitmix64(x)` is SplitMix64's output function on `x + 0x9e3779b97f4a7c15`: multiply by
//! `0xbf58476d1ce4e5b9` after `z ^= z >> 30`, by `0x94d049bb133111eb` after `z ^= z >> 27`,
//! then `z ^ (z >> 31)`, all wrapping.
//!
//! # Usage, ids, failures
//!
//! Token counts absent from `usage` are computed: input is the characters of every message's
//! text and tool-call arguments, output the characters of the answer text or of its tool-call
//! arguments, each divided by 4, rounded up, and at least 1; `cache-read` defaults to 0.
//! Tool-call ids are `call_<turn>_<index>`; the response id is a hash of the seed, the identity
//! and the turn. With `fail`, attempts 1 to `times` of a call ([`CallContext::attempt`];
//! [`Attempts`] counts them from the requests) end in [`ChatError::Http`] with the status and
//! `retry-after`, and later attempts answer. Without `[fallback]`, a call no rule matches gets
//! a final answer saying so, quoting the last user message.
//!
//! [`ChatError::Http`]: crate::llm::chat::ChatError::Http

mod attempts;
mod engine;
mod error;
mod raw;
mod script;
mod template;

pub(crate) use attempts::Attempts;
pub(crate) use engine::CallContext;
pub(crate) use error::ScriptError;
pub(crate) use script::Script;
