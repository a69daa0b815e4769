"""Host side of the runner protocol: the request line, answer lines read under a deadline, the typed result.

Both executors speak the same one-JSON-object-a-line protocol with `runner.py`; only the byte
stream differs (a local pipe, a container's attach socket), so the parsing and the verdict
rules live here once.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from cosr.config import SandboxConfig
from cosr.sandbox.types import ExecutionRequest, ExecutionResult, TestResult


class WorkerDied(RuntimeError):
    """The runner's stream closed or spoke garbage: the worker is gone and must be replaced."""


class WorkerTimeout(RuntimeError):
    """The runner did not answer within its limit plus grace (it is starved or stuck)."""


class LineReader:
    """Assembles lines from `recv(timeout_s) -> bytes` (b"" at end of stream, TimeoutError when idle)."""

    def __init__(self, recv: Callable[[float], bytes], max_line: int = 16 << 20) -> None:
        self._recv = recv
        self._buf = bytearray()
        self._max = max_line

    def readline(self, deadline: float) -> bytes:
        while True:
            nl = self._buf.find(b"\n")
            if nl >= 0:
                line = bytes(self._buf[: nl + 1])
                del self._buf[: nl + 1]
                return line
            if len(self._buf) > self._max:
                raise WorkerDied("runner answer exceeds the line limit")
            left = deadline - time.monotonic()
            if left <= 0:
                raise WorkerTimeout("runner did not answer in time")
            try:
                data = self._recv(left)
            except TimeoutError:
                continue
            if not data:
                raise WorkerDied("runner stream closed")
            self._buf += data

    def read_json(self, deadline: float) -> dict[str, Any]:
        line = self.readline(deadline)
        try:
            return json.loads(line)
        except ValueError:
            raise WorkerDied(f"runner sent a line that is not JSON: {line[:200]!r}") from None


def payload(req: ExecutionRequest, cfg: SandboxConfig, rlimits: dict[str, int] | None = None) -> bytes:
    body: dict[str, Any] = {
        "code": req.code,
        "tests": list(req.tests),
        "stdin": req.stdin,
        "timeout_s": req.timeout_s or cfg.timeout_s,
        "output_limit": cfg.output_limit_bytes,
    }
    if rlimits:
        body["rlimits"] = rlimits
    return (json.dumps(body) + "\n").encode()


def hit_limit_or_misbehaved(raw: dict[str, Any]) -> bool:
    """Whether the worker that produced `raw` must be replaced rather than reused."""
    return bool(
        raw["timed_out"] or raw["memory_exceeded"] or raw["output_truncated"] or raw["strays"] or not raw["clean"]
    )


def to_result(req: ExecutionRequest, raw: dict[str, Any]) -> ExecutionResult:
    """The verdict rules: a limit beats an exception beats a failed test beats ok."""
    code_error, reported = raw["code_error"], raw["tests"]
    timed_out, memory, exit_code = raw["timed_out"], raw["memory_exceeded"], raw["exit_code"]
    if timed_out:
        why = f"timed out after {req.timeout_s or raw['duration_s']:.3g}s"
    elif memory:
        why = "memory limit exceeded"
    elif code_error not in (None, "missing"):
        why = code_error
    elif exit_code not in (0, None):
        why = f"killed by signal {-exit_code}" if exit_code < 0 else f"exited with status {exit_code}"
    else:
        why = ""
    tests = []
    for i, source in enumerate(req.tests):
        key = str(i)
        if key in reported:
            tests.append(TestResult(index=i, source=source, passed=reported[key] is None, error=reported[key] or ""))
        else:
            tests.append(TestResult(index=i, source=source, passed=False, error=f"not run: {why or 'the process ended first'}"))
    failed_test = next((t for t in tests if not t.passed), None)
    if timed_out:
        status = "timeout"
    elif memory:
        status = "memory"
    elif why or failed_test is not None:
        status = "failed"
        why = why or f"test {failed_test.index} failed: {failed_test.error or 'assertion failed'}"
    else:
        status = "ok"
    return ExecutionResult(
        status=status,
        exit_code=exit_code,
        stdout=raw["stdout"],
        stderr=raw["stderr"],
        timed_out=timed_out,
        memory_exceeded=memory,
        output_truncated=raw["output_truncated"],
        duration_s=raw["duration_s"],
        tests=tuple(tests),
        error=why,
    )


def infrastructure_failure(req: ExecutionRequest, status: str, why: str, duration_s: float) -> ExecutionResult:
    """A result for an execution whose worker died or hung; every test counts as failed."""
    tests = tuple(TestResult(index=i, source=s, passed=False, error=f"not run: {why}") for i, s in enumerate(req.tests))
    return ExecutionResult(
        status=status,  # type: ignore[arg-type]
        timed_out=status == "timeout",
        duration_s=duration_s,
        tests=tests,
        error=why,
        stderr=f"sandbox: {why}",
    )
