//! traceval: a test runner for AI agents that treats OpenTelemetry traces as results.
//!
//! Spans from the code under test (in process, through the OpenTelemetry SDK or `tracing`) or
//! from agents in any language (through the embedded OTLP receiver) land in a [`capture::SpanStore`];
//! [`trace::SpanTree`] turns them into a forest and [`trace::GenAiView`] reads LLM calls, tool
//! calls, agents, retries and errors from it, whatever convention the instrumentation follows.

pub mod capture;
pub mod cli;
pub mod trace;
