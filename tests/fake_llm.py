"""A scripted OpenAI-compatible chat server on loopback: the real `openai`/LangChain clients talk to it.

Queue what the model does with `reply(...)`, `call(...)` (or several calls at once with `calls(...)`), `error(status)`
or `slow(seconds)`; every request body is kept in `requests` so tests can check what the model was shown.

A `profile` renders the script the way a real server does, each quirk taken from the server's documentation or
its issue tracker:

- `openai`: strict tool schemas are checked (a 400 for an object that is not closed or a property not required,
  as OpenAI's structured outputs refuse them) and several tool calls come in one message (parallel tool calls).
- `ollama`: the OpenAI endpoint's documented request fields do not include `tool_choice`, so it is ignored
  (ollama/ollama#4386), and tool arguments arrive as a JSON object, not a string (as Ollama's native API sends
  them; litellm#24095, llama.cpp#20198).
- `vllm`: started without `--enable-auto-tool-choice`: `tool_choice: "auto"` is a 400 ("\"auto\" tool choice
  requires --enable-auto-tool-choice and --tool-call-parser to be set", vllm#9986); a named `tool_choice` still
  gets a tool call (guided decoding, vllm#12349); otherwise the model's call comes back as plain text.
- `llamacpp`: llama.cpp's server without `--jinja`/a tool template: the call is JSON written into the message
  content, `{"name": ..., "parameters": {...}}` (llama-cpp-python#1856), `tool_choice` ignored.
- `extra`: a server that adds fields the OpenAI schema does not have (`timings`, `reasoning_content`,
  `system_fingerprint`, a `stop_reason` per choice), as llama.cpp and vLLM do.
- `timeout`: never answers in time.
- `plain` (default): the script as written.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PROFILES = ("openai", "ollama", "vllm", "llamacpp", "extra", "timeout")
VLLM_AUTO = '"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set'


def completion(message: dict, finish: str) -> dict:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 0,
        "model": "fake",
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def strict_problems(schema, path: str = "$") -> list[str]:
    """What OpenAI's strict mode refuses in a schema: an object without additionalProperties false, a property
    not listed as required, a $ref/$defs (the schema must be self-contained here)."""
    out = []
    if isinstance(schema, dict):
        if "$ref" in schema or "$defs" in schema:
            out.append(f"{path}: $ref/$defs")
        if schema.get("type") == "object" or (isinstance(schema.get("type"), list) and "object" in schema["type"]):
            if schema.get("additionalProperties") is not False:
                out.append(f"{path}: additionalProperties must be false")
            if sorted(schema.get("required", [])) != sorted(schema.get("properties", {})):
                out.append(f"{path}: every property must be required")
        for k, v in schema.items():
            out += strict_problems(v, f"{path}.{k}")
    elif isinstance(schema, list):
        for i, v in enumerate(schema):
            out += strict_problems(v, f"{path}[{i}]")
    return out


class FakeLLM:
    def __init__(self, profile: str = "plain", models: list[str] | None = None, host: str = "127.0.0.1"):
        self.profile = profile
        self.models = ["fake"] if models is None else models
        self.script: list[tuple] = []
        self.requests: list[dict] = []
        self.default: tuple | None = None
        self.timeout_s = 3.0  # how long the `timeout` profile sleeps
        self.models_asked = 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                if self.path.rstrip("/").endswith("/models"):
                    fake.models_asked += 1
                    data = [{"id": m, "object": "model", "created": 0, "owned_by": "fake"} for m in fake.models]
                    return self._send(200, {"object": "list", "data": data})
                self._send(404, {"error": {"message": "not found"}})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
                fake.requests.append(body)
                status, payload = fake._respond(body)
                self._send(status, payload)

            def _send(self, status: int, payload: dict) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    # -- the script ---------------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def reply(self, text: str) -> FakeLLM:
        self.script.append(("text", text))
        return self

    def call(self, name: str, args: dict | str, call_id: str = "call_1") -> FakeLLM:
        return self.calls((name, args, call_id))

    def calls(self, *calls: tuple) -> FakeLLM:
        """Several tool calls in one message: (name, args, id) each."""
        self.script.append(("calls", [c if len(c) == 3 else (*c, f"call_{i}") for i, c in enumerate(calls)]))
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

    # -- rendering, per profile ---------------------------------------------------------------------------------

    def _respond(self, body: dict) -> tuple[int, dict]:
        if self.profile == "timeout":
            time.sleep(self.timeout_s)
            return 200, completion({"role": "assistant", "content": "too late"}, "stop")
        if self.profile == "openai":
            for tool in body.get("tools") or []:
                fn = tool.get("function", {})
                problems = strict_problems(fn.get("parameters", {})) if fn.get("strict") else []
                if problems:
                    return 400, _error(f"Invalid schema for function '{fn.get('name')}': {problems[0]}")
        choice = body.get("tool_choice")
        if self.profile == "vllm" and choice == "auto":
            return 400, _error(VLLM_AUTO)
        kind, payload = self.script.pop(0) if self.script else (self.default or ("error", 500))
        if kind == "slow":
            time.sleep(payload)
            kind, payload = "text", "too late"
        if kind == "error":
            return payload, {"error": {"message": "scripted failure", "type": "server_error"}}
        if kind == "json":  # a raw completion, as given
            return 200, payload
        if kind == "text":
            return 200, self._extra(completion({"role": "assistant", "content": payload}, "stop"))
        return 200, self._extra(self._render_calls(payload, forced=isinstance(choice, dict)))

    def _render_calls(self, calls: list[tuple], forced: bool) -> dict:
        def args_text(args) -> str:
            return args if isinstance(args, str) else json.dumps(args)

        if self.profile == "llamacpp" or (self.profile == "vllm" and not forced):
            if self.profile == "vllm":  # no tool parser: the model's intent is only words
                return completion({"role": "assistant", "content": "I will search the images for you."}, "stop")
            written = "\n".join(
                json.dumps({"name": n, "parameters": a if isinstance(a, dict) else args_text(a)}) for n, a, _ in calls
            )
            return completion({"role": "assistant", "content": written}, "stop")
        tool_calls = []
        for name, args, call_id in calls:
            arguments = args if self.profile == "ollama" and isinstance(args, dict) else args_text(args)
            tool_calls.append({"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}})
        return completion({"role": "assistant", "content": None, "tool_calls": tool_calls}, "tool_calls")

    def _extra(self, out: dict) -> dict:
        if self.profile != "extra":
            return out
        out["system_fingerprint"] = "b1234-fake"
        out["timings"] = {"prompt_n": 12, "predicted_ms": 3.5}
        for c in out["choices"]:
            c["stop_reason"] = None
            c["message"]["reasoning_content"] = "thinking about the search"
        return out

    # -- what the tests read ------------------------------------------------------------------------------------

    def tool_answers(self) -> list[str]:
        """Every tool result the model was sent, as tool messages or as text results, in order, without repeats."""
        seen, out = set(), []
        for req in self.requests:
            for i, m in enumerate(req.get("messages", [])):
                content = m.get("content") or ""
                if (m["role"] == "tool" or content.startswith("Tool results:")) and (i, content) not in seen:
                    seen.add((i, content))
                    out.append(content)
        return out


def _error(message: str) -> dict:
    return {"error": {"message": message, "type": "invalid_request_error", "code": 400}}


def lan_address() -> str | None:
    """This machine's address on its network (not loopback), for a test server the planner must treat as remote;
    None where there is none. A UDP connect sends nothing: it only picks the interface."""
    import socket

    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.connect(("10.255.255.255", 1))
        address = s.getsockname()[0]
    except OSError:
        return None
    finally:
        s.close()
    return None if address.startswith("127.") else address
