"""A real HTTP server on 127.0.0.1 that speaks the OpenAI protocol with scripted replies.

It stands in for a curator LLM or a served student in tests: the client code, HTTP and JSON are real;
only the model behind them is a function."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self

Reply = Callable[[str, str], str]  # (model, prompt) -> text


class ScriptedOpenAIServer:
    def __init__(self, reply: Reply) -> None:
        self.reply = reply
        self.requests: list[dict] = []
        self.adapters: dict[str, str] = {}
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def _send(self, code: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                owner.requests.append({"path": self.path, **body})
                model = body.get("model", "")
                if self.path.endswith("/load_lora_adapter"):
                    owner.adapters[body["lora_name"]] = body["lora_path"]
                    return self._send(200, {"status": "ok"})
                if self.path.endswith("/chat/completions"):
                    text = owner.reply(model, body["messages"][-1]["content"])
                    choice = {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
                    return self._send(200, {"id": "x", "object": "chat.completion", "created": 0, "model": model,
                                            "choices": [choice], "usage": {"prompt_tokens": 1, "completion_tokens": 1,
                                                                           "total_tokens": 2}})
                if self.path.endswith("/completions"):
                    prompts = body["prompt"] if isinstance(body["prompt"], list) else [body["prompt"]]
                    choices = [{"index": i, "text": owner.reply(model, p), "finish_reason": "stop", "logprobs": None}
                               for i, p in enumerate(prompts)]
                    return self._send(200, {"id": "x", "object": "text_completion", "created": 0, "model": model,
                                            "choices": choices, "usage": {"prompt_tokens": 1, "completion_tokens": 1,
                                                                          "total_tokens": 2}})
                return self._send(404, {"error": {"message": f"no route {self.path}"}})

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
