"""A student served over the OpenAI protocol (vLLM, or any compatible server), through langchain-openai.

Base models go to /v1/completions, instruction models (use_chat_template) to /v1/chat/completions.
A LoRA adapter is loaded into the running server with vLLM's /v1/load_lora_adapter and then
addressed by its name as the model; with the served weights at hand (student.weights) a probe checks
that the server really serves it, since sampling from a stale policy unnoticed is the failure to avoid.

The server may die and come back (a crash, an OOM kill, an operator's restart) while a run goes on.
Every request retries an unreachable or starting server with bounded exponential backoff for up to
student.server_wait_s; a restarted vLLM has forgotten the adapters loaded at run time, so once it
answers the current adapter is loaded and probed again before any generation uses it.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import httpx

from cosr.config import StudentConfig
from cosr.faults import StudentDown
from cosr.training.adapter_probe import LocalProbe, ModelNotServed
from cosr.training.backends import BACKENDS, Generation, continued, render_prompt

log = logging.getLogger(__name__)
T = TypeVar("T")
# Backoff between tries: 0.5 s doubling to 5 s, so a server back after its ~40 s start-up is used within 5 s.
FIRST_DELAY_S, MAX_DELAY_S = 0.5, 5.0


class StudentUnavailable(StudentDown):
    """The student's server did not answer, or refused what the run needs from it."""


class OpenAIStudent:
    def __init__(self, cfg: StudentConfig) -> None:
        if not cfg.base_url or not cfg.model:
            raise ValueError("the openai backend needs student.base_url and student.model (the served model name)")
        self.cfg = cfg
        self.id = f"openai:{cfg.model}"
        self.model_name = cfg.model
        self.adapter_version: str | None = None
        self.adapter_dir: Path | None = None  # the current adapter's folder, to load again on a restarted server
        self.trainable_path: Path | None = cfg.weights
        self.continues_answers = not cfg.use_chat_template  # /completions continues a prompt; chat closes the turn
        self.last_probe = None  # the adapter probe of the last load (or reload), when one ran
        self.reloads = 0  # how often an adapter in use was loaded again (and probed) after the server went away
        self.api_key = os.environ.get(cfg.api_key_env, "EMPTY")
        self._lost_adapter = False  # the server went away since the adapter was loaded: load it again first
        self._probe: LocalProbe | None = None  # the local half of the current adapter's probe, for its reloads

    def _client(self, temperature: float, max_new_tokens: int):
        # max_retries=0: the client's own retries would stack on _call's, past student.server_wait_s
        common = {"model": self.model_name, "base_url": self.cfg.base_url, "api_key": self.api_key,
                  "temperature": temperature, "max_tokens": max_new_tokens, "timeout": self.cfg.request_timeout_s,
                  "max_retries": 0}
        if self.cfg.use_chat_template:
            from langchain_openai import ChatOpenAI

            return ChatOpenAI(**common)
        from langchain_openai import OpenAI

        return OpenAI(**common)

    def generate(self, prompts: Sequence[str], *, temperature: float, max_new_tokens: int,
                 starts: Sequence[str] | None = None) -> list[Generation]:
        if starts is not None and not self.continues_answers:
            raise ValueError("a chat endpoint cannot continue a given answer start (student.use_chat_template)")
        llm = self._client(temperature, max_new_tokens)
        texts = continued([render_prompt(self.cfg, p) for p in prompts], starts)
        t0 = time.perf_counter()
        replies = self._call(lambda: llm.batch(texts, config={"max_concurrency": self.cfg.concurrency}))
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
        probe = self._probe_locally(path)  # before the load: the server is asked only once the local half is known
        self._call(lambda: self._load(path, version, probe), reload=False)
        self.model_name = self.adapter_version = version
        self.adapter_dir, self._probe, self._lost_adapter = path, probe, False

    def _load(self, path: Path, version: str, probe: LocalProbe | None) -> None:
        r = self._lora("load_lora_adapter", {"lora_name": version, "lora_path": str(path)})
        if r.status_code == 400 and "already been loaded" in r.text:
            # A resumed run on the same server: the name may hold another run's files. Load it afresh.
            self._lora("unload_lora_adapter", {"lora_name": version})
            r = self._lora("load_lora_adapter", {"lora_name": version, "lora_path": str(path)})
        if r.status_code >= 500:  # starting, or failing: _call waits for it
            r.raise_for_status()
        if r.status_code != 200:
            raise StudentUnavailable(f"the server at {self.cfg.base_url} refused adapter {version} ({r.status_code}): "
                                     f"{' '.join(r.text[:300].split())}")
        if probe is not None:
            from cosr.training.adapter_probe import check_served

            self.last_probe = check_served(
                probe, base_url=self.cfg.base_url, base_model=self.cfg.model, adapter_name=version,  # type: ignore[arg-type]
                adapter_dir=path, weights=self.cfg.weights, upper=self.cfg.adapter_probe_tolerance,  # type: ignore[arg-type]
                api_key=self.api_key, timeout=self.cfg.request_timeout_s)

    def _probe_locally(self, path: Path) -> LocalProbe | None:
        if self.cfg.weights is None or not self.cfg.adapter_probe:
            return None
        from cosr.training.adapter_probe import local_probe

        return local_probe(self.cfg.weights, path, render_prompt(self.cfg, self.cfg.adapter_probe_prompt))

    def _call(self, request: Callable[[], T], *, reload: bool = True) -> T:
        """`request()`, retried while the server is away (up to server_wait_s); with `reload`, the current
        adapter is loaded and probed again first whenever the server may have lost it."""
        down_since, delay = None, FIRST_DELAY_S
        while True:
            try:
                if reload and self._lost_adapter and self.adapter_dir is not None:
                    self._load(self.adapter_dir, self.adapter_version, self._probe)  # type: ignore[arg-type]
                    self._lost_adapter = False
                    self.reloads += 1
                    log.warning("adapter %s loaded again into the student server at %s (a restarted vLLM forgets "
                                "it) and checked", self.adapter_version, self.cfg.base_url)
                result = request()
            except Exception as e:
                reason = self._outage(e)
                if reason is None:
                    raise
                now = time.monotonic()
                if down_since is None:
                    down_since = now
                    log.warning("the student server at %s is not answering (%s); retrying for up to %g s "
                                "(student.server_wait_s)", self.cfg.base_url, reason, self.cfg.server_wait_s)
                waited = now - down_since
                if waited + 1e-3 >= self.cfg.server_wait_s:
                    raise StudentUnavailable(
                        f"the student server at {self.cfg.base_url} did not answer for {waited:.0f} s ({reason}; "
                        f"student.server_wait_s = {self.cfg.server_wait_s:g}): {_bring_back(self.cfg)}") from None
                time.sleep(min(delay, self.cfg.server_wait_s - waited))
                delay = min(2 * delay, MAX_DELAY_S)
                continue
            if down_since is not None:
                log.warning("the student server at %s answers again, after %.0f s", self.cfg.base_url,
                            time.monotonic() - down_since)
            return result

    def _outage(self, e: Exception) -> str | None:
        """Why the server is away, when `e` says it is (unreachable, starting, restarted without our adapter);
        None for an error of another kind. Every outage may have restarted the server: the adapter is reloaded."""
        import openai

        if isinstance(e, openai.NotFoundError | ModelNotServed):
            if self.adapter_version is None or self.adapter_version not in str(e):
                raise StudentUnavailable(f"the student server at {self.cfg.base_url} does not serve the model asked "
                                         f"for ({_cause(e)}); student.model is {self.cfg.model!r}") from None
            reason = f"it no longer knows adapter {self.adapter_version}: restarted?"
        elif isinstance(e, openai.APIConnectionError | httpx.TransportError):
            reason = _cause(e)
        elif isinstance(e, openai.InternalServerError):
            reason = f"HTTP {e.status_code}"
        elif isinstance(e, httpx.HTTPStatusError) and e.response.status_code >= 500:
            reason = f"HTTP {e.response.status_code}"
        else:
            return None
        self._lost_adapter = self.adapter_version is not None
        return reason

    def _lora(self, endpoint: str, body: dict) -> httpx.Response:
        root = self.cfg.base_url.rstrip("/")  # type: ignore[union-attr]
        return httpx.post(f"{root}/{endpoint}", json=body, headers={"Authorization": f"Bearer {self.api_key}"},
                          timeout=self.cfg.request_timeout_s)

    def close(self) -> None:
        pass


def _bring_back(cfg: StudentConfig) -> str:
    """How to start the server again: the README's serving command, filled in with what the config knows."""
    from urllib.parse import urlparse

    port = urlparse(cfg.base_url).port or 8000
    return (f"start it again, e.g. python -m cosr.training.serving {cfg.weights or 'MODEL_DIR'} --served-name "
            f"{cfg.model} --dtype float32 --port {port} (README \"Serving with vLLM\"; bash scripts/vllm-up.sh "
            "installs vLLM)")


def _cause(e: BaseException) -> str:
    """The innermost cause's words (openai says only "Connection error."; httpx says "Connection refused")."""
    while e.__cause__ is not None:
        e = e.__cause__
    return " ".join(str(e).split())[:200] or type(e).__name__


BACKENDS.register("openai", OpenAIStudent)
