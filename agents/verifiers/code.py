"""Code answers: the task's harness with the answer spliced in runs in the sandbox against its tests."""

from __future__ import annotations

from collections.abc import Sequence

from cosr.agents.verifiers import VERIFIERS
from cosr.domain import Task, TestOutcome, Verdict, VerifierKind
from cosr.sandbox.types import ExecutionRequest, ExecutionResult, Executor


class NoExecutor(RuntimeError):
    pass


def _verdict(result: ExecutionResult) -> Verdict:
    tests = tuple(TestOutcome(test=t.source, passed=t.passed, error=t.error) for t in result.tests)
    passed = sum(t.passed for t in tests)
    score = passed / len(tests) if tests else float(result.status == "ok")
    common = dict(tests=tests, stdout=result.stdout, stderr=result.stderr, duration_s=result.duration_s)
    if result.passed:
        return Verdict(correct=True, score=1.0, status="correct", details=f"{passed}/{len(tests)} tests passed", **common)
    if result.timed_out:
        return Verdict(correct=False, score=score, status="timeout", details="time limit exceeded", **common)
    if result.status in ("memory", "error"):
        why = "memory limit exceeded" if result.memory_exceeded else (result.stderr.strip().splitlines() or ["sandbox error"])[-1]
        return Verdict(correct=False, score=score, status="error", details=why, **common)
    failed = next((t for t in tests if not t.passed), None)
    details = f"{passed}/{len(tests)} tests passed" + (f"; failed: {failed.test} ({failed.error})" if failed else "")
    if result.status == "failed" and not tests:
        details = (result.stderr.strip().splitlines() or ["the program failed"])[-1]
    return Verdict(correct=False, score=score, status="wrong", details=details, **common)


def verify_code(tasks: Sequence[Task], answers: Sequence[str], executor: Executor | None) -> list[Verdict]:
    if executor is None:
        raise NoExecutor("code verification needs a sandbox executor (see `cosr sandbox check`)")
    requests = [ExecutionRequest(code=t.check.program(a), tests=t.check.tests) for t, a in zip(tasks, answers, strict=True)]  # type: ignore[union-attr]
    return [_verdict(r) for r in executor.run_many(requests)]


VERIFIERS.register(VerifierKind.CODE, verify_code)
