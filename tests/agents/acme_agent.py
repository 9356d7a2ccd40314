"""An agent with in-house instrumentation only: its spans are named and described under `acme.*`,
none of the OTel GenAI, OpenInference or OpenLLMetry conventions, so traceval understands them
only through a suite's `[conventions]`. Configured by the standard OTEL_* environment variables,
as traceval sets them for a command agent.

Reads the city from the trial input on stdin; emits
acme.run (agent) -> acme.llm.call, acme.fn/get_weather, acme.fn/get_forecast, acme.llm.call,
then shuts the provider down (which flushes) and prints the answer.
"""
import json
import sys

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

city = json.load(sys.stdin)["input"]

provider = TracerProvider(resource=Resource.create())  # reads OTEL_RESOURCE_ATTRIBUTES
provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
tracer = provider.get_tracer("acme-instrumentation", "3.1")


def model_call(tokens_in, tokens_out, **extra):
    attributes = {
        "acme.vendor": "acme-ai",
        "acme.model": "acme-large",
        "acme.tokens.in": tokens_in,
        "acme.tokens.out": tokens_out,
    }
    attributes.update(extra)
    with tracer.start_as_current_span("acme.llm.call", attributes=attributes):
        pass


def tool(name, args, result):
    with tracer.start_as_current_span(f"acme.fn/{name}", attributes={
            "acme.fn": name, "acme.args": json.dumps(args)}) as span:
        span.set_attribute("acme.result", result)


with tracer.start_as_current_span("acme.run", attributes={
        "acme.kind": "agent", "acme.agent": "weather-desk"}):
    model_call(1200, 40)
    tool("get_weather", {"city": city}, "18 C and sunny")
    tool("get_forecast", {"city": city, "days": 2}, "sunny, then rain")
    # The second call's cost is recorded by the instrumentation itself.
    model_call(1500, 25, **{"acme.cost_usd": 0.002})

provider.shutdown()
print(f"{city}: 18 C and sunny, then rain")
