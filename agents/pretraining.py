"""The embedded student's pretraining stream, in one place: `cosr student build` trains on it and
`cosr audit --student` replays it. Beside the trainer: catalog tasks answered with their worked
solutions, the way a round's demonstrations are written."""

from __future__ import annotations

import random
from collections.abc import Iterator

from cosr.config import StudentConfig
from cosr.domain import Task
from cosr.training.backends import render_prompt
from cosr.training.data import Example


def pretraining_tasks(skills, n: int, seed: int) -> Iterator[Task]:
    """The embedded student's pretraining tasks, in order: the easiest levels of the catalog (3/4 level 1,
    1/4 level 2), training problems only (make_task draws no held-out one). `cosr audit` replays this."""
    rng = random.Random(seed)
    names = skills.names()
    for _ in range(n):
        yield skills.make_task(rng.choice(names), 1 if rng.random() < 0.75 else 2, rng.randrange(2**31))


def embedded_examples(skills, student: StudentConfig, n: int, seed: int) -> list[Example]:
    """Pretraining data for the embedded student, each math task answered with its worked solution (a
    student that writes the steps composes them: it solves longer chains than it was shown)."""
    return [Example(render_prompt(student, t.prompt), " " + skills.worked_answer(t))
            for t in pretraining_tasks(skills, n, seed)]
