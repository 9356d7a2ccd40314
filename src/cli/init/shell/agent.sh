#!/bin/sh
# An example agent in plain POSIX shell, written by `traceval init --lang shell`: it asks the
# model (an OpenAI-compatible API at `OPENAI_BASE_URL`, `OPENAI_API_KEY`) with `curl`, runs the
# tool the model asks for, and reports what it did as OpenTelemetry spans, OTLP/JSON posted with
# `curl` to the endpoint traceval sets (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`), under the trial's
# root span (`TRACEPARENT`). traceval's docs/reference/agent.md lists every variable.
# Needs: sh, curl, sed, od, GNU date. It reads responses with sed, so it expects them as
# compact one-line JSON, as traceval's scripted model sends them; for another API, read them
# with jq.
set -eu

question=${TRACEVAL_INPUT:-}
model=${TRACEVAL_MODEL:-gpt-4o-mini}
api=${OPENAI_BASE_URL:-https://api.openai.com/v1}

now() { date +%s%N; }
hex() { od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'; }
# A JSON string's content: backslashes and quotes escaped (the texts here have no controls).
json() { printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g'; }
# The value of "key":"…" or "key":number in a JSON text (its last one; the answers here are
# compact JSON with one of each).
field() { printf '%s' "$2" | sed -n "s/.*\"$1\":\"\\{0,1\\}\\([^\",}]*\\).*/\\1/p"; }
text() { printf '%s' "$2" | sed -n "s/.*\"$1\":\"\\([^\"]*\\)\".*/\\1/p"; }

# The trial's trace and root span, from the W3C trace context traceval gives.
trace_id=$(printf '%s' "${TRACEPARENT:-00-$(hex 16)-$(hex 8)-01}" | cut -d- -f2)
root_id=$(printf '%s' "${TRACEPARENT:-00-x-$(hex 8)-01}" | cut -d- -f3)
agent_id=$(hex 8)
spans=""

# span NAME SPAN_ID PARENT_ID START END ATTRIBUTES_JSON [STATUS_JSON]
span() {
  [ -z "$spans" ] || spans="$spans,"
  spans="$spans{\"traceId\":\"$trace_id\",\"spanId\":\"$2\",\"parentSpanId\":\"$3\",\"name\":\"$1\",\"kind\":1,\"startTimeUnixNano\":\"$4\",\"endTimeUnixNano\":\"$5\",\"attributes\":[$6]${7:-}}"
}
attr() { printf '{"key":"%s","value":{"stringValue":"%s"}}' "$1" "$(json "$2")"; }
int_attr() { printf '{"key":"%s","value":{"intValue":"%s"}}' "$1" "$2"; }

# One chat completion with the conversation in $messages; its span is a child of the agent's.
chat() {
  start=$(now)
  response=$(curl -fsS "$api/chat/completions" \
    -H "Authorization: Bearer ${OPENAI_API_KEY:-}" -H 'Content-Type: application/json' \
    -d "{\"model\":\"$(json "$model")\",\"messages\":[$messages],\"tools\":[$TOOLS]}")
  span "chat $model" "$(hex 8)" "$agent_id" "$start" "$(now)" "$(attr gen_ai.operation.name chat),$(attr gen_ai.provider.name openai),$(attr gen_ai.request.model "$model"),$(attr gen_ai.response.model "$(field model "$response")"),$(int_attr gen_ai.usage.input_tokens "$(field prompt_tokens "$response")"),$(int_attr gen_ai.usage.output_tokens "$(field completion_tokens "$response")")"
}

TOOLS='{"type":"function","function":{"name":"get_weather","description":"Current weather in a city","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}'

get_weather() {
  case "$1" in
    Paris) echo "It is 18 C and sunny in Paris." ;;
    Tokyo) echo "It is 22 C and cloudy in Tokyo." ;;
    Berlin) echo "It is 12 C and rainy in Berlin." ;;
    *) return 1 ;;
  esac
}

agent_start=$(now)
messages="{\"role\":\"system\",\"content\":\"Answer weather questions with get_weather.\"},{\"role\":\"user\",\"content\":\"$(json "$question")\"}"
answer=""
turn=0
while [ $turn -lt 4 ]; do
  turn=$((turn + 1))
  chat
  case "$response" in
    *'"tool_calls":[{'*) ;;
    *) answer=$(text content "$response"); break ;;
  esac
  # The first tool call: its id and the city in its arguments (`{\"city\":\"Paris\"}`).
  call=$(printf '%s' "$response" | sed 's/.*"tool_calls":\[//; s/}\].*//')
  call_id=$(text id "$call")
  city=$(printf '%s' "$response" | sed -n 's/.*\\"city\\":\\"\([^\\]*\)\\".*/\1/p')
  start=$(now)
  status=""
  if result=$(get_weather "$city"); then :; else
    result="error: unknown city $city"
    status=",\"status\":{\"code\":2,\"message\":\"$(json "$result")\"}"
  fi
  span "execute_tool get_weather" "$(hex 8)" "$agent_id" "$start" "$(now)" "$(attr gen_ai.operation.name execute_tool),$(attr gen_ai.tool.name get_weather),$(attr gen_ai.tool.call.id "$call_id"),$(attr gen_ai.tool.call.arguments "{\"city\":\"$city\"}"),$(attr gen_ai.tool.call.result "$result")" "$status"
  messages="$messages,{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"$call_id\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"$(json "{\"city\":\"$city\"}")\"}}]},{\"role\":\"tool\",\"tool_call_id\":\"$call_id\",\"content\":\"$(json "$result")\"}"
done
span "invoke_agent weather" "$agent_id" "$root_id" "$agent_start" "$(now)" "$(attr gen_ai.operation.name invoke_agent),$(attr gen_ai.agent.name weather)"

# The spans, with the resource attributes traceval set (eval.run_id, eval.case, ...).
resource=""
old_ifs=$IFS; IFS=,
set -f   # split on commas, never glob
for pair in ${OTEL_RESOURCE_ATTRIBUTES:-}; do
  [ -n "$pair" ] || continue
  [ -z "$resource" ] || resource="$resource,"
  # Values stay percent-encoded as traceval sent them (it attributes spans by the endpoint).
  resource="$resource$(attr "${pair%%=*}" "${pair#*=}")"
done
IFS=$old_ifs
set +f
curl -fsS -o /dev/null "${OTEL_EXPORTER_OTLP_TRACES_ENDPOINT:-http://127.0.0.1:4318/v1/traces}" \
  -H 'Content-Type: application/json' \
  -d "{\"resourceSpans\":[{\"resource\":{\"attributes\":[$(attr service.name example-shell-agent)${resource:+,$resource}]},\"scopeSpans\":[{\"scope\":{\"name\":\"example_agent\",\"version\":\"1.0\"},\"spans\":[$spans]}]}]}"

printf '%s\n' "$answer"
