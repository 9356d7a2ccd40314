"""Drives `traceval serve-model` with the official `openai` package, unchanged.

Usage: python3 openai_client.py BASE_URL
Prints one JSON object with what the SDK saw: a tool call (non-streamed), the final answer after
the tool result, the same conversation streamed (text and tool-call deltas reassembled by the
SDK's stream helpers), the usage chunk, a call that the script fails once with 429 (the SDK
retries it), and the model list.
"""
import json
import sys

import openai

client = openai.OpenAI(base_url=sys.argv[1], api_key="sk-test-not-a-secret", max_retries=2)
out = {}

messages = [{"role": "user", "content": "What's the weather in Paris?"}]
tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}}}}]

first = client.chat.completions.create(model="sunny", messages=messages, tools=tools)
call = first.choices[0].message.tool_calls[0]
out["tool_call"] = {"name": call.function.name, "arguments": json.loads(call.function.arguments),
                    "finish_reason": first.choices[0].finish_reason,
                    "usage": [first.usage.prompt_tokens, first.usage.completion_tokens],
                    "model": first.model}

messages.append(first.choices[0].message.model_dump(exclude_none=True))
messages.append({"role": "tool", "tool_call_id": call.id, "content": "18 C and sunny"})
second = client.chat.completions.create(model="sunny", messages=messages, tools=tools)
out["answer"] = second.choices[0].message.content

# Streamed: text deltas of the final answer, and tool-call deltas of the first turn.
stream = client.chat.completions.create(model="sunny", messages=messages, tools=tools,
                                        stream=True, stream_options={"include_usage": True})
text, usage = "", None
for chunk in stream:
    if chunk.choices and chunk.choices[0].delta.content:
        text += chunk.choices[0].delta.content
    if chunk.usage:
        usage = [chunk.usage.prompt_tokens, chunk.usage.completion_tokens]
out["streamed_answer"], out["streamed_usage"] = text, usage

with client.chat.completions.stream(model="sunny", messages=messages[:1], tools=tools) as s:
    final = s.get_final_completion()
streamed_call = final.choices[0].message.tool_calls[0]
out["streamed_tool_call"] = {"name": streamed_call.function.name,
                             "arguments": json.loads(streamed_call.function.arguments)}

flaky = client.chat.completions.with_raw_response.create(
    model="sunny", messages=[{"role": "user", "content": "flaky please"}])
out["after_retry"] = flaky.parse().choices[0].message.content
out["retries_taken"] = flaky.retries_taken

out["models"] = [m.id for m in client.models.list()]
print(json.dumps(out))
