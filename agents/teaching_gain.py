"""What each teacher's own examples bought: the held-out gain, on the validation split, at the levels its
examples of a round sit at, measured just before and just after the round's training. The `teachers`
strategy (agents/curriculum/teachers.py) moves its budget by these gains; a run of any other strategy
does not pay for the measurement.

Validation, not the run's split: a bandit that chose by test gains would tune the run to its own yardstick.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from cosr.agents.evaluator import evaluate_student
from cosr.graphs.context import Context
from cosr.graphs.skills import splits
from cosr.training.evaluation import label, parse_label, per_level

# Validation tasks a skill for the measurement (40 a level at three levels), answered greedily twice a round
# over the levels the round trained; a teacher's gain is read over all its levels' tasks, not one level's.
PER_SKILL = 120


def measures_teachers(ctx: Context) -> bool:
    return callable(getattr(ctx.strategy, "feedback", None))


def arm_examples(ctx: Context, rnd: int) -> dict[str, Counter[str]]:
    """Per arm (a task's provenance strategy), the "skill@Llevel" pairs of the round's verified samples, helped
    ones too: the examples the round trains on, apart from replay and rehearsal."""
    by_strategy = ctx.store.verified_by_strategy(ctx.run_id).get(rnd, {})
    return {arm: Counter({label(p): n for p, n in pairs.items()}) for arm, pairs in by_strategy.items()}


def validation_counts(ctx: Context, pairs: set[str]) -> dict[str, tuple[int, int]]:
    """(solved, total) per "skill@Llevel" pair on the validation split, greedy, with the student as it is now."""
    wanted = {parse_label(p) for p in pairs}
    levels = sorted({level for _, level in wanted})
    tasks = [t for t in splits.heldout_tasks(ctx.skills, PER_SKILL, levels, "validation")
             if (t.skill, t.difficulty) in wanted]
    solved = evaluate_student(ctx.student, tasks, ctx.config.student, ctx.executor)
    return {label(p): counts for p, counts in per_level(tasks, solved).items()}


def history(ctx: Context) -> list[dict[str, Any]]:
    """The attributed gains of every finished round, in order (stored with each round: a resumed run reads them)."""
    rounds = ctx.store.rounds(ctx.run_id)
    return [rounds[r]["teachers"] for r in sorted(rounds) if "teachers" in rounds[r]]
