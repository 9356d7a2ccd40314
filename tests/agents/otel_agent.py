"""A minimal agent instrumented with the OpenTelemetry Python SDK, configured only by the
standard OTEL_* environment variables, as traceval sets them for a command agent.

Usage: python3 otel_agent.py http|grpc
Emits invoke_agent -> chat -> execute_tool with GenAI attributes, then shuts the provider down
(which flushes), so the spans are stored before the process exits.
"""
import json
import sys

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

if sys.argv[1] == "grpc":
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
else:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

provider = TracerProvider(resource=Resource.create())  # reads OTEL_RESOURCE_ATTRIBUTES
provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
tracer = provider.get_tracer("otel_agent", "0.1")

with tracer.start_as_current_span("invoke_agent weather", attributes={
    "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "weather"}):
    with tracer.start_as_current_span("chat gpt-4o-mini", kind=trace.SpanKind.CLIENT, attributes={
        "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini", "gen_ai.usage.input_tokens": 120,
        "gen_ai.usage.output_tokens": 18, "gen_ai.response.finish_reasons": ["tool_calls"]}):
        pass
    with tracer.start_as_current_span("execute_tool get_weather", attributes={
        "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "get_weather",
        "gen_ai.tool.call.arguments": json.dumps({"city": "Paris"})}):
        pass

provider.shutdown()
print("It is sunny in Paris.")
