"""Command agents that misbehave on purpose, for the runner's tests.

Usage: python3 misbehave.py MODE
  crash    writes a traceback to stderr and exits 3
  hang     starts a grandchild, ignores SIGTERM and sleeps forever (must be killed, group and all)
  garbage  writes escape sequences and invalid UTF-8 to stdout and stderr, exits 0
  nospans  answers on stdout and exits 0 without any telemetry
  spans    sends spans naming its case (tool get_case with args {"case": ...}), sleeping between
           them so concurrent trials overlap; answers with the case id
  sleep    sleeps SECONDS (from $SLEEP, default 30), then answers
  seeded   like spans, after random.seed(1234): every trial's spans get the same trace ids
  daemon   answers, then starts a process in a new session that keeps stdout open for 5s
  outfile  prints a banner on stdout and writes the answer to $TRACEVAL_OUTPUT
  env      writes its whole environment as JSON to $ENV_DUMP, answers "dumped"
  resource-only  exports to the receiver's base /v1/traces with no trial path or header, so
           only the eval.* resource attributes can attribute the span
  traceparent    exports with no trial path, header or eval.* attributes, as a child of
           $TRACEPARENT, so only the trace id can attribute the span
  stray    like traceparent, in a trace of its own: nothing attributes the span `stray work`
A marker from $TEST_MARKER is put in the argv of every process started, so a test can look for
leftovers in /proc.
"""
import json
import os
import signal
import subprocess
import sys
import time

mode = sys.argv[1]
marker = os.environ.get("TEST_MARKER", "traceval-test")
case = json.loads(sys.stdin.read() or "{}")

if mode == "crash":
    sys.stderr.write("Traceback (most recent call last):\n  File \"agent.py\"\nRuntimeError: boom\n")
    sys.exit(3)
elif mode == "hang":
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)", marker])
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    print("started", flush=True)
    time.sleep(600)
elif mode == "garbage":
    sys.stdout.buffer.write(b"\x1b[2J\x1b[31mred\x00\xff\xfe garbage \xe2\x80\xae reversed\n")
    sys.stderr.buffer.write(b"\x1b]0;title\x07\xff\n" * 3)
elif mode == "nospans":
    print("an answer with no trace")
elif mode == "daemon":
    print("answer before the daemon", flush=True)
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(5)", marker],
                     start_new_session=True)
elif mode in ("spans", "seeded"):
    if mode == "seeded":
        import random
        random.seed(1234)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    provider = TracerProvider(resource=Resource.create())
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter()))
    tracer = provider.get_tracer("misbehave")
    with tracer.start_as_current_span("invoke_agent echo", attributes={
            "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "echo"}):
        for i in range(3):
            with tracer.start_as_current_span("execute_tool get_case", attributes={
                    "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "get_case",
                    "gen_ai.tool.call.arguments": json.dumps({"case": case["case"], "i": i})}):
                time.sleep(0.05)
    provider.shutdown()
    print(case["case"])
elif mode == "sleep":
    time.sleep(float(os.environ.get("SLEEP", "30")))
    print("slept")
elif mode == "outfile":
    print("Welcome to AgentKit 3.1 (banner)")
    with open(os.environ["TRACEVAL_OUTPUT"], "w") as f:
        f.write("the real answer")
elif mode in ("resource-only", "traceparent", "stray"):
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    base = os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"].split("/trial/")[0]
    for k in ("OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS"):
        os.environ.pop(k, None)
    if mode in ("traceparent", "stray"):
        os.environ.pop("OTEL_RESOURCE_ATTRIBUTES", None)
    if mode == "traceparent":
        parent = TraceContextTextMapPropagator().extract({"traceparent": os.environ["TRACEPARENT"]})
    else:
        parent = None
    provider = TracerProvider(resource=Resource.create())
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=base + "/v1/traces")))
    tracer = provider.get_tracer("misbehave")
    name = "stray work" if mode == "stray" else "execute_tool get_case"
    with tracer.start_as_current_span(name, context=parent, attributes={
            "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "get_case",
            "gen_ai.tool.call.arguments": json.dumps({"case": case["case"]})}):
        pass
    provider.shutdown()
    print(case["case"])
elif mode == "env":
    with open(os.environ["ENV_DUMP"], "w") as f:
        json.dump(dict(os.environ), f)
    print("dumped")
else:
    sys.exit(f"unknown mode {mode}")
