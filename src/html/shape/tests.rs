use std::sync::Arc;

use super::*;
use crate::trace::{KeyValue, Span, SpanId, SpanTree, TraceId, Value};

/// One trial: an agent under the trial root, calling `tools` in order.
fn trial(tools: &[&str]) -> (SpanTree, NodeId) {
    let t = TraceId([1; 16]);
    let mut root = Span::new(t, SpanId([1; 8]), "eval.trial");
    root.end_time_unix_nano = 1_000;
    let mut agent = Span::new(t, SpanId([2; 8]), "invoke_agent bot");
    agent.parent_span_id = Some(SpanId([1; 8]));
    agent.start_time_unix_nano = 1;
    agent.end_time_unix_nano = 900;
    agent.attributes = [KeyValue::new("gen_ai.operation.name", "invoke_agent")]
        .into_iter()
        .collect();
    let mut spans = vec![agent];
    for (i, tool) in tools.iter().enumerate() {
        let mut s = Span::new(t, SpanId([10 + i as u8; 8]), format!("execute_tool {tool}"));
        s.parent_span_id = Some(SpanId([2; 8]));
        s.start_time_unix_nano = 10 + 10 * i as u64;
        s.end_time_unix_nano = 15 + 10 * i as u64;
        s.attributes = [KeyValue::new(
            "gen_ai.operation.name",
            Value::from("execute_tool"),
        )]
        .into_iter()
        .collect();
        spans.push(s);
    }
    SpanTree::build_trial(&Arc::new(root), spans.into_iter().map(Arc::new))
}

fn fold(trials: &[(&str, &[&str])]) -> ShapeFold {
    let mut fold = ShapeFold::default();
    for (model, tools) in trials {
        let (tree, root) = trial(tools);
        fold.add(model, &GenAiView::new(&tree), root);
    }
    fold
}

fn render(fold: &ShapeFold, models: &[&str]) -> String {
    let models: Vec<String> = models.iter().map(|m| m.to_string()).collect();
    let mut out = String::new();
    fold.write(&mut out, &models);
    out
}

const TRIALS: &[(&str, &[&str])] = &[
    ("careful", &["search"]),
    ("sloppy", &["search", "delete_account", "delete_account"]),
    ("careful", &["search"]),
    ("sloppy", &["search"]),
];

#[test]
fn nodes_count_trials_per_model_not_calls() {
    let html = render(&fold(TRIALS), &["careful", "sloppy"]);
    assert!(
        html.contains(
            "<li class=\"only\"><span class=\"node k-tool\"><span class=\"sym\" title=\"tool\">⚙\
             </span> tool delete_account</span> — <span class=\"counts\">careful 0/2 · sloppy 1/2\
             </span></li>"
        ),
        "{html}"
    );
    assert!(html.contains(
        "<li><span class=\"node k-tool\"><span class=\"sym\" title=\"tool\">⚙</span> tool \
         search</span> — <span class=\"counts\">careful 2/2 · sloppy 2/2</span></li>"
    ));
    assert!(html.contains(
        "<li><span class=\"node k-agent\"><span class=\"sym\" title=\"agent\">●</span> agent \
         invoke_agent bot</span> — <span class=\"counts\">careful 2/2 · sloppy 2/2</span>\
         <ul class=\"shape\">"
    ));
    // One node per path, nested under the agent, the trial root not drawn.
    assert_eq!(html.matches("<span class=\"node ").count(), 3);
    assert!(!html.contains("eval.trial"));
}

#[test]
fn children_are_sorted_by_kind_then_name() {
    let html = render(&fold(TRIALS), &["careful", "sloppy"]);
    assert!(html.find("tool delete_account").unwrap() < html.find("tool search").unwrap());
}

#[test]
fn tool_sequences_have_frequencies() {
    let html = render(&fold(TRIALS), &["careful", "sloppy"]);
    assert!(html.contains(
        "<li><span class=\"model\">careful</span> tool sequences<ul><li class=\"seq\">search \
         ×2</li></ul></li>"
    ));
    assert!(html.contains(
        "<li><span class=\"model\">sloppy</span> tool sequences<ul><li class=\"seq\">search \
         ×1</li><li class=\"seq\">search → delete_account → delete_account ×1</li></ul></li>"
    ));
}

#[test]
fn the_order_trials_arrive_in_does_not_matter() {
    let forward = render(&fold(TRIALS), &["careful", "sloppy"]);
    let reversed: Vec<_> = TRIALS.iter().rev().copied().collect();
    assert_eq!(render(&fold(&reversed), &["careful", "sloppy"]), forward);
}

#[test]
fn a_model_without_trials_shows_zero_of_zero_and_does_not_highlight() {
    let html = render(&fold(&[("careful", &["search"])]), &["careful", "absent"]);
    assert!(html.contains("careful 1/1 · absent 0/0"));
    assert!(!html.contains("class=\"only\""));
    assert!(html.contains("<span class=\"model\">absent</span> tool sequences: no trials</li>"));
}

#[test]
fn hostile_names_are_escaped() {
    let hostile = "<img src=x onerror=alert(1)>\u{202E}";
    let fold = fold(&[("</li><script>x</script>", &[hostile])]);
    let html = render(&fold, &["</li><script>x</script>".to_owned().as_str()]);
    assert!(!html.contains("<img") && !html.contains("<script") && !html.contains('\u{202E}'));
    assert!(html.contains("tool &lt;img src=x onerror=alert(1)&gt;\\u{202E}</span>"));
    assert!(html.contains("&lt;/li&gt;&lt;script&gt;x&lt;/script&gt; 1/1"));
}

#[test]
fn long_names_are_cut_when_folded() {
    let long = "t".repeat(1_000);
    let html = render(&fold(&[("m", &[long.as_str()])]), &["m"]);
    assert!(html.contains(&format!("tool {}…</span>", "t".repeat(MAX_NAME))));
    assert!(!html.contains(&"t".repeat(MAX_NAME + 1)));
}

#[test]
fn an_empty_trial_says_so() {
    let mut fold = ShapeFold::default();
    let t = TraceId([1; 16]);
    let root = Arc::new(Span::new(t, SpanId([1; 8]), "eval.trial"));
    let (tree, id) = SpanTree::build_trial(&root, []);
    fold.add("m", &GenAiView::new(&tree), id);
    let html = render(&fold, &["m"]);
    assert!(html.contains("<p class=\"shape-empty\">no spans below the trial root</p>"));
    assert!(html.contains("<li class=\"seq\">(no tool calls) ×1</li>"));
}
