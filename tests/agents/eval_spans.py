"""Sends the spans of one evaluated trial with the OpenTelemetry Python SDK, configured only by
the standard OTEL_* environment variables (endpoint, headers, resource), as a forwarder would:
a root span and COUNT - 1 children, every one with the span attribute eval.run_id = RUN_ID,
and on the root one gen_ai.evaluation.result event whose score is a double.

Usage: python3 eval_spans.py http|grpc RUN_ID COUNT
Shuts the provider down (which flushes) before exiting, so the export has been answered.
"""
import sys

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

if sys.argv[1] == "grpc":
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
else:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

run_id, count = sys.argv[2], int(sys.argv[3])
provider = TracerProvider(resource=Resource.create())  # reads OTEL_RESOURCE_ATTRIBUTES
provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
tracer = provider.get_tracer("eval_spans", "0.1")

with tracer.start_as_current_span("eval trial", attributes={"eval.run_id": run_id}) as root:
    for n in range(1, count):
        with tracer.start_as_current_span(f"step {n}", attributes={"eval.run_id": run_id}):
            pass
    root.add_event("gen_ai.evaluation.result", attributes={
        "gen_ai.evaluation.name": "exact_match",
        # 1.0, not 0.75: a whole double is the one a reader could turn into an integer
        "gen_ai.evaluation.score.value": 1.0,
        "gen_ai.evaluation.score.label": "pass",
        "gen_ai.evaluation.explanation": "the output matched",
    })

if not provider.force_flush():
    sys.exit("the spans were not exported")
provider.shutdown()
