//! Grading and aggregation benchmark: `cargo bench --bench grading` (env
//! `TRACEVAL_BENCH_TRIALS`, default 50,000; `TRACEVAL_BENCH_SPANS`, spans per trial, default 20;
//! `TRACEVAL_BENCH_CONVENTIONS=1` gives the suite a `[conventions]` table whose rules and keys
//! match none of the spans, so that every span pays for every custom rule and key before the
//! built-in conventions decide: the cost of having custom conventions at all;
//! `TRACEVAL_BENCH_SHAPE_HASH=0` leaves out each trial's `shape_hash`, to quote its cost).
//!
//! The run: 2,500 cases × 2 models × 10 trials of a realistic agent trace (an `invoke_agent`
//! span, 6 `chat` spans with usage, 6 `execute_tool` spans with arguments and results, one call
//! retried with two `llm.retry_attempt` spans, HTTP client spans under the chats: 20 spans with
//! the trial root, so 1,000,000 spans), one trial in ten deviating (a wrong tool argument, an
//! extra forbidden tool, an error span). Each case expects what a real suite asks: the answer,
//! six tool calls with arguments, an in-order trajectory, LLM-call and latency limits, and four
//! span assertions (no failed tool, a must-not-happen tool, an ordering, a duration bound).
//!
//! Timed, in one process, on spans already in memory (as a finished run or a replay has them):
//! 1. grading: per trial, the span tree, the GenAI view, tool score, every check, the trial's
//!    metrics and, for a failed trial, its rendered tree; trials graded in parallel (rayon);
//! 2. aggregation: the report (trials sorted, per-case pass@k/pass^k, per-model aggregates);
//! 3. the baseline of the same run: deserializing that report's JSON into a `Report`, the
//!    least any consumer of a run this size pays to read the results.
//!
//! Target: grading + aggregation under 2 s on the 2-core machine. Peak RSS is the growth over
//! the input (the spans), read as `VmHWM` after resetting it through `/proc/self/clear_refs`.

use std::sync::Arc;
use std::time::Instant;

use rayon::prelude::*;
use traceval::__bench::{
    AgentExit, Case, Finished, Pricing, ReportBuilder, RunEvent, RunMeta, TrialResult, load_suite,
    score,
};
use traceval::report::Report;
use traceval::trace::render::{RenderOptions, render};
use traceval::trace::shape::{Shape, ShapeOptions};
use traceval::trace::{
    Attributes, Conventions, GenAiView, KeyValue, NodeId, Resource, Scope, Span, SpanId, SpanTree,
    Status, StatusCode, TraceId,
};

const CASES: usize = 2_500;
const MODELS: [&str; 2] = ["alpha", "beta"];
const TARGET_SECS: f64 = 2.0;

const SUITE: &str = r#"
name = "bench"
trials = 10
models = ["alpha", "beta"]
[agent]
kind = "command"
command = ["true"]
[pricing."alpha-1"]
input = 2.5
output = 10.0
[pricing."beta-1"]
input = 0.15
output = 0.6
"#;

/// Conventions of an in-house library the bench's spans do not use (with
/// `TRACEVAL_BENCH_CONVENTIONS=1`).
const CONVENTIONS: &str = r#"
[[conventions.kind]]
kind = "tool"
name-regex = '^acme\.(tool|fn)\.'
[[conventions.kind]]
kind = "llm"
name-prefix = "acme.llm."
[[conventions.kind]]
kind = "agent"
attr = { "acme.kind" = "agent" }
[conventions.fields]
tool-name = ["acme.tool"]
tool-arguments = ["acme.args"]
tool-result = ["acme.result"]
model = ["acme.model"]
provider = ["acme.vendor"]
input-tokens = ["acme.tokens.in"]
output-tokens = ["acme.tokens.out"]
cost = ["acme.cost_usd"]
agent-name = ["acme.agent"]
"#;

const CASE: &str = r#"
[[case]]
id = "case-{i}"
input = "question {i}"
[case.expect]
output-contains = ["answer {i}"]
tools = [
  { name = "search", args = { q = "topic {i}" } },
  { name = "read", args = { id = "doc-1" } },
  { name = "read", args = { id = "doc-2" } },
  { name = "calc", args = { expr = "6*7" } },
  { name = "lookup", args = { key = "k{i}" } },
  { name = "write", args = { path = "notes" } },
]
trajectory = "in-order"
max-llm-calls = 8
max-latency = "30s"
[[case.expect.span]]
select = "tool"
status = "unset"
[[case.expect.span]]
select = 'tool[name="delete"]'
count = 0
[[case.expect.span]]
select = 'tool[name="search"]'
before = 'tool[name="write"]'
[[case.expect.span]]
select = "llm"
max-duration = "20s"
"#;

const TOOLS: [(&str, &str); 6] = [
    ("search", r#"{"q":"topic {i}"}"#),
    ("read", r#"{"id":"doc-1"}"#),
    ("read", r#"{"id":"doc-2"}"#),
    ("calc", r#"{"expr":"6*7"}"#),
    ("lookup", r#"{"key":"k{i}"}"#),
    ("write", r#"{"path":"notes"}"#),
];

/// The spans of one trial (the trial root first) and its answer.
struct Recorded {
    case: usize,
    model: usize,
    trial: u32,
    spans: Vec<Arc<Span>>,
    output: String,
}

struct Ids {
    trace: TraceId,
    next: u64,
}

impl Ids {
    fn span(&mut self) -> SpanId {
        self.next += 1;
        SpanId(self.next.to_be_bytes())
    }
}

fn make_span(
    ids: &mut Ids,
    parent: Option<SpanId>,
    name: String,
    start: u64,
    len: u64,
    attrs: Vec<KeyValue>,
    shared: &(Arc<Resource>, Arc<Scope>),
) -> Span {
    let mut s = Span::new(ids.trace, ids.span(), name);
    s.parent_span_id = parent;
    s.start_time_unix_nano = start;
    s.end_time_unix_nano = start + len;
    s.attributes = Attributes(attrs);
    s.resource = Arc::clone(&shared.0);
    s.scope = Arc::clone(&shared.1);
    s
}

/// One trial's 20 spans; `deviant` trials make one of three mistakes.
fn record(
    case: usize,
    model: usize,
    trial: u32,
    seq: u64,
    shared: &(Arc<Resource>, Arc<Scope>),
) -> Recorded {
    let mut trace = [0u8; 16];
    trace[..8].copy_from_slice(&seq.to_be_bytes());
    trace[15] = 1;
    let mut ids = Ids {
        trace: TraceId(trace),
        next: 0,
    };
    let t0 = 1_700_000_000_000_000_000 + seq * 10_000_000_000;
    let ms = 1_000_000u64;
    let model_name = format!("{}-1", MODELS[model]);
    let mistake = if seq % 10 == 3 { (seq / 10) % 3 } else { 9 };
    let mut spans = Vec::with_capacity(20);

    let root = make_span(
        &mut ids,
        None,
        "eval.trial".into(),
        t0,
        900 * ms,
        vec![
            KeyValue::new("eval.case", format!("case-{case}")),
            KeyValue::new("eval.model", MODELS[model]),
        ],
        shared,
    );
    let root_id = root.span_id;
    spans.push(root);
    let agent = make_span(
        &mut ids,
        Some(root_id),
        "invoke_agent bench".into(),
        t0 + ms,
        890 * ms,
        vec![
            KeyValue::new("gen_ai.operation.name", "invoke_agent"),
            KeyValue::new("gen_ai.agent.name", "bench"),
        ],
        shared,
    );
    let agent_id = agent.span_id;
    spans.push(agent);

    let mut at = t0 + 2 * ms;
    for (turn, &(name, args)) in TOOLS.iter().enumerate() {
        let chat_len = 80 * ms + (seq % 7) * ms;
        let chat = make_span(
            &mut ids,
            Some(agent_id),
            format!("chat {model_name}"),
            at,
            chat_len,
            vec![
                KeyValue::new("gen_ai.operation.name", "chat"),
                KeyValue::new("gen_ai.provider.name", "openai"),
                KeyValue::new("gen_ai.request.model", model_name.clone()),
                KeyValue::new("gen_ai.response.model", model_name.clone()),
                KeyValue::new("gen_ai.usage.input_tokens", 200 + 40 * turn as i64),
                KeyValue::new("gen_ai.usage.output_tokens", 20i64),
                KeyValue::new("gen_ai.response.finish_reasons", "tool_calls"),
            ],
            shared,
        );
        let chat_id = chat.span_id;
        spans.push(chat);
        if turn == 0 {
            // A 429 then a success: two attempt spans under the call.
            let mut failed = make_span(
                &mut ids,
                Some(chat_id),
                "llm.retry_attempt".into(),
                at,
                10 * ms,
                vec![KeyValue::new("http.response.status_code", 429i64)],
                shared,
            );
            failed.status = Status {
                code: StatusCode::Error,
                message: "rate limited".into(),
            };
            spans.push(failed);
            spans.push(make_span(
                &mut ids,
                Some(chat_id),
                "llm.retry_attempt".into(),
                at + 20 * ms,
                50 * ms,
                vec![],
                shared,
            ));
        } else if turn < 5 {
            spans.push(make_span(
                &mut ids,
                Some(chat_id),
                "POST".into(),
                at + ms,
                chat_len - 2 * ms,
                vec![
                    KeyValue::new("http.request.method", "POST"),
                    KeyValue::new("url.full", "https://api.example.com/v1/chat/completions"),
                ],
                shared,
            ));
        }
        at += chat_len + ms;
        let mut args = args.replace("{i}", &case.to_string());
        let mut name = name.to_owned();
        if mistake == 0 && turn == 3 {
            args = r#"{"expr":"6*8"}"#.into();
        }
        if mistake == 1 && turn == 4 {
            name = "delete".into();
        }
        let mut tool = make_span(
            &mut ids,
            Some(agent_id),
            format!("execute_tool {name}"),
            at,
            5 * ms,
            vec![
                KeyValue::new("gen_ai.operation.name", "execute_tool"),
                KeyValue::new("gen_ai.tool.name", name),
                KeyValue::new("gen_ai.tool.call.id", format!("call_{turn}")),
                KeyValue::new("gen_ai.tool.call.arguments", args),
                KeyValue::new("gen_ai.tool.call.result", "{\"ok\":true}"),
            ],
            shared,
        );
        if mistake == 2 && turn == 2 {
            tool.status = Status {
                code: StatusCode::Error,
                message: "timeout".into(),
            };
        }
        spans.push(tool);
        at += 6 * ms;
    }
    debug_assert_eq!(spans.len(), 20);
    Recorded {
        case,
        model,
        trial,
        spans: spans.into_iter().map(Arc::new).collect(),
        output: format!("The answer {case} is 42."),
    }
}

/// What `traceval run` does with a finished trial's spans (`runner::verdict::{score, conclude}`): the tree, the
/// GenAI view, [`score`] (tool score, metrics, every check), the failure's rendered tree.
fn grade_trial(
    suite: &str,
    case: &Case,
    model: &str,
    r: &Recorded,
    pricing: &Pricing,
    conventions: &Conventions,
    shapes: bool,
) -> TrialResult {
    let root = &r.spans[0];
    let (tree, root_node) = SpanTree::build_trial(root, r.spans[1..].iter().cloned());
    let view = GenAiView::with_conventions(&tree, conventions);
    let exit = AgentExit::Code { code: 0 };
    let latency =
        std::time::Duration::from_nanos(root.end_time_unix_nano - root.start_time_unix_nano);
    let (graded, metrics) = score(
        &case.expect,
        &Finished {
            output: &r.output,
            exit: &exit,
            view: &view,
            root: root_node,
            latency,
        },
        pricing,
    );
    let shape_hash = shapes.then(|| shape_hash(&view, root_node)).flatten();
    let passed = graded.passed();
    let span_tree = (!passed).then(|| {
        render(
            &view,
            &RenderOptions {
                marked: graded.marked.clone(),
                max_value_len: 0,
            },
        )
    });
    TrialResult {
        suite: suite.to_owned(),
        case: case.id.clone(),
        model: model.to_owned(),
        trial: r.trial,
        trace_id: root.trace_id.to_string(),
        agent_trace_ids: vec![],
        passed,
        error: None,
        error_kind: None,
        duration_ms: latency.as_secs_f64() * 1e3,
        exit,
        output: r.output.clone(),
        stderr_tail: String::new(),
        output_truncated: false,
        stderr_truncated: false,
        checks: graded.checks,
        metrics,
        warnings: vec![],
        span_tree,
        trace_file: None,
        judges: vec![],
        judge_trace_file: None,
        snapshot_matched: None,
        shape_hash,
        trace: None,
    }
}

/// `runner::verdict::shape_hash`, through the public API: FNV-1a 64 of the trial's shape with
/// the default options (the root's subtrees and any other root), trailing whitespace trimmed.
fn shape_hash(view: &GenAiView<'_>, root: NodeId) -> Option<String> {
    let tree = view.tree();
    let others = tree.roots().map(|n| n.id()).filter(|&id| id != root);
    let tops = tree.node(root).children().map(|n| n.id()).chain(others);
    let shape = Shape::of_nodes(view, tops, &ShapeOptions::default());
    let text = shape.as_str().trim_end();
    let fnv = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    (!text.is_empty()).then(|| format!("{fnv:016x}"))
}

fn vm_hwm_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn vm_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Resets the peak RSS to the current RSS (Linux ≥ 4.0); false when that is not possible.
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn main() {
    let trials: usize = std::env::var("TRACEVAL_BENCH_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50_000);
    let per_case = trials / (CASES * MODELS.len());
    assert!(per_case >= 1, "at least {} trials", CASES * MODELS.len());

    // The suite, through the real loader.
    let dir = std::env::temp_dir().join(format!("tv-grading-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut text = SUITE.replace("trials = 10", &format!("trials = {per_case}"));
    let with_conventions = std::env::var("TRACEVAL_BENCH_CONVENTIONS").is_ok_and(|v| v == "1");
    let shapes = !std::env::var("TRACEVAL_BENCH_SHAPE_HASH").is_ok_and(|v| v == "0");
    if with_conventions {
        text.push_str(CONVENTIONS);
    }
    for i in 0..CASES {
        text.push_str(&CASE.replace("{i}", &i.to_string()));
    }
    let path = dir.join("bench.toml");
    std::fs::write(&path, text).unwrap();
    let suite = load_suite(&path).expect("the bench suite loads");
    let pricing = Pricing::new(suite.pricing.clone());
    // As the runner layers them: the suite's, then traceval.toml's (none here).
    let conventions = suite.conventions.before(&Conventions::default());
    assert_eq!(conventions.is_empty(), !with_conventions);
    let _ = std::fs::remove_dir_all(&dir);

    let shared = (Arc::new(Resource::default()), Arc::new(Scope::default()));
    let mut recorded = Vec::with_capacity(trials);
    let mut seq = 0u64;
    for case in 0..CASES {
        for model in 0..MODELS.len() {
            for trial in 0..per_case as u32 {
                recorded.push(record(case, model, trial, seq, &shared));
                seq += 1;
            }
        }
    }
    let spans: usize = recorded.iter().map(|r| r.spans.len()).sum();
    println!(
        "grading benchmark: {} trials, {} spans, {} cases × {} models × {per_case} trials, {} rayon threads, custom conventions {}, shape hashes {}",
        recorded.len(),
        spans,
        CASES,
        MODELS.len(),
        rayon::current_num_threads(),
        if with_conventions { "on" } else { "off" },
        if shapes { "on" } else { "off" }
    );
    let input_rss = vm_rss_kb();
    let peak_reset = reset_peak();

    // 1. Grading.
    let start = Instant::now();
    let results: Vec<TrialResult> = recorded
        .par_iter()
        .map(|r| {
            grade_trial(
                &suite.name,
                &suite.cases[r.case],
                MODELS[r.model],
                r,
                &pricing,
                &conventions,
                shapes,
            )
        })
        .collect();
    let graded_in = start.elapsed();

    // 2. Aggregation.
    let start = Instant::now();
    let mut builder = ReportBuilder::new(RunMeta::default());
    for t in results {
        builder.on_event(RunEvent::TrialFinished(Box::new(t)));
    }
    let report = builder.finish();
    let aggregated_in = start.elapsed();
    let peak = vm_hwm_kb();

    let passed = report.trials.iter().filter(|t| t.passed).count();
    assert_eq!(report.trials.len(), recorded.len());
    assert_eq!(report.cases.len(), CASES * MODELS.len());
    // One trial in ten deviates (`seq % 10 == 3`), and each deviation fails a check.
    let deviant = (0..recorded.len()).filter(|s| s % 10 == 3).count();
    assert_eq!(passed, recorded.len() - deviant);
    drop(recorded);

    // 3. The baseline: reading the same report back.
    let json = serde_json::to_vec(&report).unwrap();
    let start = Instant::now();
    let back: Report = serde_json::from_slice(&json).unwrap();
    let read_in = start.elapsed();
    assert_eq!(back.trials.len(), report.trials.len());

    let total = graded_in + aggregated_in;
    let secs = |d: std::time::Duration| d.as_secs_f64();
    println!("  grading      {:>8.3} s", secs(graded_in));
    println!("  aggregation  {:>8.3} s", secs(aggregated_in));
    println!(
        "  total        {:>8.3} s  (target < {TARGET_SECS} s: {})",
        secs(total),
        if secs(total) < TARGET_SECS {
            "met"
        } else {
            "MISSED"
        }
    );
    println!(
        "  baseline: deserialize the same report ({:.1} MB of JSON) {:>8.3} s; grading + aggregation = {:.2}× that",
        json.len() as f64 / 1e6,
        secs(read_in),
        secs(total) / secs(read_in)
    );
    match (peak_reset, input_rss, peak) {
        (true, Some(input), Some(peak)) => println!(
            "  peak RSS {:.1} MB over the {:.1} MB of spans held as input",
            peak.saturating_sub(input) as f64 / 1024.0,
            input as f64 / 1024.0
        ),
        (_, _, Some(peak)) => {
            println!("  peak RSS {:.1} MB (input included)", peak as f64 / 1024.0)
        }
        _ => println!("  peak RSS unavailable"),
    }
    println!(
        "  {} passed, {} failed",
        passed,
        report.trials.len() - passed
    );
}
