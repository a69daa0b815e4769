"""Worked examples: for a task the student failed at a level within its reach, the teacher works through
fresh problems of the same kind (the way a tutor answers "I can't do this one" with two more done step by
step), and those become training samples.

Within reach means the round solved some other task of that skill and level: worked solutions of tasks
far past the student cost held-out accuracy (docs/history.md, "Worked teacher demonstrations": their
first loss 1.06 against 0.07 for its own answers). The problems are fresh training problems of the same
skill and level (make_task draws no held-out one, graphs/skills/splits.py), answered with the skill's
own worked solution, the form the embedded student was pretrained on (agents/pretraining.py). They are
not trajectories, so the store never sees them: each round's are written to the run folder (`worked/`),
where `cosr audit` checks them against the held-out splits with everything else a run trained on.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path

from cosr.domain import Task, Trajectory
from cosr.faults import write_whole
from cosr.graphs.context import Context
from cosr.training.backends import render_prompt
from cosr.training.data import Example

WORKED_DIR = "worked"  # in the run folder: round-NNN.json, each round's worked problems (id, skill, level, prompt)


def within_reach(verified: list[Trajectory]) -> set[tuple[str, int]]:
    """The (skill, level) pairs of which the round solved some task without help."""
    return {(t.task.skill, t.task.difficulty) for t in verified}


def practice_tasks(ctx: Context, unsolved: list[Trajectory], reach: set[tuple[str, int]], per_task: int,
                   rng: random.Random) -> list[Task]:
    """`per_task` fresh training problems of the skill and level of each unsolved task within reach, each
    with the provenance of the failed task (teacher attribution)."""
    return [ctx.skills.make_task(t.task.skill, t.task.difficulty, rng.randrange(2**31), provenance=t.task.provenance)
            for t in unsolved if (t.task.skill, t.task.difficulty) in reach for _ in range(per_task)]


def worked_examples(ctx: Context, tasks: list[Task]) -> list[tuple[Example, str]]:
    """Each task answered with its worked solution, as a training example with its strategy."""
    return [(Example(prompt=render_prompt(ctx.config.student, t.prompt), completion=" " + ctx.skills.worked_answer(t)),
             t.provenance.strategy) for t in tasks]


def record(run_dir: Path, rnd: int, tasks: list[Task]) -> None:
    """The round's worked problems, for `cosr audit`; written whole, or the round's old file stays."""
    folder = run_dir / WORKED_DIR
    folder.mkdir(parents=True, exist_ok=True)
    write_whole(folder / f"round-{rnd:03d}.json", json.dumps([[t.id, t.skill, t.difficulty, t.prompt] for t in tasks]))


def recorded(run_dir: Path) -> Iterator[tuple[str, str, int, str]]:
    """Every round's worked problems as written: (task id, skill, level, prompt)."""
    for path in sorted((run_dir / WORKED_DIR).glob("round-*.json")):
        try:
            rows = [(str(task_id), str(skill), int(level), str(prompt))
                    for task_id, skill, level, prompt in json.loads(path.read_text())]
        except (ValueError, TypeError) as e:  # not what record() writes: the audit cannot vouch for the run
            raise ValueError(f"{path} is not a list of (task id, skill, level, prompt) rows ({e}): the run's "
                             "worked examples cannot be audited") from None
        yield from rows
