//! [`Trace`]: the spans of one capture, owned, read as GenAI and asserted on.

use std::fmt;
use std::sync::Arc;

use super::assert::{SpanAssert, parse};
use crate::trace::genai::{LlmCall, ToolCall, Usage};
use crate::trace::render::{RenderOptions, render};
use crate::trace::shape::{Shape, ShapeOptions};
use crate::trace::{Conventions, GenAiView, Span, SpanTree};

/// The spans of one capture ([`capture`](crate::capture()), [`capture_sync`](crate::capture_sync),
/// [`OtlpCapture::trace`](super::OtlpCapture::trace)), as a span tree read by the GenAI
/// conventions.
///
/// ```
/// use opentelemetry::trace::{Span as _, Tracer as _};
/// use opentelemetry::KeyValue;
///
/// let trace = traceval::capture_sync(|| {
///     let tracer = opentelemetry::global::tracer("my-agent");
///     tracer.in_span("invoke_agent weather", |_| {
///         let mut tool = tracer.start("execute_tool get_weather");
///         tool.set_attribute(KeyValue::new("gen_ai.tool.name", "get_weather"));
///         tool.set_attribute(KeyValue::new("gen_ai.tool.call.arguments", r#"{"city":"Paris"}"#));
///         tool.end();
///     });
/// });
/// assert_eq!(trace.len(), 2);
/// assert_eq!(trace.tool_names(), ["get_weather"]);
/// assert_eq!(trace.tool_calls()[0].arguments, Some(serde_json::json!({"city": "Paris"})));
/// println!("{trace}"); // the rendered tree
/// ```
#[derive(Debug)]
pub struct Trace {
    tree: SpanTree,
    conventions: Conventions,
    llm_calls: Vec<LlmCall>,
    tool_calls: Vec<ToolCall>,
    usage: Usage,
}

impl Trace {
    /// A trace of these spans, from any source (e.g. a [`SpanStore`](crate::capture::SpanStore)
    /// or a trace file), read by the built-in conventions.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use traceval::trace::{Span, SpanId, TraceId};
    ///
    /// let span = Span::new(TraceId([1; 16]), SpanId([1; 8]), "execute_tool search");
    /// let trace = traceval::Trace::from_spans([Arc::new(span)]);
    /// assert_eq!(trace.tool_names(), ["search"]);
    /// ```
    pub fn from_spans(spans: impl IntoIterator<Item = Arc<Span>>) -> Trace {
        Trace::read(SpanTree::build(spans), Conventions::default())
    }

    /// The same spans read with custom conventions too, tried before the built-in ones (as a
    /// suite's `[conventions]` are), e.g. for in-house span names.
    ///
    /// ```
    /// use traceval::trace::{Conventions, Kind, KindRule, NameMatch};
    ///
    /// let trace = traceval::capture_sync(|| {
    ///     tracing::info_span!("fetch_forecast").in_scope(|| {});
    /// });
    /// trace.assert_no_span("tool");
    /// let rule = KindRule { kind: Kind::Tool, name: Some(NameMatch::Exact("fetch_forecast".into())), attrs: vec![] };
    /// let trace = trace.with_conventions(Conventions::new(vec![rule], []));
    /// trace.assert_span("tool").count(1);
    /// ```
    pub fn with_conventions(self, conventions: Conventions) -> Trace {
        Trace::read(self.tree, conventions)
    }

    fn read(tree: SpanTree, conventions: Conventions) -> Trace {
        let view = GenAiView::with_conventions(&tree, &conventions);
        let (llm_calls, tool_calls, usage) = (
            view.llm_calls().to_vec(),
            view.tool_calls().to_vec(),
            view.usage(),
        );
        drop(view);
        Trace {
            tree,
            conventions,
            llm_calls,
            tool_calls,
            usage,
        }
    }

    /// How many spans.
    ///
    /// ```
    /// let trace = traceval::capture_sync(|| {});
    /// assert_eq!(trace.len(), 0);
    /// assert!(trace.is_empty());
    /// ```
    pub fn len(&self) -> usize {
        self.tree.len()
    }

    /// True when no span was captured.
    ///
    /// ```
    /// let trace = traceval::capture_sync(|| tracing::info_span!("step").in_scope(|| {}));
    /// assert!(!trace.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.tree.is_empty()
    }

    /// Every span, parents before children, siblings by start time.
    ///
    /// ```
    /// let trace = traceval::capture_sync(|| {
    ///     tracing::info_span!("outer").in_scope(|| tracing::info_span!("inner").in_scope(|| {}));
    /// });
    /// let names: Vec<&str> = trace.spans().map(|s| s.name.as_str()).collect();
    /// assert_eq!(names, ["outer", "inner"]);
    /// ```
    pub fn spans(&self) -> impl Iterator<Item = &Span> + '_ {
        self.tree.walk().map(|node| node.span())
    }

    /// The span forest.
    ///
    /// ```
    /// let trace = traceval::capture_sync(|| {
    ///     tracing::info_span!("outer").in_scope(|| tracing::info_span!("inner").in_scope(|| {}));
    /// });
    /// let root = trace.tree().roots().next().unwrap();
    /// assert_eq!(root.children().next().unwrap().span().name, "inner");
    /// ```
    pub fn tree(&self) -> &SpanTree {
        &self.tree
    }

    /// The GenAI reading of the tree: kinds, LLM and tool calls, agents, retries, errors.
    ///
    /// ```
    /// use traceval::trace::Kind;
    ///
    /// let trace = traceval::capture_sync(|| {
    ///     tracing::info_span!("chat m", gen_ai.operation.name = "chat").in_scope(|| {});
    /// });
    /// let view = trace.view();
    /// let node = trace.tree().roots().next().unwrap();
    /// assert_eq!(view.kind(node.id()), Kind::Llm);
    /// ```
    pub fn view(&self) -> GenAiView<'_> {
        GenAiView::with_conventions(&self.tree, &self.conventions)
    }

    /// The tool calls, in the order they started.
    ///
    /// ```
    /// let trace = traceval::capture_sync(|| {
    ///     tracing::info_span!("execute_tool search", gen_ai.tool.name = "search").in_scope(|| {});
    /// });
    /// assert_eq!(trace.tool_calls()[0].name, "search");
    /// ```
    pub fn tool_calls(&self) -> &[ToolCall] {
        &self.tool_calls
    }

    /// The names of the tools called, in the order they started.
    ///
    /// ```
    /// let trace = traceval::capture_sync(|| {
    ///     for tool in ["search", "fetch"] {
    ///         tracing::info_span!("execute_tool", gen_ai.operation.name = "execute_tool", gen_ai.tool.name = tool)
    ///             .in_scope(|| {});
    ///     }
    /// });
    /// assert_eq!(trace.tool_names(), ["search", "fetch"]);
    /// ```
    pub fn tool_names(&self) -> Vec<&str> {
        self.tool_calls.iter().map(|c| c.name.as_str()).collect()
    }

    /// The LLM calls, in the order they started (wrapper spans included; see
    /// [`LlmCall::counted`]).
    ///
    /// ```
    /// let trace = traceval::capture_sync(|| {
    ///     tracing::info_span!("chat", gen_ai.operation.name = "chat", gen_ai.request.model = "gpt-4o")
    ///         .in_scope(|| {});
    /// });
    /// assert_eq!(trace.llm_calls()[0].request_model.as_deref(), Some("gpt-4o"));
    /// ```
    pub fn llm_calls(&self) -> &[LlmCall] {
        &self.llm_calls
    }

    /// Token and cost totals over the LLM calls, each counted once
    /// (`docs/reference/metrics.md#counting`).
    ///
    /// ```
    /// let trace = traceval::capture_sync(|| {
    ///     for tokens in [100, 20] {
    ///         tracing::info_span!("chat", gen_ai.operation.name = "chat", gen_ai.usage.input_tokens = tokens)
    ///             .in_scope(|| {});
    ///     }
    /// });
    /// assert_eq!(trace.llm_usage().llm_calls, 2);
    /// assert_eq!(trace.llm_usage().input_tokens, 120);
    /// ```
    pub fn llm_usage(&self) -> Usage {
        self.usage
    }

    /// The spans `selector` matches (`docs/reference/selectors.md`), in tree order.
    ///
    /// # Panics
    ///
    /// When the selector does not parse, with the error and its column.
    ///
    /// ```
    /// let trace = traceval::capture_sync(|| {
    ///     tracing::info_span!("execute_tool search", gen_ai.tool.name = "search", hits = 3).in_scope(|| {});
    /// });
    /// let tools = trace.select("tool");
    /// assert_eq!(tools[0].attr("hits").and_then(|v| v.as_i64()), Some(3));
    /// ```
    #[track_caller]
    pub fn select(&self, selector: &str) -> Vec<&Span> {
        parse(selector)
            .select(&self.view())
            .into_iter()
            .map(|id| self.tree.node(id).span())
            .collect()
    }

    /// The tree as text, one line per span with its GenAI kind, duration and key attributes
    /// (as `traceval inspect` prints it).
    ///
    /// ```
    /// let trace = traceval::capture_sync(|| {
    ///     tracing::info_span!("execute_tool search", gen_ai.tool.name = "search").in_scope(|| {});
    /// });
    /// assert!(trace.render().starts_with("execute_tool search  [tool]"));
    /// ```
    pub fn render(&self) -> String {
        render(&self.view(), &RenderOptions::default())
    }

    /// The trace's shape: the stable text a snapshot pins (span names with ids and numbers
    /// normalised, GenAI kinds, allow-listed attributes, concurrent siblings in a fixed order,
    /// retries folded; see [`Shape`](crate::trace::shape::Shape)). What
    /// [`assert_trace_snapshot!`](crate::assert_trace_snapshot) compares.
    ///
    /// ```
    /// let trace = traceval::capture_sync(|| {
    ///     tracing::info_span!("invoke_agent weather", gen_ai.operation.name = "invoke_agent")
    ///         .in_scope(|| {
    ///             tracing::info_span!(
    ///                 "execute_tool get_weather",
    ///                 gen_ai.operation.name = "execute_tool",
    ///                 gen_ai.tool.name = "get_weather",
    ///             )
    ///             .in_scope(|| {});
    ///         });
    /// });
    /// assert_eq!(
    ///     trace.shape(),
    ///     "invoke_agent weather [agent] operation=invoke_agent\n  \
    ///      execute_tool get_weather [tool] operation=execute_tool tool=get_weather\n",
    /// );
    /// ```
    pub fn shape(&self) -> String {
        self.shape_with(&ShapeOptions::default())
    }

    /// [`Trace::shape`] with options: other attributes, repeats collapsed, spans ignored.
    ///
    /// ```
    /// use traceval::trace::shape::ShapeOptions;
    ///
    /// let trace = traceval::capture_sync(|| {
    ///     for _ in 0..3 {
    ///         tracing::info_span!("execute_tool ping", gen_ai.tool.name = "ping").in_scope(|| {});
    ///     }
    /// });
    /// let options = ShapeOptions {
    ///     collapse_repeats: true,
    ///     ..ShapeOptions::default()
    /// };
    /// assert!(trace.shape_with(&options).trim_end().ends_with("×3"));
    /// ```
    pub fn shape_with(&self, options: &ShapeOptions) -> String {
        Shape::of(&self.view(), options).into_string()
    }

    /// Asserts that `selector` matches at least one span, and returns a [`SpanAssert`] to
    /// assert more about those spans. Every assertion is checked when called.
    ///
    /// # Panics
    ///
    /// When nothing matches, with the rendered tree; when the selector does not parse.
    ///
    /// ```
    /// let trace = traceval::capture_sync(|| {
    ///     tracing::info_span!("chat", gen_ai.operation.name = "chat").in_scope(|| {});
    ///     tracing::info_span!("execute_tool search", gen_ai.tool.name = "search").in_scope(|| {});
    /// });
    /// trace.assert_span(r#"tool[name="search"]"#).count(1).after("llm");
    /// ```
    #[track_caller]
    pub fn assert_span(&self, selector: &str) -> SpanAssert<'_> {
        SpanAssert::new(self, selector)
    }

    /// Asserts that `selector` matches no span.
    ///
    /// # Panics
    ///
    /// When a span matches, with the rendered tree and the matching spans marked `>>`; when
    /// the selector does not parse.
    ///
    /// ```
    /// let trace = traceval::capture_sync(|| {
    ///     tracing::info_span!("execute_tool search", gen_ai.tool.name = "search").in_scope(|| {});
    /// });
    /// trace.assert_no_span(r#"tool[name="delete_account"]"#);
    /// ```
    #[track_caller]
    pub fn assert_no_span(&self, selector: &str) {
        SpanAssert::none(self, selector);
    }
}

impl fmt::Display for Trace {
    /// [`Trace::render`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render())
    }
}
