"""A student served over the OpenAI protocol (vLLM, or any compatible server), through langchain-openai.

Base models go to /v1/completions, instruction models (use_chat_template) to /v1/chat/completions.
A LoRA adapter is loaded into the running server with vLLM's /v1/load_lora_adapter and then
addressed by its name as the model; with the served weights at hand (student.weights) a probe checks
that the server really serves it, since sampling from a stale policy unnoticed is the failure to avoid.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

from cosr.config import StudentConfig
from cosr.training.backends import BACKENDS, Generation, continued, render_prompt


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
        self.continues_answers = not cfg.use_chat_template  # /completions continues a prompt; chat closes the turn
        self.last_probe = None  # the adapter probe of the last load_adapter, when one ran
        self.api_key = os.environ.get(cfg.api_key_env, "EMPTY")

    def _client(self, temperature: float, max_new_tokens: int):
        common = dict(model=self.model_name, base_url=self.cfg.base_url, api_key=self.api_key, temperature=temperature,
                      max_tokens=max_new_tokens, timeout=self.cfg.request_timeout_s, max_retries=1)
        if self.cfg.use_chat_template:
            from langchain_openai import ChatOpenAI

            return ChatOpenAI(**common)
        from langchain_openai import OpenAI

        return OpenAI(**common)

    def generate(self, prompts: Sequence[str], *, temperature: float, max_new_tokens: int,
                 starts: Sequence[str] | None = None) -> list[Generation]:
        import openai

        if starts is not None and not self.continues_answers:
            raise ValueError("a chat endpoint cannot continue a given answer start (student.use_chat_template)")
        llm = self._client(temperature, max_new_tokens)
        t0 = time.perf_counter()
        try:
            replies = llm.batch(continued([render_prompt(self.cfg, p) for p in prompts], starts),
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
        """Load the adapter into the running server (VLLM_ALLOW_RUNTIME_LORA_UPDATING=True) and use it.

        With student.weights set (and adapter_probe on), a probe checks that the server now really
        serves this adapter under `version`, or raises StaleAdapter and keeps the previous model.
        """
        path = path.resolve()
        r = self._lora("load_lora_adapter", {"lora_name": version, "lora_path": str(path)})
        if r.status_code == 400 and "already been loaded" in r.text:
            # A resumed run on the same server: the name may hold another run's files. Load it afresh.
            self._lora("unload_lora_adapter", {"lora_name": version})
            r = self._lora("load_lora_adapter", {"lora_name": version, "lora_path": str(path)})
        if r.status_code != 200:
            raise StudentUnavailable(f"the server refused adapter {version} ({r.status_code}): {r.text[:300]}")
        if self.cfg.weights is not None and self.cfg.adapter_probe:
            from cosr.training.adapter_probe import probe_adapter

            self.last_probe = probe_adapter(
                base_url=self.cfg.base_url, base_model=self.cfg.model, adapter_name=version,  # type: ignore[arg-type]
                adapter_dir=path, weights=self.cfg.weights, tolerance=self.cfg.adapter_probe_tolerance,
                prompt=render_prompt(self.cfg, self.cfg.adapter_probe_prompt),
                api_key=self.api_key, timeout=self.cfg.request_timeout_s)
        self.model_name = self.adapter_version = version

    def _lora(self, endpoint: str, body: dict) -> httpx.Response:
        root = self.cfg.base_url.rstrip("/")  # type: ignore[union-attr]
        try:
            return httpx.post(f"{root}/{endpoint}", json=body, headers={"Authorization": f"Bearer {self.api_key}"},
                              timeout=self.cfg.request_timeout_s)
        except httpx.HTTPError as e:
            raise StudentUnavailable(f"the student server at {self.cfg.base_url} did not answer: {e}") from e

    def close(self) -> None:
        pass


BACKENDS.register("openai", OpenAIStudent)
