"""A model API stub for traceval's error tests, on 127.0.0.1 (port 0); prints its port, then
serves until killed. Every request's method and path is appended to LOG.

Usage: python3 model_stub.py MODE LOG
  openai     answers every POST with a chat completion saying "stub answer via openai"
  anthropic  answers every POST with a Messages API answer saying "stub answer via anthropic"
  NNN        answers every request with HTTP status NNN and an OpenAI-shaped error body
             (with `retry-after: 0`, so a client that honours it retries at once)
"""
import http.server
import json
import sys

mode, log = sys.argv[1], sys.argv[2]


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("content-length") or 0)
        self.rfile.read(length)
        with open(log, "a") as f:
            f.write(f"POST {self.path}\n")
        headers = {}
        if mode == "openai":
            status, body = 200, {
                "id": "chatcmpl-stub",
                "object": "chat.completion",
                "model": "stub-model",
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant",
                                         "content": "stub answer via openai"}}],
                "usage": {"prompt_tokens": 10, "completion_tokens": 5},
            }
        elif mode == "anthropic":
            status, body = 200, {
                "id": "msg_stub", "type": "message", "role": "assistant",
                "model": "stub-model", "stop_reason": "end_turn",
                "content": [{"type": "text", "text": "stub answer via anthropic"}],
                "usage": {"input_tokens": 10, "output_tokens": 5},
            }
        else:
            status = int(mode)
            body = {"error": {"message": f"stub says {status}", "type": "stub_error"}}
            headers["retry-after"] = "0"
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
