"""A HumanEval-format JSONL file as a code skill's task source (induction from a docstring).

In a skill graph: `{name: my_functions, domain: code, generator: humaneval, levels: 1,
params: {path: tasks.jsonl}}`. The default path is a five-task sample shipped with cosr. The seed picks
the task; the program is prompt + answer, as in human-eval (an answer that repeats the whole function
simply redefines it), then the task's `test` and `check(entry_point)`.
"""

from __future__ import annotations

import random
from functools import lru_cache
from pathlib import Path

from cosr.domain import AnswerFormat, CodeCheck, Domain, VerifierKind
from cosr.graphs.skills.catalog import Problem, register_generator
from cosr.graphs.skills.catalog._guard import GUARD
from cosr.humaneval import HumanEvalTask, load_tasks

SAMPLE = Path(__file__).with_name("humaneval_sample.jsonl")


@lru_cache(maxsize=8)
def _tasks(path: str) -> tuple[HumanEvalTask, ...]:
    tasks = tuple(load_tasks(Path(path)))
    if not tasks:
        raise ValueError(f"{path}: no HumanEval tasks")
    return tasks


def humaneval(level: int, rng: random.Random, path: str = str(SAMPLE)) -> Problem:
    tasks = _tasks(str(path))
    task = tasks[rng.randrange(len(tasks))]
    return Problem(
        prompt=f"Complete this Python function:\n{task.prompt}",
        answer_format=AnswerFormat.CODE,
        verifier=VerifierKind.CODE,
        reference=task.canonical_solution,
        check=CodeCheck(harness=task.prompt + "{{answer}}\n" + GUARD,
                        tests=(task.test, f"check(__checked__({task.entry_point}))")),
        metadata={"task_id": task.task_id, "source": str(path)},
    )


register_generator("humaneval", humaneval, domain=Domain.CODE, levels=1,
                   description="tasks from a HumanEval-format JSONL file (params: path)")
