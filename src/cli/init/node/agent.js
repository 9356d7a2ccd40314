// An example agent in Node.js, written by `traceval init --lang node`: the `openai` SDK,
// instrumented by the OpenTelemetry contrib `@opentelemetry/instrumentation-openai`, exporting
// through the OpenTelemetry SDK's OTLP exporter, configured by nothing but the environment
// traceval sets (the `OTEL_*`, `OPENAI_*` and `TRACEVAL_*` variables of traceval's
// docs/reference/agent.md); its spans join the trial's trace through `TRACEPARENT`. Install its
// packages with `npm install --prefix agent`.
//
// Reads the case from stdin, runs a tool loop with one tool, `get_weather`, and prints the
// answer. The model is whatever `OPENAI_BASE_URL` and `OPENAI_API_KEY` point at: with a
// scripted model, traceval's own server.
"use strict";

const api = require("@opentelemetry/api");
const { NodeTracerProvider, BatchSpanProcessor } = require("@opentelemetry/sdk-trace-node");
const { OTLPTraceExporter } = require("@opentelemetry/exporter-trace-otlp-proto");
const { registerInstrumentations } = require("@opentelemetry/instrumentation");
const { OpenAIInstrumentation } = require("@opentelemetry/instrumentation-openai");

// OTEL_EXPORTER_OTLP_* are read by the exporter; the instrumentation before `openai` is loaded.
const provider = new NodeTracerProvider({
  spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
});
provider.register();
registerInstrumentations({ instrumentations: [new OpenAIInstrumentation()] });
const OpenAI = require("openai");

const WEATHER = { Paris: "18 C and sunny", Tokyo: "22 C and cloudy", Berlin: "12 C and rainy" };
const TOOLS = [{
  type: "function",
  function: {
    name: "get_weather",
    description: "Current weather in a city",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
}];

function getWeather({ city }) {
  if (!(city in WEATHER)) throw new Error(`unknown city ${city}`);
  return `It is ${WEATHER[city]} in ${city}.`;
}

async function run(question) {
  const client = new OpenAI({ maxRetries: 0 }); // reads OPENAI_BASE_URL and OPENAI_API_KEY
  const model = process.env.TRACEVAL_MODEL || "gpt-4o-mini";
  const tracer = api.trace.getTracer("example_agent", "1.0");
  const messages = [
    { role: "system", content: "Answer weather questions with get_weather." },
    { role: "user", content: question },
  ];
  return tracer.startActiveSpan("invoke_agent weather", {
    attributes: { "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "weather" },
  }, async (agent) => {
    try {
      for (let turn = 0; turn < 4; turn++) {
        const response = await client.chat.completions.create({ model, messages, tools: TOOLS });
        const message = response.choices[0].message;
        if (!message.tool_calls || message.tool_calls.length === 0) return message.content || "";
        messages.push(message);
        for (const call of message.tool_calls) {
          const content = tracer.startActiveSpan(`execute_tool ${call.function.name}`, {
            attributes: {
              "gen_ai.operation.name": "execute_tool",
              "gen_ai.tool.name": call.function.name,
              "gen_ai.tool.call.id": call.id,
              "gen_ai.tool.call.arguments": call.function.arguments,
            },
          }, (span) => {
            let result;
            try {
              result = getWeather(JSON.parse(call.function.arguments));
            } catch (e) { // the model sees the error, as agents do
              span.recordException(e);
              span.setStatus({ code: api.SpanStatusCode.ERROR, message: e.message });
              result = `error: ${e.message}`;
            }
            span.setAttribute("gen_ai.tool.call.result", result);
            span.end();
            return result;
          });
          messages.push({ role: "tool", tool_call_id: call.id, content });
        }
        // The OpenTelemetry JS SDK records a span's start to the millisecond (Date.now()): a
        // model call starting in the millisecond the tool started would look concurrent with
        // it. Waiting for the next millisecond keeps the trace's order the order of events.
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      return "";
    } finally {
      agent.end();
    }
  });
}

async function main() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const input = Buffer.concat(chunks).toString() || "{}";
  const question = JSON.parse(input).input || "";
  // The trial's root span, from the W3C trace context traceval gives.
  const parent = api.propagation.extract(api.context.active(), {
    traceparent: process.env.TRACEPARENT || "",
  });
  let answer = "";
  try {
    answer = await api.context.with(parent, () => run(question));
  } finally {
    await provider.shutdown(); // flushes: the spans are with traceval before we exit
  }
  console.log(answer);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
