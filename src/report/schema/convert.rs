//! The runner's events into the report's types, and, for `--replay`, a recorded report's trials
//! back into the runner's. Every conversion names every field on both sides (a destructuring
//! and a struct literal), so a field added to an event does not compile until someone decides
//! here whether the report format (`format_version`) takes it.

use super::trial::{
    AgentExit, CheckResult, ErrorKind, JudgeRecord, JudgeSample, ModelUsage, StopReason,
    ToolCallRecord, TrialId, TrialMetrics, TrialResult, Warning,
};
use crate::event;

fn vec<A, B: From<A>>(values: Vec<A>) -> Vec<B> {
    values.into_iter().map(B::from).collect()
}

impl From<event::TrialId> for TrialId {
    fn from(id: event::TrialId) -> TrialId {
        let event::TrialId {
            suite,
            case,
            model,
            trial,
        } = id;
        TrialId {
            suite,
            case,
            model,
            trial,
        }
    }
}

impl From<TrialId> for event::TrialId {
    fn from(id: TrialId) -> event::TrialId {
        let TrialId {
            suite,
            case,
            model,
            trial,
        } = id;
        event::TrialId {
            suite,
            case,
            model,
            trial,
        }
    }
}

impl From<event::AgentExit> for AgentExit {
    fn from(exit: event::AgentExit) -> AgentExit {
        match exit {
            event::AgentExit::Code { code } => AgentExit::Code { code },
            event::AgentExit::Signal { signal } => AgentExit::Signal { signal },
            event::AgentExit::TimedOut => AgentExit::TimedOut,
            event::AgentExit::Cancelled => AgentExit::Cancelled,
            event::AgentExit::SpawnFailed { message } => AgentExit::SpawnFailed { message },
        }
    }
}

impl From<AgentExit> for event::AgentExit {
    fn from(exit: AgentExit) -> event::AgentExit {
        match exit {
            AgentExit::Code { code } => event::AgentExit::Code { code },
            AgentExit::Signal { signal } => event::AgentExit::Signal { signal },
            AgentExit::TimedOut => event::AgentExit::TimedOut,
            AgentExit::Cancelled => event::AgentExit::Cancelled,
            AgentExit::SpawnFailed { message } => event::AgentExit::SpawnFailed { message },
        }
    }
}

impl From<event::ErrorKind> for ErrorKind {
    fn from(kind: event::ErrorKind) -> ErrorKind {
        match kind {
            event::ErrorKind::Infrastructure => ErrorKind::Infrastructure,
            event::ErrorKind::Agent => ErrorKind::Agent,
        }
    }
}

impl From<ErrorKind> for event::ErrorKind {
    fn from(kind: ErrorKind) -> event::ErrorKind {
        match kind {
            ErrorKind::Infrastructure => event::ErrorKind::Infrastructure,
            ErrorKind::Agent => event::ErrorKind::Agent,
        }
    }
}

impl From<event::StopReason> for StopReason {
    fn from(reason: event::StopReason) -> StopReason {
        match reason {
            event::StopReason::Interrupted => StopReason::Interrupted,
            event::StopReason::FailFast => StopReason::FailFast,
        }
    }
}

impl From<event::CheckResult> for CheckResult {
    fn from(check: event::CheckResult) -> CheckResult {
        let event::CheckResult {
            name,
            passed,
            message,
            score,
        } = check;
        CheckResult {
            name,
            passed,
            message,
            score,
        }
    }
}

impl From<CheckResult> for event::CheckResult {
    fn from(check: CheckResult) -> event::CheckResult {
        let CheckResult {
            name,
            passed,
            message,
            score,
        } = check;
        event::CheckResult {
            name,
            passed,
            message,
            score,
        }
    }
}

impl From<event::ToolCallRecord> for ToolCallRecord {
    fn from(call: event::ToolCallRecord) -> ToolCallRecord {
        let event::ToolCallRecord { name, args } = call;
        ToolCallRecord { name, args }
    }
}

impl From<ToolCallRecord> for event::ToolCallRecord {
    fn from(call: ToolCallRecord) -> event::ToolCallRecord {
        let ToolCallRecord { name, args } = call;
        event::ToolCallRecord { name, args }
    }
}

impl From<event::ModelUsage> for ModelUsage {
    fn from(usage: event::ModelUsage) -> ModelUsage {
        let event::ModelUsage {
            input,
            output,
            cache_read,
            cache_write,
        } = usage;
        ModelUsage {
            input,
            output,
            cache_read,
            cache_write,
        }
    }
}

impl From<ModelUsage> for event::ModelUsage {
    fn from(usage: ModelUsage) -> event::ModelUsage {
        let ModelUsage {
            input,
            output,
            cache_read,
            cache_write,
        } = usage;
        event::ModelUsage {
            input,
            output,
            cache_read,
            cache_write,
        }
    }
}

impl From<event::TrialMetrics> for TrialMetrics {
    fn from(metrics: event::TrialMetrics) -> TrialMetrics {
        let event::TrialMetrics {
            llm_calls,
            tool_calls,
            input_tokens,
            output_tokens,
            cache_read_tokens,
            cache_write_tokens,
            cost_usd,
            unpriced,
            unpriced_models,
            retries,
            error_spans,
            span_count,
            tool_precision,
            tool_recall,
            tool_f1,
            tool_matched,
            tool_expected,
            llm_durations_ns,
            tool_durations_ns,
            usage_by_model,
        } = metrics;
        TrialMetrics {
            llm_calls,
            tool_calls: vec(tool_calls),
            input_tokens,
            output_tokens,
            cache_read_tokens,
            cache_write_tokens,
            cost_usd,
            unpriced,
            unpriced_models,
            retries,
            error_spans,
            span_count,
            tool_precision,
            tool_recall,
            tool_f1,
            tool_matched,
            tool_expected,
            llm_durations_ns,
            tool_durations_ns,
            usage_by_model: usage_by_model
                .into_iter()
                .map(|(model, usage)| (model, usage.into()))
                .collect(),
        }
    }
}

impl From<TrialMetrics> for event::TrialMetrics {
    fn from(metrics: TrialMetrics) -> event::TrialMetrics {
        let TrialMetrics {
            llm_calls,
            tool_calls,
            input_tokens,
            output_tokens,
            cache_read_tokens,
            cache_write_tokens,
            cost_usd,
            unpriced,
            unpriced_models,
            retries,
            error_spans,
            span_count,
            tool_precision,
            tool_recall,
            tool_f1,
            tool_matched,
            tool_expected,
            llm_durations_ns,
            tool_durations_ns,
            usage_by_model,
        } = metrics;
        event::TrialMetrics {
            llm_calls,
            tool_calls: vec(tool_calls),
            input_tokens,
            output_tokens,
            cache_read_tokens,
            cache_write_tokens,
            cost_usd,
            unpriced,
            unpriced_models,
            retries,
            error_spans,
            span_count,
            tool_precision,
            tool_recall,
            tool_f1,
            tool_matched,
            tool_expected,
            llm_durations_ns,
            tool_durations_ns,
            usage_by_model: usage_by_model
                .into_iter()
                .map(|(model, usage)| (model, usage.into()))
                .collect(),
        }
    }
}

impl From<event::JudgeSample> for JudgeSample {
    fn from(sample: event::JudgeSample) -> JudgeSample {
        let event::JudgeSample {
            passed,
            score,
            explanation,
            error,
        } = sample;
        JudgeSample {
            passed,
            score,
            explanation,
            error,
        }
    }
}

impl From<JudgeSample> for event::JudgeSample {
    fn from(sample: JudgeSample) -> event::JudgeSample {
        let JudgeSample {
            passed,
            score,
            explanation,
            error,
        } = sample;
        event::JudgeSample {
            passed,
            score,
            explanation,
            error,
        }
    }
}

impl From<event::JudgeRecord> for JudgeRecord {
    fn from(judge: event::JudgeRecord) -> JudgeRecord {
        let event::JudgeRecord {
            name,
            model,
            trace_id,
            samples,
            llm_calls,
            input_tokens,
            output_tokens,
            cost_usd,
            unpriced,
        } = judge;
        JudgeRecord {
            name,
            model,
            trace_id,
            samples: vec(samples),
            llm_calls,
            input_tokens,
            output_tokens,
            cost_usd,
            unpriced,
        }
    }
}

impl From<JudgeRecord> for event::JudgeRecord {
    fn from(judge: JudgeRecord) -> event::JudgeRecord {
        let JudgeRecord {
            name,
            model,
            trace_id,
            samples,
            llm_calls,
            input_tokens,
            output_tokens,
            cost_usd,
            unpriced,
        } = judge;
        event::JudgeRecord {
            name,
            model,
            trace_id,
            samples: vec(samples),
            llm_calls,
            input_tokens,
            output_tokens,
            cost_usd,
            unpriced,
        }
    }
}

impl From<event::TrialResult> for TrialResult {
    fn from(result: event::TrialResult) -> TrialResult {
        let event::TrialResult {
            suite,
            case,
            model,
            trial,
            trace_id,
            agent_trace_ids,
            passed,
            error,
            error_kind,
            duration_ms,
            exit,
            output,
            stderr_tail,
            output_truncated,
            stderr_truncated,
            checks,
            metrics,
            warnings,
            span_tree,
            trace_file,
            judges,
            judge_trace_file,
            snapshot_matched,
            shape_hash,
            // The spans are the outputs'; the report does not keep them.
            trace: _,
        } = result;
        TrialResult {
            suite,
            case,
            model,
            trial,
            trace_id,
            agent_trace_ids,
            passed,
            error,
            error_kind: error_kind.map(Into::into),
            duration_ms,
            exit: exit.into(),
            output,
            stderr_tail,
            output_truncated,
            stderr_truncated,
            checks: vec(checks),
            metrics: metrics.into(),
            warnings,
            span_tree,
            trace_file,
            judges: vec(judges),
            judge_trace_file,
            snapshot_matched,
            shape_hash,
        }
    }
}

impl From<TrialResult> for event::TrialResult {
    fn from(result: TrialResult) -> event::TrialResult {
        let TrialResult {
            suite,
            case,
            model,
            trial,
            trace_id,
            agent_trace_ids,
            passed,
            error,
            error_kind,
            duration_ms,
            exit,
            output,
            stderr_tail,
            output_truncated,
            stderr_truncated,
            checks,
            metrics,
            warnings,
            span_tree,
            trace_file,
            judges,
            judge_trace_file,
            snapshot_matched,
            shape_hash,
        } = result;
        event::TrialResult {
            suite,
            case,
            model,
            trial,
            trace_id,
            agent_trace_ids,
            passed,
            error,
            error_kind: error_kind.map(Into::into),
            duration_ms,
            exit: exit.into(),
            output,
            stderr_tail,
            output_truncated,
            stderr_truncated,
            checks: vec(checks),
            metrics: metrics.into(),
            warnings,
            span_tree,
            trace_file,
            judges: vec(judges),
            judge_trace_file,
            snapshot_matched,
            shape_hash,
            trace: None,
        }
    }
}

impl From<event::Warning> for Warning {
    fn from(warning: event::Warning) -> Warning {
        let event::Warning { trial, message } = warning;
        Warning {
            trial: trial.map(Into::into),
            message,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    /// An event trial with every optional field set and every list non-empty.
    fn full_trial(
        exit: event::AgentExit,
        error_kind: Option<event::ErrorKind>,
    ) -> event::TrialResult {
        event::TrialResult {
            suite: "weather".into(),
            case: "paris".into(),
            model: "sunny".into(),
            trial: 2,
            trace_id: "4bf92f3577b34da6a3ce929d0e0e4736".into(),
            agent_trace_ids: vec!["00f067aa0ba902b700f067aa0ba902b7".into()],
            passed: false,
            error: error_kind.map(|_| "the agent timed out".into()),
            error_kind,
            duration_ms: 1234.5,
            exit,
            output: "Sunny in Paris".into(),
            stderr_tail: "warn: slow\n".into(),
            output_truncated: true,
            stderr_truncated: true,
            checks: vec![event::CheckResult {
                name: "tools".into(),
                passed: false,
                message: "expected `get_weather`".into(),
                score: Some(0.5),
            }],
            metrics: event::TrialMetrics {
                llm_calls: 3,
                tool_calls: vec![event::ToolCallRecord {
                    name: "get_weather".into(),
                    args: Some(json!({"city": "Paris"})),
                }],
                input_tokens: 100,
                output_tokens: 20,
                cache_read_tokens: 5,
                cache_write_tokens: 7,
                cost_usd: Some(0.25),
                unpriced: true,
                unpriced_models: vec!["llama-3".into()],
                retries: 1,
                error_spans: 2,
                span_count: 9,
                tool_precision: Some(1.0),
                tool_recall: Some(0.5),
                tool_f1: Some(0.75),
                tool_matched: Some(1),
                tool_expected: Some(2),
                llm_durations_ns: vec![1_000, 2_000],
                tool_durations_ns: vec![500],
                usage_by_model: [(
                    "sunny-2026-01".to_owned(),
                    event::ModelUsage {
                        input: 100,
                        output: 20,
                        cache_read: 5,
                        cache_write: 7,
                    },
                )]
                .into(),
            },
            warnings: vec!["no spans from the agent".into()],
            span_tree: Some("eval.trial  [other]  1.2s\n".into()),
            trace_file: Some("weather/paris/sunny/2.otlp.json".into()),
            judges: vec![event::JudgeRecord {
                name: "judge".into(),
                model: "critic".into(),
                trace_id: Some("aaaabbbbccccddddaaaabbbbccccdddd".into()),
                samples: vec![event::JudgeSample {
                    passed: true,
                    score: Some(0.75),
                    explanation: Some("mentions the sun".into()),
                    error: Some("second sample unreadable".into()),
                }],
                llm_calls: 1,
                input_tokens: 40,
                output_tokens: 8,
                cost_usd: Some(0.125),
                unpriced: true,
            }],
            judge_trace_file: Some("weather/paris/sunny/2.judges.otlp.json".into()),
            snapshot_matched: Some(false),
            shape_hash: Some("0123456789abcdef".into()),
            trace: None,
        }
    }

    fn json_of(value: &impl serde::Serialize) -> Value {
        serde_json::to_value(value).unwrap()
    }

    #[test]
    fn a_converted_trial_writes_the_json_its_event_writes_and_converts_back() {
        let exits = [
            event::AgentExit::Code { code: 3 },
            event::AgentExit::Signal { signal: 9 },
            event::AgentExit::TimedOut,
            event::AgentExit::Cancelled,
            event::AgentExit::SpawnFailed {
                message: "no such file".into(),
            },
        ];
        let kinds = [
            None,
            Some(event::ErrorKind::Infrastructure),
            Some(event::ErrorKind::Agent),
        ];
        for exit in exits {
            for kind in kinds {
                let from_event = full_trial(exit.clone(), kind);
                let report = TrialResult::from(from_event.clone());
                assert_eq!(json_of(&report), json_of(&from_event));
                assert_eq!(report.id(), TrialId::from(from_event.id()));
                assert_eq!(report.errored(), from_event.errored());
                assert_eq!(
                    report.infrastructure_error(),
                    from_event.infrastructure_error()
                );
                // `--replay` hands a recorded report's trials back to the runner.
                assert_eq!(event::TrialResult::from(report), from_event);
            }
        }
        // The defaults and skipped fields convert alike too.
        let bare = event::TrialResult {
            error: None,
            error_kind: None,
            output_truncated: false,
            stderr_truncated: false,
            metrics: event::TrialMetrics::default(),
            warnings: vec![],
            span_tree: None,
            trace_file: None,
            judges: vec![],
            judge_trace_file: None,
            snapshot_matched: None,
            shape_hash: None,
            checks: vec![event::CheckResult {
                score: None,
                ..full_trial(event::AgentExit::TimedOut, None).checks[0].clone()
            }],
            ..full_trial(event::AgentExit::Cancelled, None)
        };
        assert_eq!(json_of(&TrialResult::from(bare.clone())), json_of(&bare));
    }

    #[test]
    fn run_warnings_and_stop_reasons_write_the_json_their_events_write() {
        let trial = full_trial(event::AgentExit::TimedOut, None).id();
        for warning in [
            event::Warning {
                trial: Some(trial),
                message: "late spans".into(),
            },
            event::Warning {
                trial: None,
                message: "unattributed spans".into(),
            },
        ] {
            assert_eq!(json_of(&Warning::from(warning.clone())), json_of(&warning));
        }
        for reason in [event::StopReason::Interrupted, event::StopReason::FailFast] {
            assert_eq!(json_of(&StopReason::from(reason)), json_of(&reason));
        }
    }
}
