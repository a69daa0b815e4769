"""The HumanEval JSONL format: task lines (task_id, prompt, canonical_solution, test, entry_point)
and solution lines (task_id, completion). Read by the sandbox (`cosr verify`) and by the skill catalog
(a HumanEval file as a code skill's task source); a bad line is an error naming the file and line."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError


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
