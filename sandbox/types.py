"""Typed requests and results of one execution, and the interface every executor meets."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from cosr.faults import SandboxDown


class ExecutionRequest(BaseModel):
    """Python source to run; then each test (a statement, usually an assert) in the same namespace."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    code: str
    tests: tuple[str, ...] = ()
    stdin: str = ""
    timeout_s: float | None = Field(default=None, gt=0, description="None: the executor's configured limit")


class TestResult(BaseModel):
    model_config = ConfigDict(frozen=True)
    __test__ = False  # not a pytest class
    index: int
    source: str
    passed: bool
    error: str = ""


ExecutionStatus = Literal["ok", "failed", "timeout", "memory", "error"]


class ExecutionResult(BaseModel):
    """What happened. `status` is "ok" only when the code and every test ran without an exception."""

    model_config = ConfigDict(frozen=True)
    status: ExecutionStatus
    exit_code: int | None = None
    stdout: str = ""
    stderr: str = ""
    timed_out: bool = False
    memory_exceeded: bool = False
    output_truncated: bool = False
    duration_s: float = 0.0
    tests: tuple[TestResult, ...] = ()
    # Why it did not pass, in one line: the code's exception, the limit it hit, or the sandbox's reason.
    error: str = ""

    @property
    def passed(self) -> bool:
        return self.status == "ok" and all(t.passed for t in self.tests)


class SandboxUnavailable(SandboxDown):
    """No engine, engine not running (or gone for longer than `sandbox.engine_wait_s`), or no image: raised
    with what to do about it."""


class Executor(Protocol):
    name: str

    def run(self, request: ExecutionRequest) -> ExecutionResult: ...

    def run_many(self, requests: Sequence[ExecutionRequest]) -> list[ExecutionResult]:
        """Run a batch, concurrently up to the executor's limit; results in request order."""
        ...

    def close(self) -> None: ...
