//! The verdicts as the GenAI convention's exact form: log records with `event_name =
//! gen_ai.evaluation.result`, the evaluated span's trace and span id, and the event's attributes
//! (`--forward-events log|both`). They are read off the events [`super::enrich`] made for the
//! spans, so the two carriers cannot disagree.

use std::collections::HashMap;
use std::sync::Arc;

use crate::capture::convert::encode_attributes;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};

use super::encode::{Evaluated, ForwardedResource};

/// `SEVERITY_NUMBER_INFO`, or `WARN` for a failed check, as pydantic-evals sets it.
const INFO: i32 = 9;
const WARN: i32 = 13;

/// The evaluation events of `spans` as one logs request (grouped by the spans' resources), or
/// `None` when there are none.
pub(crate) fn evaluation_logs(evaluations: &[Evaluated]) -> Option<ExportLogsServiceRequest> {
    let mut groups: Vec<(Arc<ForwardedResource>, Vec<LogRecord>)> = Vec::new();
    let mut index: HashMap<*const ForwardedResource, usize> = HashMap::new();
    for evaluated in evaluations {
        let event = &evaluated.event;
        let failed = event.attributes.str("gen_ai.evaluation.score.label") == Some("fail");
        let record = LogRecord {
            time_unix_nano: event.time_unix_nano,
            observed_time_unix_nano: event.time_unix_nano,
            severity_number: if failed { WARN } else { INFO },
            severity_text: if failed { "WARN" } else { "INFO" }.to_owned(),
            body: None,
            attributes: encode_attributes(&event.attributes),
            dropped_attributes_count: 0,
            flags: evaluated.flags & 0xff,
            trace_id: evaluated.trace_id.0.to_vec(),
            span_id: evaluated.span_id.0.to_vec(),
            event_name: event.name.clone(),
        };
        let resource = &evaluated.resource;
        let i = *index.entry(Arc::as_ptr(resource)).or_insert_with(|| {
            groups.push((Arc::clone(resource), Vec::new()));
            groups.len() - 1
        });
        groups[i].1.push(record);
    }
    if groups.is_empty() {
        return None;
    }
    Some(ExportLogsServiceRequest {
        resource_logs: groups
            .into_iter()
            .map(|(resource, log_records)| ResourceLogs {
                resource: Some(resource.to_proto()),
                scope_logs: vec![ScopeLogs {
                    scope: Some(InstrumentationScope {
                        name: "traceval".to_owned(),
                        version: env!("CARGO_PKG_VERSION").to_owned(),
                        ..Default::default()
                    }),
                    log_records,
                    schema_url: String::new(),
                }],
                schema_url: resource.schema_url().to_owned(),
            })
            .collect(),
    })
}

/// The number of log records in `request`.
pub(crate) fn count(request: &ExportLogsServiceRequest) -> u64 {
    let scopes = request.resource_logs.iter().flat_map(|r| &r.scope_logs);
    scopes.map(|s| s.log_records.len() as u64).sum()
}
