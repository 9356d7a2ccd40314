//! Spans and what they mean: the owned span model, the span forest, the GenAI view, selectors,
//! and shapes (stable text for snapshots).
//!
//! This module depends on nothing else in the crate, so it can become a crate of its own.

pub mod genai;
pub mod query;
pub mod render;
pub mod shape;
pub mod span;
pub mod tree;

pub use genai::{Concept, Conventions, GenAiView, Kind, KindRule, NameMatch};
pub use query::{Selector, SelectorError};
pub use shape::{Shape, ShapeAttr, ShapeOptions};
pub use span::{
    Attributes, Event, KeyValue, Link, Resource, Scope, Span, SpanId, SpanKind, Status, StatusCode,
    TraceId, Value,
};
pub use tree::{NodeId, NodeRef, RootReason, SpanTree};
