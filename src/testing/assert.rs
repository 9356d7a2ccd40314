//! [`SpanAssert`]: fluent span assertions, with the rules of a suite's `[[case.expect.span]]`
//! (the same evaluation, [`crate::grade::span`]), panicking at the caller's line.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use super::Trace;
use crate::grade::span::evaluate;
use crate::suite::{Count, CountOp, SpanAssertion};
use crate::trace::render::{RenderOptions, render};
use crate::trace::{GenAiView, NodeId, Selector, SelectorError, StatusCode};

/// Assertions on the spans one selector matches, from [`Trace::assert_span`]. Each method
/// checks its assertion at once and panics when it fails, so a chain needs no final call and
/// stops at the first failure. Counting, ordering and status follow a suite's span assertions
/// (`docs/reference/selectors.md`).
///
/// ```
/// use std::time::Duration;
///
/// let trace = traceval::capture_sync(|| {
///     tracing::info_span!("invoke_agent weather", gen_ai.operation.name = "invoke_agent").in_scope(|| {
///         tracing::info_span!("chat", gen_ai.operation.name = "chat").in_scope(|| {});
///         tracing::info_span!("execute_tool search", gen_ai.tool.name = "search").in_scope(|| {});
///     });
/// });
/// trace
///     .assert_span(r#"agent > tool[name="search"]"#)
///     .count(1)
///     .after("llm")
///     .max_duration(Duration::from_secs(1));
/// let failed = std::panic::catch_unwind(|| {
///     trace.assert_span("tool").count(2);
/// });
/// assert!(failed.is_err());
/// ```
///
/// A failure panics at the line of the failing call with a message saying what failed and the
/// rendered span tree, the spans the assertion is about marked `>>`:
///
/// ```text
/// span assertion failed: `tool[name="search"]`: 2 span(s) match, expected 1
/// spans (>> marks the spans the assertion is about):
/// invoke_agent weather  [agent]  1.2ms  agent=weather
/// ├─ >> execute_tool search  [tool]  0µs  tool=search
/// └─ >> execute_tool search  [tool]  0µs  tool=search
/// ```
#[derive(Debug)]
pub struct SpanAssert<'t> {
    view: GenAiView<'t>,
    selector: Selector,
}

impl<'t> SpanAssert<'t> {
    /// Parses the selector and asserts it matches something.
    #[track_caller]
    pub(super) fn new(trace: &'t Trace, selector: &str) -> SpanAssert<'t> {
        let assert = SpanAssert {
            view: trace.view(),
            selector: parse(selector),
        };
        assert.check(assert.assertion());
        assert
    }

    /// Asserts the selector matches nothing.
    #[track_caller]
    pub(super) fn none(trace: &'t Trace, selector: &str) {
        let assert = SpanAssert {
            view: trace.view(),
            selector: parse(selector),
        };
        assert.check(SpanAssertion {
            count: Some(Count {
                op: CountOp::Eq,
                n: 0,
            }),
            ..assert.assertion()
        });
    }

    /// Asserts exactly `n` spans match (`n` ≥ 1: for none, use [`Trace::assert_no_span`]).
    ///
    /// ```
    /// let trace = traceval::capture_sync(|| {
    ///     for _ in 0..2 {
    ///         tracing::info_span!("chat", gen_ai.operation.name = "chat").in_scope(|| {});
    ///     }
    /// });
    /// trace.assert_span("llm").count(2);
    /// ```
    #[track_caller]
    pub fn count(self, n: u64) -> Self {
        self.count_is(CountOp::Eq, n)
    }

    /// Asserts at least `n` spans match.
    ///
    /// ```
    /// let trace = traceval::capture_sync(|| {
    ///     for _ in 0..3 {
    ///         tracing::info_span!("chat", gen_ai.operation.name = "chat").in_scope(|| {});
    ///     }
    /// });
    /// trace.assert_span("llm").count_at_least(2);
    /// ```
    #[track_caller]
    pub fn count_at_least(self, n: u64) -> Self {
        self.count_is(CountOp::Ge, n)
    }

    /// Asserts at most `n` spans match.
    ///
    /// ```
    /// let trace = traceval::capture_sync(|| {
    ///     tracing::info_span!("chat", gen_ai.operation.name = "chat").in_scope(|| {});
    /// });
    /// trace.assert_span("llm").count_at_most(4);
    /// ```
    #[track_caller]
    pub fn count_at_most(self, n: u64) -> Self {
        self.count_is(CountOp::Le, n)
    }

    #[track_caller]
    fn count_is(self, op: CountOp, n: u64) -> Self {
        self.check(SpanAssertion {
            count: Some(Count { op, n }),
            ..self.assertion()
        });
        self
    }

    /// Asserts every matched span starts before every span `other` matches, and that `other`
    /// matches something.
    ///
    /// ```
    /// let trace = traceval::capture_sync(|| {
    ///     tracing::info_span!("execute_tool search", gen_ai.tool.name = "search").in_scope(|| {});
    ///     tracing::info_span!("chat", gen_ai.operation.name = "chat").in_scope(|| {});
    /// });
    /// trace.assert_span("tool").before("llm");
    /// ```
    #[track_caller]
    pub fn before(self, other: &str) -> Self {
        self.check(SpanAssertion {
            before: Some(parse(other)),
            ..self.assertion()
        });
        self
    }

    /// Asserts every matched span starts after every span `other` matches, and that `other`
    /// matches something.
    ///
    /// ```
    /// let trace = traceval::capture_sync(|| {
    ///     tracing::info_span!("chat", gen_ai.operation.name = "chat").in_scope(|| {});
    ///     tracing::info_span!("execute_tool search", gen_ai.tool.name = "search").in_scope(|| {});
    /// });
    /// trace.assert_span("tool").after("llm");
    /// ```
    #[track_caller]
    pub fn after(self, other: &str) -> Self {
        self.check(SpanAssertion {
            after: Some(parse(other)),
            ..self.assertion()
        });
        self
    }

    /// Asserts no matched span lasted longer than `limit`.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let trace = traceval::capture_sync(|| {
    ///     tracing::info_span!("execute_tool search", gen_ai.tool.name = "search").in_scope(|| {});
    /// });
    /// trace.assert_span("tool").max_duration(Duration::from_secs(5));
    /// ```
    #[track_caller]
    pub fn max_duration(self, limit: Duration) -> Self {
        self.check(SpanAssertion {
            max_duration: Some(limit),
            ..self.assertion()
        });
        self
    }

    /// Asserts every matched span has this status. [`StatusCode::Error`] also holds for a span
    /// whose status is unset but that records an error (`error.type`, an `exception` event), as
    /// a suite's `status = "error"` does.
    ///
    /// ```
    /// use traceval::trace::StatusCode;
    ///
    /// let trace = traceval::capture_sync(|| {
    ///     tracing::info_span!("execute_tool search", gen_ai.tool.name = "search", error.type = "timeout")
    ///         .in_scope(|| {});
    /// });
    /// trace.assert_span("tool").status(StatusCode::Error);
    /// ```
    #[track_caller]
    pub fn status(self, status: StatusCode) -> Self {
        let status = match status {
            StatusCode::Ok => "ok",
            StatusCode::Error => "error",
            StatusCode::Unset => "unset",
        };
        self.check(SpanAssertion {
            status: Some(status.to_owned()),
            ..self.assertion()
        });
        self
    }

    /// Asserts every matched span has attribute `key` equal to `value`, compared as JSON
    /// (numbers by value: `3` equals `3.0`).
    ///
    /// ```
    /// let trace = traceval::capture_sync(|| {
    ///     tracing::info_span!("chat", gen_ai.operation.name = "chat", gen_ai.request.model = "gpt-4o", gen_ai.usage.input_tokens = 12)
    ///         .in_scope(|| {});
    /// });
    /// trace
    ///     .assert_span("llm")
    ///     .attr("gen_ai.request.model", "gpt-4o")
    ///     .attr("gen_ai.usage.input_tokens", 12);
    /// ```
    #[track_caller]
    pub fn attr(self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        self.check(SpanAssertion {
            attrs: BTreeMap::from([(key.to_owned(), value.into())]),
            ..self.assertion()
        });
        self
    }

    /// An assertion with this selector and no check (which asserts that something matches).
    fn assertion(&self) -> SpanAssertion {
        SpanAssertion {
            select: self.selector.clone(),
            count: None,
            max_duration: None,
            status: None,
            attrs: BTreeMap::new(),
            before: None,
            after: None,
        }
    }

    #[track_caller]
    fn check(&self, assertion: SpanAssertion) {
        let (passed, message, marked) = evaluate(&assertion, &self.view);
        if !passed {
            panic!("{}", failure(&message, &self.view, marked));
        }
    }
}

/// The panic message: what failed, then the tree with the spans it is about marked.
fn failure(message: &str, view: &GenAiView<'_>, marked: HashSet<NodeId>) -> String {
    if view.tree().is_empty() {
        return format!(
            "span assertion failed: {message}\nno spans were captured\n  hint: spans count \
             when they end inside the capture; an agent in another process must export them \
             (shut its tracer provider down) before it exits"
        );
    }
    let header = if marked.is_empty() {
        "spans:"
    } else {
        "spans (>> marks the spans the assertion is about):"
    };
    let options = RenderOptions {
        marked,
        max_value_len: 0,
    };
    format!(
        "span assertion failed: {message}\n{header}\n{}",
        render(view, &options)
    )
}

#[track_caller]
pub(super) fn parse(selector: &str) -> Selector {
    // A `match`, not `unwrap_or_else`: a closure would hide the caller's location.
    match Selector::parse(selector) {
        Ok(parsed) => parsed,
        Err(e) => invalid_selector(selector, &e),
    }
}

/// Panics with the selector error and a caret under its column.
#[track_caller]
pub(super) fn invalid_selector(selector: &str, error: &SelectorError) -> ! {
    panic!("invalid selector: {error}\n{}", error.render(selector))
}
