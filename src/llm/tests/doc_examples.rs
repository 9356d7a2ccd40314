//! The examples in the module docs of `llm::retry` and `llm::scripted`, as unit tests: once
//! `llm` is crate-private, doctests cannot reach it, and these keep their assertions.

use std::path::Path;
use std::time::Duration;

use crate::llm::chat::{ChatError, ChatRequest, Message, Role};
use crate::llm::retry::RetryPolicy;
use crate::llm::scripted::{CallContext, Script};

#[test]
fn the_default_policy_backs_off_then_gives_up_after_four_attempts() {
    let policy = RetryPolicy::default();
    let busy = ChatError::Http {
        status: 503,
        retry_after: None,
        message: "busy".into(),
    };
    // Attempt 2 failed: back off up to 500ms·2 = 1s, scaled by the caller's jitter.
    assert_eq!(
        policy.delay(2, &busy, 0.5),
        Some(Duration::from_millis(500))
    );
    // Attempt 4 of 4 failed: give up.
    assert_eq!(policy.delay(4, &busy, 0.5), None);
}

#[test]
fn a_rule_turns_a_user_message_into_a_tool_call_named_after_the_script() {
    let script = Script::parse(
        r#"
        [[rule]]
        when.user = 'weather in (?P<city>\w+)'
        tool-calls = [{ name = "get_weather", args = { city = "${city}" } }]
        "#,
        Path::new("scripts/sunny.toml"),
    )
    .unwrap();
    let request = ChatRequest {
        messages: vec![Message::text(Role::User, "What's the weather in Paris?")],
        ..ChatRequest::default()
    };
    let reply = script.reply(&request, &CallContext::default());
    let response = reply.outcome.unwrap();
    assert_eq!(response.model, "sunny");
    assert_eq!(
        response.message.tool_calls[0].arguments,
        r#"{"city":"Paris"}"#
    );
}
