"""Rehearsal against forgetting: the student's own correct answers, before any training, on a broad
sample of training tasks (every skill and level), mixed into every round's data.

Why: a round's verified trajectories come from the few levels the Curator practises. Trained on them
alone, the student lost ~2 points on every level it could partly do before the run (three seeds,
-1.9/-2.3/-2.3 on 23 levels), and replaying earlier rounds' data did not stop it: that data is as
narrow. Rehearsing what the base student already got right (greedy, the way it is evaluated) keeps
those answers in the training distribution; no held-out problem is ever used (make_task draws only
training problems, graphs/skills/splits.py).

Measured: `cosr compare`'s random runs (seeds 0-2, nothing else changed) on the partly-known levels,
-1.8/-1.3/-1.9 -> -1.7/-0.1/-0.3; the default run (seed 0, zpd as it was) -1.9 -> -1.2, all skills
24.4% -> 25.0%, but its practised levels +9.4 -> +6.2. It cannot reach a small level's held-out
facts (one-digit division: 80 distinct tasks, 45 of them held out), and those are most of what is
still lost.
"""

from __future__ import annotations

import random

from cosr.agents.evaluator import answer
from cosr.domain import Provenance, Task
from cosr.graphs.context import Context

STRATEGY = "rehearsal"  # the provenance of a rehearsal example (teacher attribution)


def rehearsal_tasks(ctx: Context) -> list[Task]:
    """Up to `training.rehearsal_per_level` distinct training tasks per (skill, level) (make_task draws no
    held-out problem)."""
    n = ctx.config.training.rehearsal_per_level
    rng = random.Random(f"{ctx.config.training.rehearsal_seed}:rehearsal")
    why = Provenance(strategy=STRATEGY, reason="the base student's own answer, rehearsed")
    tasks = []
    for skill in ctx.skills.skills():
        for level in range(1, skill.levels + 1):
            seen: set[str] = set()
            for _ in range(4 * n):  # a small level has fewer than n distinct tasks: stop drawing after 4n
                if len(seen) >= n:
                    break
                task = ctx.skills.make_task(skill.name, level, rng.randrange(2**31), provenance=why)
                if (key := ctx.skills.identity(task)) not in seen:
                    seen.add(key)
                    tasks.append(task)
    return tasks


def rehearsal_rows(ctx: Context, tasks: list[Task]) -> list[tuple[str, str, int, str, str, bool]]:
    """The student's greedy answer to each task, as a rehearsal row: (task id, skill, level, prompt,
    output, verified correct). Rows are independent of each other, so the set can be answered in parts."""
    outputs, correct = answer(ctx.student, tasks, ctx.config.student, ctx.executor,
                              temperature=ctx.config.student.eval_temperature)
    return [(t.id, t.skill, t.difficulty, t.prompt, out, ok) for t, out, ok in zip(tasks, outputs, correct, strict=True)]


def rehearsal_set(ctx: Context) -> list[tuple[str, str]]:
    """(task prompt, output) of every rehearsal task the student answered correctly. Built the first
    time it is asked for, which is the first round's training (the student has no adapter yet), and
    stored, so a resumed run rehearses the same answers."""
    rows = ctx.store.rehearsal(ctx.run_id)
    if rows is None:
        ctx.store.add_rehearsal(ctx.run_id, rehearsal_rows(ctx, rehearsal_tasks(ctx)))
        rows = ctx.store.rehearsal(ctx.run_id) or []  # in the stored order, the one a resumed run reads
    return [(prompt, out) for _, _, _, prompt, out, ok in rows if ok]
