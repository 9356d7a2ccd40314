//! The pure step of a trial, without tokio: spans in, a result out.

use super::*;
use crate::trace::{SpanId, TraceId};

fn span(trace: u8, id: u8, parent: Option<u8>) -> Arc<Span> {
    let mut s = Span::new(TraceId([trace; 16]), SpanId([id; 8]), "s");
    s.parent_span_id = parent.map(|p| SpanId([p; 8]));
    Arc::new(s)
}

#[test]
fn lost_parents_and_refused_requests_become_warnings() {
    let root = span(1, 1, None);
    // A child of the root, a child of a span that arrived, two whose parents did not (one
    // naming a span of another trace).
    let spans = [
        span(1, 2, Some(1)),
        span(1, 3, Some(2)),
        span(1, 4, Some(9)),
        span(2, 5, Some(2)),
    ];
    assert_eq!(
        transport_warnings(None, &spans, &root),
        ["2 spans' parents never arrived: the agent may have exited before flushing"]
    );
    assert_eq!(
        transport_warnings(
            Some((3, "413 Payload Too Large: big".into())),
            &spans[..2],
            &root
        ),
        [
            "the receiver refused 3 OTLP export requests of the agent; the first: 413 Payload Too Large: big"
        ]
    );
}

#[test]
fn results_keep_the_head_of_the_answer_and_the_tail_of_stderr_on_characters() {
    assert_eq!(keep_head("héllo".into(), 2), "h");
    assert_eq!(keep_head("héllo".into(), 3), "hé");
    assert_eq!(keep_head("hi".into(), 2), "hi");
    assert_eq!(keep_tail("hellé".into(), 2), "é");
    assert_eq!(keep_tail("hellé".into(), 1), "");
    assert_eq!(keep_tail("hellé".into(), 3), "lé");
}

#[test]
fn the_stderr_ending_is_its_last_non_blank_line() {
    assert_eq!(
        stderr_ending("Traceback\n  File\nRuntimeError: boom\n\n"),
        "; its stderr ends: RuntimeError: boom"
    );
    assert_eq!(stderr_ending(" \n"), "; it wrote nothing to stderr");
}
