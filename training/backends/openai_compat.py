"""A student served over the OpenAI protocol (vLLM, or any compatible server), through langchain-openai.

Base models go to /v1/completions, instruction models (use_chat_template) to /v1/chat/completions.
A LoRA adapter is loaded into the running server with vLLM's /v1/load_lora_adapter and then
addressed by its name as the model.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

from cosr.config import StudentConfig
from cosr.training.backends import Generation, render_prompt


class StudentUnavailable(RuntimeError):
    pass


class OpenAIStudent:
    def __init__(self, cfg: StudentConfig) -> None:
        if not cfg.base_url or not cfg.model:
            raise ValueError("the openai backend needs student.base_url and student.model (the served model name)")
        self.cfg = cfg
        self.id = f"openai:{cfg.model}"
        self.model_name = cfg.model
        self.adapter_version: str | None = None
        self.trainable_path: Path | None = cfg.weights
        self.api_key = os.environ.get(cfg.api_key_env, "EMPTY")

    def _client(self, temperature: float, max_new_tokens: int):
        common = dict(model=self.model_name, base_url=self.cfg.base_url, api_key=self.api_key, temperature=temperature,
                      max_tokens=max_new_tokens, timeout=self.cfg.request_timeout_s, max_retries=1)
        if self.cfg.use_chat_template:
            from langchain_openai import ChatOpenAI

            return ChatOpenAI(**common)
        from langchain_openai import OpenAI

        return OpenAI(**common)

    def generate(self, prompts: Sequence[str], *, temperature: float, max_new_tokens: int) -> list[Generation]:
        import openai

        llm = self._client(temperature, max_new_tokens)
        t0 = time.perf_counter()
        try:
            replies = llm.batch([render_prompt(self.cfg, p) for p in prompts],
                                config={"max_concurrency": self.cfg.concurrency})
        except (openai.APIConnectionError, openai.APITimeoutError, openai.NotFoundError) as e:
            raise StudentUnavailable(f"the student server at {self.cfg.base_url} did not answer: {e}") from e
        dt = (time.perf_counter() - t0) / max(1, len(prompts))
        out = []
        for r in replies:
            text = r if isinstance(r, str) else str(r.content)
            usage = getattr(r, "usage_metadata", None) or {}
            out.append(Generation(text, int(usage.get("output_tokens", 0)), dt))
        return out

    def load_adapter(self, path: Path, version: str) -> None:
        """Load the adapter into the running server (VLLM_ALLOW_RUNTIME_LORA_UPDATING=True) and use it."""
        root = self.cfg.base_url.rstrip("/")  # type: ignore[union-attr]
        r = httpx.post(f"{root}/load_lora_adapter", json={"lora_name": version, "lora_path": str(path.resolve())},
                       headers={"Authorization": f"Bearer {self.api_key}"}, timeout=self.cfg.request_timeout_s)
        if r.status_code != 200:
            raise StudentUnavailable(f"the server refused adapter {version} ({r.status_code}): {r.text[:300]}")
        self.model_name = self.adapter_version = version

    def close(self) -> None:
        pass
