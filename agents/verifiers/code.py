"""Code answers: the task's harness with the answer spliced in runs in the sandbox against its tests.

A literal answer (`What is f(6)?`) is spliced in as code, so it must be a plain literal, checked here before
anything runs: `f(6)` would have the harness compute the answer, and a name or an expression could reach
into the harness. What a program may return is the tests' business (`graphs/skills/catalog/_guard.py`).
"""

from __future__ import annotations

import ast
from collections.abc import Sequence

from cosr.agents.verifiers import VERIFIERS
from cosr.domain import AnswerFormat, Task, TestOutcome, Verdict, VerifierKind
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


def _signed_number(node: ast.AST) -> bool:
    return (isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd)
            and isinstance(node.operand, ast.Constant) and type(node.operand.value) in (int, float, complex))


def literal(answer: str) -> tuple[str | None, str]:
    """(the answer as the literal's own source, "") for a plain Python literal, else (None, why it is not one)."""
    try:
        tree = ast.parse(answer.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None, "not a Python literal"
    allowed = (ast.Expression, ast.Constant, ast.List, ast.Tuple, ast.Set, ast.Dict, ast.Load, ast.USub, ast.UAdd)
    for node in ast.walk(tree):
        if isinstance(node, allowed) or _signed_number(node):
            continue
        kind = ("a call" if isinstance(node, ast.Call) else
                "a name" if isinstance(node, ast.Name | ast.Attribute) else "an expression")
        return None, f"{kind}, not a literal: {ast.unparse(node)[:60]}"
    return ast.unparse(tree), ""  # unparsed: no comment in the answer can hide the harness's closing bracket


def _request(task: Task, answer: str) -> ExecutionRequest | Verdict:
    """What to run for this answer, or the verdict when nothing need run."""
    if task.check is None or not task.check.tests:  # the program merely running would count as passing
        return Verdict(correct=False, score=0.0, status="error", details="the task has no tests: nothing checks it")
    if task.answer_format is AnswerFormat.LITERAL:
        source, why = literal(answer)
        if source is None:
            return Verdict(correct=False, score=0.0, status="wrong", details=why)
        answer = source
    return ExecutionRequest(code=task.check.program(answer), tests=task.check.tests)


def verify_code(tasks: Sequence[Task], answers: Sequence[str], executor: Executor | None) -> list[Verdict]:
    if executor is None:
        raise NoExecutor("code verification needs a sandbox executor (see `cosr sandbox check`)")
    requests = [_request(t, a) for t, a in zip(tasks, answers, strict=True)]
    runs = [r for r in requests if isinstance(r, ExecutionRequest)]
    results = iter(executor.run_many(runs) if runs else [])
    return [_verdict(next(results)) if isinstance(r, ExecutionRequest) else r for r in requests]


VERIFIERS.register(VerifierKind.CODE, verify_code)
