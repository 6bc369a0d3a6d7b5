"""A scripted OpenAI-compatible chat server on loopback: the real `openai`/LangChain clients talk to it.

Queue responses with `reply(...)`, `call(...)`, `error(status)` or `slow(seconds)`; every request body is kept
in `requests` so tests can check what the model was shown.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def completion(message: dict, finish: str) -> dict:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 0,
        "model": "fake",
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


class FakeLLM:
    def __init__(self):
        self.script: list[tuple] = []
        self.requests: list[dict] = []
        self.default: tuple | None = None
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
                fake.requests.append(body)
                kind, payload = fake.script.pop(0) if fake.script else (fake.default or ("error", 500))
                if kind == "slow":
                    time.sleep(payload)
                    kind, payload = "text", "too late"
                if kind == "error":
                    data = json.dumps({"error": {"message": "scripted failure", "type": "server_error"}}).encode()
                    self.send_response(payload)
                else:
                    data = json.dumps(payload).encode()
                    self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def reply(self, text: str) -> FakeLLM:
        self.script.append(("json", completion({"role": "assistant", "content": text}, "stop")))
        return self

    def call(self, name: str, args: dict | str, call_id: str = "call_1") -> FakeLLM:
        arguments = args if isinstance(args, str) else json.dumps(args)
        msg = {
            "role": "assistant",
            "content": None,
            "tool_calls": [{"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}],
        }
        self.script.append(("json", completion(msg, "tool_calls")))
        return self

    def error(self, status: int, times: int = 1) -> FakeLLM:
        self.script += [("error", status)] * times
        return self

    def slow(self, seconds: float) -> FakeLLM:
        self.script.append(("slow", seconds))
        return self

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
