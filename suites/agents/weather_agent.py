"""The reference command agent, and the example agent `traceval init` writes: the real `openai`
SDK, instrumented by the official `opentelemetry-instrumentation-openai-v2`, exporting through
the OpenTelemetry SDK's OTLP exporter configured by nothing but the environment traceval sets
(the `OTEL_*`, `OPENAI_*` and `TRACEVAL_*` variables of traceval's docs/reference/agent.md).
Its packages: `pip install -r agent/requirements.txt` in a project `traceval init` wrote.

Reads the case from stdin (`{"case", "input", "trial", "model"}`), runs a tool loop with one
tool, `get_weather`, and prints the answer. The model is whatever `OPENAI_BASE_URL` and
`OPENAI_API_KEY` point at: with a scripted model, traceval's own server.
"""

import json
import os
import sys

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

WEATHER = {"Paris": "18 C and sunny", "Tokyo": "22 C and cloudy", "Berlin": "12 C and rainy"}
TOOLS = [{
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                       "required": ["city"]},
    },
}]


def get_weather(city):
    if city not in WEATHER:
        raise ValueError(f"unknown city {city}")
    return f"It is {WEATHER[city]} in {city}."


def main():
    case = json.loads(sys.stdin.read() or "{}")
    provider = TracerProvider(resource=Resource.create())  # reads OTEL_RESOURCE_ATTRIBUTES
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))  # reads OTEL_EXPORTER_*
    trace.set_tracer_provider(provider)
    OpenAIInstrumentor().instrument(tracer_provider=provider)
    tracer = provider.get_tracer("weather_agent", "1.0")

    import openai

    client = openai.OpenAI(max_retries=0)  # reads OPENAI_BASE_URL and OPENAI_API_KEY
    model = os.environ.get("TRACEVAL_MODEL", "gpt-4o-mini")
    messages = [{"role": "system", "content": "Answer weather questions with get_weather."},
                {"role": "user", "content": case.get("input", "")}]
    answer = ""
    try:
        with tracer.start_as_current_span("invoke_agent weather", attributes={
                "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "weather"}):
            for _ in range(4):
                response = client.chat.completions.create(model=model, messages=messages,
                                                          tools=TOOLS)
                message = response.choices[0].message
                if not message.tool_calls:
                    answer = message.content or ""
                    break
                messages.append(message.model_dump(exclude_none=True))
                for call in message.tool_calls:
                    with tracer.start_as_current_span(
                            f"execute_tool {call.function.name}", attributes={
                                "gen_ai.operation.name": "execute_tool",
                                "gen_ai.tool.name": call.function.name,
                                "gen_ai.tool.call.id": call.id,
                                "gen_ai.tool.call.arguments": call.function.arguments}) as span:
                        try:
                            result = get_weather(**json.loads(call.function.arguments))
                        except Exception as e:  # the model sees the error, as agents do
                            span.record_exception(e)
                            span.set_status(trace.Status(trace.StatusCode.ERROR, str(e)))
                            result = f"error: {e}"
                        span.set_attribute("gen_ai.tool.call.result", result)
                    messages.append({"role": "tool", "tool_call_id": call.id, "content": result})
    finally:
        provider.shutdown()  # flushes: the spans are stored before we exit
    print(answer)


if __name__ == "__main__":
    main()
