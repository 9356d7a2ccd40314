"""A tiny deterministic OpenAI-compatible chat-completions server (stdlib only), for agents
that must run offline. Non-streaming `/v1/chat/completions` with tool calls and usage.

The answer depends only on the conversation: the first turn asks for `get_weather` with the
city named in the user's message; once a tool result is in the conversation, the model answers
with it. Usage is fixed per turn (prompt 120 / completion 18, then 165 / 12), so a test can
assert token totals exactly.
"""

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODEL = "gpt-4o-mini-2024-07-18"
USAGE = [(120, 18), (165, 12)]


def answer(body):
    messages = body.get("messages", [])
    turn = sum(1 for m in messages if m.get("role") == "assistant")
    prompt, completion = USAGE[min(turn, len(USAGE) - 1)]
    tool_results = [m for m in messages if m.get("role") == "tool"]
    if tool_results:
        message = {"role": "assistant", "content": tool_results[-1]["content"]}
        finish = "stop"
    else:
        user = next((m["content"] for m in reversed(messages) if m.get("role") == "user"), "")
        match = re.search(r"in ([A-Z][a-zA-Z ]*?)[?.!]?$", user.strip())
        if not match:
            message = {"role": "assistant", "content": "I can only tell the weather."}
            finish = "stop"
        else:
            call = {
                "id": f"call_{turn}_{match.group(1).lower().replace(' ', '_')}",
                "type": "function",
                "function": {"name": "get_weather", "arguments": json.dumps({"city": match.group(1)})},
            }
            message = {"role": "assistant", "content": None, "tool_calls": [call]}
            finish = "tool_calls"
    return {
        "id": f"chatcmpl-{turn}",
        "object": "chat.completion",
        "created": 0,
        "model": MODEL,
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                  "total_tokens": prompt + completion},
    }


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("content-length", 0))
        body = json.loads(self.rfile.read(length) or b"{}")
        data = json.dumps(answer(body)).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def start():
    """Starts the stub on 127.0.0.1, port 0, in a daemon thread; returns its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/v1"
