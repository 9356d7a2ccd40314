//! Answering a call: match the rules against the conversation, pick a variant, inject a failure
//! or render the answer. Pure: the same script, request and [`CallContext`] always give the
//! same [`Reply`], and nothing sleeps.

use std::time::Duration;

use super::script::{Answer, Body, Content, Script, SeedBy, When};
use super::template::Values;
use crate::hash::fnv1a64;
use crate::llm::chat::{
    ChatError, ChatRequest, ChatResponse, FinishReason, Message, Role, TokenUsage, ToolCall,
};

/// The rule index that keys the fallback's variant choice: past any real rule, so that adding
/// rules does not change the fallback's choices.
const FALLBACK_INDEX: u64 = 0xFFFF_FFFF;

/// What makes one call reproducible besides the request itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CallContext<'a> {
    /// The run seed.
    pub seed: u64,
    /// A stable identity of the trial, e.g. `"weather::paris#3"`; `None` stands for the
    /// conversation's first user message, so that trials of one input cannot differ.
    pub identity: Option<&'a str>,
    /// 1 for the first try of this exact request, 2 for its first retry, and so on
    /// ([`super::Attempts`] counts them for callers that see only requests).
    pub attempt: u32,
}

impl Default for CallContext<'_> {
    /// Seed 0, no identity, first attempt.
    fn default() -> Self {
        CallContext {
            seed: 0,
            identity: None,
            attempt: 1,
        }
    }
}

/// The scripted model's answer to one call.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Reply {
    /// How long the call should appear to take. Only reported: the caller decides whether to
    /// wait it out (the HTTP face does; an in-process agent may just record it).
    pub latency: Duration,
    /// The response, or the injected failure ([`ChatError::Http`]).
    pub outcome: Result<ChatResponse, ChatError>,
    /// The 0-based index of the `[[rule]]` that answered; `None` for the fallback.
    pub rule: Option<usize>,
}

/// The parts of the conversation rules look at.
struct Conversation<'r> {
    turn: usize,
    user: Option<&'r str>,
    tool_result: Option<&'r str>,
    /// The tools the last assistant message called.
    called: &'r [ToolCall],
}

impl<'r> Conversation<'r> {
    fn read(request: &'r ChatRequest) -> Conversation<'r> {
        let called = request
            .messages
            .iter()
            .rev()
            .find(|m| m.role == Role::Assistant)
            .map_or(&[][..], |m| &m.tool_calls);
        Conversation {
            turn: request.turn(),
            user: request.last_user(),
            tool_result: request.last_tool_result(),
            called,
        }
    }

    fn values(&self) -> Values<'r> {
        Values {
            user: self.user.unwrap_or_default(),
            tool_result: self.tool_result.unwrap_or_default(),
            user_captures: None,
            tool_result_captures: None,
        }
    }
}

impl When {
    /// The template values when every condition holds. The cheap conditions go first: most
    /// rules of a script are ruled out by the turn or the last tool call.
    fn matches<'r>(&self, conversation: &Conversation<'r>) -> Option<Values<'r>> {
        if self.turn.is_some_and(|turn| turn != conversation.turn) {
            return None;
        }
        if let Some(tool) = &self.tool_called
            && !conversation.called.iter().any(|call| &call.name == tool)
        {
            return None;
        }
        let mut values = conversation.values();
        if let Some(regex) = &self.user {
            values.user_captures = Some(regex.captures(conversation.user?)?);
        }
        if let Some(regex) = &self.tool_result {
            values.tool_result_captures = Some(regex.captures(conversation.tool_result?)?);
        }
        Some(values)
    }
}

impl Script {
    /// Answers one call: the first rule whose conditions all hold answers, else the fallback.
    pub(crate) fn reply(&self, request: &ChatRequest, ctx: &CallContext<'_>) -> Reply {
        let conversation = Conversation::read(request);
        let matched = self.rules.iter().enumerate().find_map(|(i, rule)| {
            let values = rule.when.matches(&conversation)?;
            Some((i, &rule.body, values))
        });
        let first_user = request
            .messages
            .iter()
            .find(|m| m.role == Role::User)
            .and_then(|m| m.content.as_deref())
            .unwrap_or_default();
        let identity = ctx.identity.unwrap_or(first_user);
        let chooser = Chooser {
            seed: ctx.seed,
            key: match self.seed_by {
                SeedBy::Trial => identity,
                SeedBy::Input => first_user,
            },
            turn: conversation.turn,
        };
        let (rule, answer, values) = match (matched, &self.fallback) {
            (Some((i, body, values)), _) => (Some(i), chooser.choose(body, i as u64), values),
            (None, Some(body)) => (
                None,
                chooser.choose(body, FALLBACK_INDEX),
                conversation.values(),
            ),
            (None, None) => {
                return Reply {
                    latency: self.latency,
                    outcome: Ok(self.no_rule_response(request, &conversation, identity, ctx)),
                    rule: None,
                };
            }
        };
        let latency = answer.latency.unwrap_or(self.latency);
        if let Some(fail) = &answer.fail
            && ctx.attempt <= fail.times
        {
            let message = fail.message.clone().unwrap_or_else(|| {
                format!(
                    "{} (injected by scripted model `{}`, attempt {} of {} failing)",
                    reason(fail.status),
                    self.model,
                    ctx.attempt,
                    fail.times
                )
            });
            let error = ChatError::Http {
                status: fail.status,
                retry_after: fail.retry_after,
                message,
            };
            return Reply {
                latency,
                outcome: Err(error),
                rule,
            };
        }
        let response = self.respond(request, &conversation, answer, &values, identity, ctx);
        Reply {
            latency,
            outcome: Ok(response),
            rule,
        }
    }

    fn respond(
        &self,
        request: &ChatRequest,
        conversation: &Conversation<'_>,
        answer: &Answer,
        values: &Values<'_>,
        identity: &str,
        ctx: &CallContext<'_>,
    ) -> ChatResponse {
        let (message, answer_chars, default_reason) = match &answer.content {
            Content::Text(template) => {
                let text = template.render(values);
                let chars = text.chars().count();
                (
                    Message::text(Role::Assistant, text),
                    chars,
                    FinishReason::Stop,
                )
            }
            Content::ToolCalls(calls) => {
                let calls = calls
                    .iter()
                    .enumerate()
                    .map(|(index, call)| {
                        let args = call.args.render(values).map_err(|e| (&call.name, e))?;
                        let mut arguments = args.to_string();
                        if answer.malformed_args {
                            // Cut off before the closing brace, as a model stopped mid-call
                            // writes it: never valid JSON, whatever the arguments.
                            arguments.pop();
                        }
                        Ok(ToolCall {
                            id: format!("call_{}_{index}", conversation.turn),
                            name: call.name.clone(),
                            arguments,
                        })
                    })
                    .collect::<Result<Vec<ToolCall>, _>>();
                // A typed capture that does not convert: a final answer that says so, as for a
                // conversation the script has no rule for, so the failing trial shows why.
                let calls = match calls {
                    Ok(calls) => calls,
                    Err((tool, e)) => {
                        let text = format!(
                            "scripted model `{}` cannot call `{tool}` on turn {}: {e}",
                            self.model, conversation.turn
                        );
                        let chars = text.chars().count();
                        let message = Message::text(Role::Assistant, text);
                        return self.response(
                            request,
                            conversation,
                            answer,
                            message,
                            chars,
                            FinishReason::Stop,
                            identity,
                            ctx,
                        );
                    }
                };
                let chars = calls
                    .iter()
                    .map(|call| call.arguments.chars().count())
                    .sum();
                let message = Message {
                    role: Role::Assistant,
                    content: None,
                    tool_calls: calls,
                    tool_call_id: None,
                };
                (message, chars, FinishReason::ToolCalls)
            }
        };
        self.response(
            request,
            conversation,
            answer,
            message,
            answer_chars,
            answer.finish_reason.unwrap_or(default_reason),
            identity,
            ctx,
        )
    }

    /// The response carrying `message`, with the answer's usage (or usage computed from the
    /// prompt and `answer_chars`).
    #[expect(
        clippy::too_many_arguments,
        reason = "one call's parts, passed through"
    )]
    fn response(
        &self,
        request: &ChatRequest,
        conversation: &Conversation<'_>,
        answer: &Answer,
        message: Message,
        answer_chars: usize,
        finish_reason: FinishReason,
        identity: &str,
        ctx: &CallContext<'_>,
    ) -> ChatResponse {
        let usage = TokenUsage {
            input_tokens: answer
                .usage
                .input
                .unwrap_or_else(|| tokens(prompt_chars(request))),
            output_tokens: answer.usage.output.unwrap_or_else(|| tokens(answer_chars)),
            cache_read_tokens: answer.usage.cache_read,
        };
        ChatResponse {
            id: response_id(ctx.seed, identity, conversation.turn),
            model: self.model.clone(),
            message,
            finish_reason,
            usage,
        }
    }

    /// The built-in fallback: a final answer that says no rule matched, quoting the last user
    /// message, so that a failing trial shows what the script lacks.
    fn no_rule_response(
        &self,
        request: &ChatRequest,
        conversation: &Conversation<'_>,
        identity: &str,
        ctx: &CallContext<'_>,
    ) -> ChatResponse {
        let text = match conversation.user {
            Some(user) => format!(
                "scripted model `{}` has no rule for turn {} of this conversation; the last user message was: \"{user}\"",
                self.model, conversation.turn
            ),
            None => format!(
                "scripted model `{}` has no rule for turn {} of this conversation, which has no user message",
                self.model, conversation.turn
            ),
        };
        let usage = TokenUsage {
            input_tokens: tokens(prompt_chars(request)),
            output_tokens: tokens(text.chars().count()),
            cache_read_tokens: 0,
        };
        ChatResponse {
            id: response_id(ctx.seed, identity, conversation.turn),
            model: self.model.clone(),
            message: Message::text(Role::Assistant, text),
            finish_reason: FinishReason::Stop,
            usage,
        }
    }
}

/// Picks variants; see the module documentation for the procedure, which is part of what makes
/// runs reproducible and must not change.
struct Chooser<'k> {
    seed: u64,
    key: &'k str,
    turn: usize,
}

impl Chooser<'_> {
    fn choose<'b>(&self, body: &'b Body, rule: u64) -> &'b Answer {
        let (variants, total) = match body {
            Body::One(answer) => return answer,
            Body::Variants { variants, total } => (variants, *total),
        };
        let mut pick = variant_hash(self.seed, self.key, rule, self.turn as u64) % total;
        for (weight, answer) in variants {
            if pick < *weight {
                return answer;
            }
            pick -= weight;
        }
        // The weights add up to `total`, so the loop has returned.
        &variants[variants.len() - 1].1
    }
}

/// `splitmix64(splitmix64(splitmix64(seed) ^ fnv1a64(key)) ^ (rule << 32 | turn))`, with the
/// turn and rule truncated to 32 bits.
fn variant_hash(seed: u64, key: &str, rule: u64, turn: u64) -> u64 {
    let position = (rule << 32) | (turn & 0xFFFF_FFFF);
    splitmix64(splitmix64(splitmix64(seed) ^ fnv1a64(key.as_bytes())) ^ position)
}

/// A response id that differs between trials and turns and repeats with them.
fn response_id(seed: u64, identity: &str, turn: usize) -> String {
    let hash = splitmix64(splitmix64(seed) ^ fnv1a64(identity.as_bytes())) ^ turn as u64;
    format!("chatcmpl-{:016x}", splitmix64(hash))
}

/// The finalizer of SplitMix64 (Steele, Lea and Flood 2014) applied to `x` plus its increment:
/// a bijection that spreads every input bit over the output.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Characters of the prompt: every message's text and tool-call arguments.
fn prompt_chars(request: &ChatRequest) -> usize {
    request
        .messages
        .iter()
        .map(|m| {
            let text = m.content.as_deref().map_or(0, |text| text.chars().count());
            let args: usize = m
                .tool_calls
                .iter()
                .map(|c| c.arguments.chars().count())
                .sum();
            text + args
        })
        .sum()
}

/// Tokens for a number of characters: one per four, rounded up, at least one.
fn tokens(chars: usize) -> u64 {
    (chars as u64).div_ceil(4).max(1)
}

/// The reason phrase of an HTTP error status.
fn reason(status: u16) -> &'static str {
    match status {
        400 => "bad request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not found",
        408 => "request timeout",
        409 => "conflict",
        429 => "rate limit exceeded",
        500 => "internal server error",
        502 => "bad gateway",
        503 => "service unavailable",
        504 => "gateway timeout",
        _ if status < 500 => "client error",
        _ => "server error",
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn script(text: &str) -> Script {
        Script::parse(text, Path::new("scripts/test.toml")).unwrap()
    }

    fn user(text: &str) -> Message {
        Message::text(Role::User, text)
    }

    /// An assistant message calling `names`, with the ids the scripted model would give.
    fn called(turn: usize, names: &[&str]) -> Message {
        let calls = names
            .iter()
            .enumerate()
            .map(|(i, name)| ToolCall {
                id: format!("call_{turn}_{i}"),
                name: (*name).to_owned(),
                arguments: "{}".to_owned(),
            })
            .collect();
        Message {
            role: Role::Assistant,
            content: None,
            tool_calls: calls,
            tool_call_id: None,
        }
    }

    fn tool(text: &str) -> Message {
        Message::tool_result("call_0_0", text)
    }

    fn request(messages: Vec<Message>) -> ChatRequest {
        ChatRequest {
            model: "anything".to_owned(),
            messages,
            ..ChatRequest::default()
        }
    }

    /// The answer in one line: `text` or `name(args) name(args)`.
    fn said(reply: &Reply) -> String {
        let response = reply.outcome.as_ref().expect("a response");
        let message = &response.message;
        if message.tool_calls.is_empty() {
            return message.content.clone().unwrap_or_default();
        }
        let calls: Vec<String> = message
            .tool_calls
            .iter()
            .map(|call| format!("{}({})", call.name, call.arguments))
            .collect();
        calls.join(" ")
    }

    const WEATHER: &str = r#"
[[rule]]
when.user = '(?i)weather in (?P<city>[A-Z][a-z]+)'
when.turn = 0
tool-calls = [{ name = "get_weather", args = { city = "${city}" } }]

[[rule]]
when = { tool-result = '(\d+) degrees, (?P<sky>\w+)', tool-called = "get_weather" }
text = "It is ${sky} and ${1} degrees."
[[rule]]
when.user = '(?i)weather in (?P<city>[A-Z][a-z]+)'
when.tool-result = '(?P<temp>\d+) degrees'
text = "${city}: ${temp} degrees (${1}; ${user} / ${tool_result})"

[[rule]]
when.user = 'weather'
text = "Which city?"

[[rule]]
when.turn = 2
text = "Enough."

[[rule]]
text = "Anything else matches here."
"#;

    #[test]
    fn the_first_rule_whose_conditions_all_hold_answers() {
        let script = script(WEATHER);
        let cases = [
            (
                vec![user("What's the weather in Paris?")],
                Some(0),
                "get_weather({\"city\":\"Paris\"})",
            ),
            // Same text, turn 1: the first rule's turn condition fails.
            (
                vec![
                    user("weather in Paris"),
                    called(0, &["x"]),
                    user("weather in Paris"),
                ],
                Some(3),
                "Which city?",
            ),
            (
                vec![
                    user("weather in Paris"),
                    called(0, &["get_weather"]),
                    tool("21 degrees, sunny"),
                ],
                Some(1),
                "It is sunny and 21 degrees.",
            ),
            // The tool called was not `get_weather`: the next rule with a tool-result regex,
            // where `${1}` is a group of `when.user`.
            (
                vec![
                    user("weather in Rome"),
                    called(0, &["lookup"]),
                    tool("30 degrees, hot"),
                ],
                Some(2),
                "Rome: 30 degrees (Rome; weather in Rome / 30 degrees, hot)",
            ),
            // The conversation does not end with a tool result.
            (
                vec![
                    user("weather in Rome"),
                    called(0, &["get_weather"]),
                    tool("30 degrees"),
                    user("and?"),
                ],
                Some(5),
                "Anything else matches here.",
            ),
            (
                vec![
                    user("hi"),
                    called(0, &["a"]),
                    tool("x"),
                    called(1, &["b"]),
                    tool("y"),
                ],
                Some(4),
                "Enough.",
            ),
            (vec![user("hello")], Some(5), "Anything else matches here."),
        ];
        for (messages, rule, expected) in cases {
            let reply = script.reply(&request(messages.clone()), &CallContext::default());
            assert_eq!(
                (reply.rule, said(&reply).as_str()),
                (rule, expected),
                "{messages:?}"
            );
        }
    }

    #[test]
    fn templates_use_named_and_numbered_captures_of_the_rule() {
        let script = script(
            r#"
[[rule]]
when.user = 'from (?P<from>\w+) to (\w+)'
when.tool-result = '(?P<minutes>\d+) min'
text = "${from} → ${2}: ${minutes} minutes (${0}; $$${1})"
[[rule]]
when.tool-result = '(\w+) (\w+)'
tool-calls = [{ name = "echo", args = { a = "${2}", b = ["${1}", 3], c = "${user}" } }]
"#,
        );
        let cases = [
            (
                vec![
                    user("go from Paris to Lyon"),
                    called(0, &["route"]),
                    tool("117 min"),
                ],
                "Paris → Lyon: 117 minutes (from Paris to Lyon; $Paris)",
            ),
            (
                vec![user("say \"hi\""), called(0, &["t"]), tool("hello world")],
                r#"echo({"a":"world","b":["hello",3],"c":"say \"hi\""})"#,
            ),
        ];
        for (messages, expected) in cases {
            let reply = script.reply(&request(messages), &CallContext::default());
            assert_eq!(said(&reply), expected);
        }
    }

    #[test]
    fn parallel_tool_calls_get_deterministic_ids() {
        let script = script(
            r#"
[[rule]]
when.turn = 0
tool-calls = [{ name = "a" }, { name = "b", args = { x = 1 } }, { name = "c" }]
[[rule]]
tool-calls = [{ name = "d" }, { name = "e" }]
"#,
        );
        let first = request(vec![user("go")]);
        let reply = script.reply(&first, &CallContext::default());
        let response = reply.outcome.unwrap();
        let ids: Vec<&str> = response
            .message
            .tool_calls
            .iter()
            .map(|c| c.id.as_str())
            .collect();
        assert_eq!(ids, ["call_0_0", "call_0_1", "call_0_2"]);
        assert_eq!(response.finish_reason, FinishReason::ToolCalls);
        assert_eq!(response.message.content, None);

        let mut messages = vec![user("go"), response.message.clone()];
        messages.extend(["A", "B", "C"].map(|r| Message::tool_result("id", r)));
        let response = script
            .reply(&request(messages), &CallContext::default())
            .outcome
            .unwrap();
        let ids: Vec<&str> = response
            .message
            .tool_calls
            .iter()
            .map(|c| c.id.as_str())
            .collect();
        assert_eq!(ids, ["call_1_0", "call_1_1"]);
    }

    #[test]
    fn response_ids_repeat_with_their_inputs_and_differ_between_trials_and_turns() {
        let script = script("[[rule]]\ntext = 'x'\n");
        let id = |seed: u64, identity: Option<&str>, messages: Vec<Message>| {
            let ctx = CallContext {
                seed,
                identity,
                attempt: 1,
            };
            script.reply(&request(messages), &ctx).outcome.unwrap().id
        };
        let base = id(1, Some("s::c#0"), vec![user("q")]);
        assert!(base.starts_with("chatcmpl-") && base.len() == 25, "{base}");
        assert_eq!(base, id(1, Some("s::c#0"), vec![user("q")]));
        let others = [
            id(2, Some("s::c#0"), vec![user("q")]),
            id(1, Some("s::c#1"), vec![user("q")]),
            id(
                1,
                Some("s::c#0"),
                vec![user("q"), called(0, &["t"]), tool("r")],
            ),
            id(1, None, vec![user("q")]),
        ];
        for other in others {
            assert_ne!(base, other);
        }
    }

    #[test]
    fn the_fallback_answers_when_no_rule_matches() {
        let rules = "[[rule]]\nwhen.user = 'weather'\ntext = 'sunny'\n";
        let configured = format!(
            "model = 'm'\n{rules}[fallback]\ntext = \"Sorry, not '${{user}}'.\"\nlatency = '3ms'\n"
        );
        let cases = [
            (
                rules.to_owned(),
                vec![user("What's up?")],
                "scripted model `test` has no rule for turn 0 of this conversation; the last user message was: \"What's up?\"",
            ),
            (
                rules.to_owned(),
                vec![Message::text(Role::System, "be nice")],
                "scripted model `test` has no rule for turn 0 of this conversation, which has no user message",
            ),
            (
                configured.clone(),
                vec![user("What's up?")],
                "Sorry, not 'What's up?'.",
            ),
            (configured, vec![user("weather?")], "sunny"),
        ];
        for (text, messages, expected) in cases {
            let reply = script(&text).reply(&request(messages), &CallContext::default());
            assert_eq!(said(&reply), expected);
            let response = reply.outcome.unwrap();
            assert_eq!(response.finish_reason, FinishReason::Stop);
            let expected_rule = (expected == "sunny").then_some(0);
            assert_eq!(reply.rule, expected_rule);
        }
    }

    #[test]
    fn injected_failures_hit_the_first_attempts_then_the_call_succeeds() {
        let script = script(
            r#"
[[rule]]
when.turn = 0
tool-calls = [{ name = "search" }]
fail = { status = 429, times = 2, retry-after = "20ms" }
[[rule]]
text = "done"
fail = { status = 503, message = "overloaded" }
"#,
        );
        let first = request(vec![user("q")]);
        let second = request(vec![user("q"), called(0, &["search"]), tool("r")]);
        let rate_limited = |attempt: u32| ChatError::Http {
            status: 429,
            retry_after: Some(Duration::from_millis(20)),
            message: format!(
                "rate limit exceeded (injected by scripted model `test`, attempt {attempt} of 2 failing)"
            ),
        };
        let overloaded = ChatError::Http {
            status: 503,
            retry_after: None,
            message: "overloaded".to_owned(),
        };
        let cases = [
            (&first, 1, Err(rate_limited(1))),
            (&first, 2, Err(rate_limited(2))),
            (&first, 3, Ok("search({})")),
            (&first, 4, Ok("search({})")),
            (&second, 1, Err(overloaded)),
            (&second, 2, Ok("done")),
        ];
        for (request, attempt, expected) in cases {
            let ctx = CallContext {
                attempt,
                ..CallContext::default()
            };
            let reply = script.reply(request, &ctx);
            match expected {
                Ok(text) => assert_eq!(said(&reply), text, "attempt {attempt}"),
                Err(error) => assert_eq!(reply.outcome, Err(error), "attempt {attempt}"),
            }
        }
        let error = script
            .reply(&first, &CallContext::default())
            .outcome
            .unwrap_err();
        assert!(error.retryable());
    }

    #[test]
    fn malformed_arguments_are_not_json() {
        let script = script(
            r#"
[[rule]]
when.user = 'empty'
tool-calls = [{ name = "a" }]
malformed-args = true
[[rule]]
tool-calls = [{ name = "a", args = { q = "}" } }, { name = "b", args = { n = [1] } }]
malformed-args = true
"#,
        );
        for text in ["empty", "full"] {
            let reply = script.reply(&request(vec![user(text)]), &CallContext::default());
            let response = reply.outcome.unwrap();
            for call in &response.message.tool_calls {
                let parsed = serde_json::from_str::<serde_json::Value>(&call.arguments);
                assert!(parsed.is_err(), "{text}: {}", call.arguments);
            }
        }
    }

    #[test]
    fn usage_is_fixed_or_computed_from_characters() {
        let script = script(
            r#"
[[rule]]
when.user = 'fixed'
text = "a fixed answer"
usage = { input = 120, output = 18, cache-read = 100 }
[[rule]]
when.user = 'half'
text = "12345"
usage = { output = 7 }
[[rule]]
when.user = 'call'
tool-calls = [{ name = "t", args = { city = "Paris" } }, { name = "u" }]
[[rule]]
when.user = 'empty'
text = ""
[[rule]]
text = "ünïcödé"
"#,
        );
        let long = "x".repeat(37);
        let cases = [
            (vec![user("fixed")], (120, 18, 100)),
            // "half": 4 characters → 1; output fixed.
            (vec![user("half")], (1, 7, 0)),
            // `{"city":"Paris"}` is 16 characters and `{}` 2: 18 → 5.
            (vec![user("call")], (1, 5, 0)),
            (vec![user("empty")], (2, 1, 0)),
            // 37 + 2 + the earlier call's `{}` = 41 → 11; "ünïcödé" is 7 characters → 2.
            (
                vec![
                    Message::text(Role::System, long.as_str()),
                    user("ab"),
                    called(0, &["x"]),
                ],
                (11, 2, 0),
            ),
        ];
        for (messages, (input, output, cache)) in cases {
            let reply = script.reply(&request(messages.clone()), &CallContext::default());
            let usage = reply.outcome.unwrap().usage;
            let expected = TokenUsage {
                input_tokens: input,
                output_tokens: output,
                cache_read_tokens: cache,
            };
            assert_eq!(usage, expected, "{messages:?}");
        }
    }

    #[test]
    fn latency_and_finish_reason_default_and_override() {
        let script = script(
            r#"
latency = "40ms"
[[rule]]
when.user = 'slow'
text = "x"
latency = "1s"
finish-reason = "length"
[[rule]]
when.user = 'fail'
text = "x"
latency = "0s"
fail = { status = 500 }
[[rule]]
text = "x"
"#,
        );
        let cases = [
            ("slow", Duration::from_secs(1), Some(FinishReason::Length)),
            ("fail", Duration::ZERO, None),
            ("other", Duration::from_millis(40), Some(FinishReason::Stop)),
        ];
        for (text, latency, reason) in cases {
            let reply = script.reply(&request(vec![user(text)]), &CallContext::default());
            assert_eq!(reply.latency, latency, "{text}");
            assert_eq!(
                reply.outcome.ok().map(|r| r.finish_reason),
                reason,
                "{text}"
            );
        }
    }

    const RESEARCH: &str = r#"
[[rule]]
when.user = 'research'
[[rule.variant]]
weight = 7
tool-calls = [{ name = "search", args = { q = "${user}" } }]
[[rule.variant]]
weight = 3
text = "I think it's 42."
"#;

    #[test]
    fn variants_split_by_weight_over_identities() {
        let script = script(RESEARCH);
        let ask = request(vec![user("research the answer")]);
        let mut careful = 0;
        for trial in 0..1_000 {
            let identity = format!("research::answer#{trial}");
            let ctx = CallContext {
                seed: 42,
                identity: Some(&identity),
                attempt: 1,
            };
            if said(&script.reply(&ask, &ctx)).starts_with("search(") {
                careful += 1;
            }
        }
        assert!(
            (650..=750).contains(&careful),
            "{careful} of 1000 chose weight 7"
        );
    }

    #[test]
    fn variant_choices_repeat_with_their_inputs() {
        let trial = script(RESEARCH);
        let by_input = script(&format!("seed-by = 'input'\n{RESEARCH}"));
        let ask = request(vec![user("research the answer")]);
        let choices = |script: &Script, seed: u64| -> Vec<String> {
            (0..64)
                .map(|trial| {
                    let identity = format!("s::c#{trial}");
                    let ctx = CallContext {
                        seed,
                        identity: Some(&identity),
                        attempt: 1,
                    };
                    said(&script.reply(&ask, &ctx))
                })
                .collect()
        };
        let first = choices(&trial, 7);
        assert_eq!(first, choices(&trial, 7));
        assert_ne!(first, choices(&trial, 8), "another seed, other choices");
        let distinct = |choices: &[String]| {
            let mut choices = choices.to_vec();
            choices.sort();
            choices.dedup();
            choices.len()
        };
        assert_eq!(distinct(&first), 2, "trials of a case differ");
        // Keyed on the input, every trial answers alike, as the call without an identity does.
        let alike = choices(&by_input, 7);
        assert_eq!(distinct(&alike), 1);
        let anonymous = trial.reply(
            &ask,
            &CallContext {
                seed: 7,
                ..CallContext::default()
            },
        );
        assert_eq!(said(&anonymous), alike[0]);
    }

    #[test]
    fn the_variant_procedure_is_frozen() {
        // Known values: changing the procedure changes every recorded run.
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(splitmix64(0), 0xe220_a839_7b1d_cdaf);
        let picks: Vec<u64> = (0..8)
            .map(|trial| variant_hash(42, &format!("s::c#{trial}"), 0, 0) % 10)
            .collect();
        assert_eq!(picks, [8, 5, 7, 2, 3, 2, 3, 0]);
    }
}
