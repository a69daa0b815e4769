"""Curriculum strategies, one a file, registered by name: how the Curator picks skill and difficulty.

A strategy sees the Diagnostician's mastery and the skill graph and returns `n` picks; the Curator
turns picks into tasks and records the strategy as each task's provenance. A strategy that writes
its own tasks (`llm`) also has `write_tasks(picks, ctx, rng) -> Written`; the Curator then hands out
what it wrote instead of drawing from the skill generators.
"""

from __future__ import annotations

import importlib
import pkgutil
import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from cosr.config import CuratorConfig
from cosr.domain import Mastery, Task, success_at
from cosr.registry import Registry

if TYPE_CHECKING:
    from cosr.graphs.skills import SkillGraph


@dataclass(frozen=True)
class Pick:
    skill: str
    level: int
    reason: str
    arm: str | None = None  # which arm of a composite strategy (`teachers`) chose it; the task's provenance


FRESH = 256  # distinct tasks in 256 draws: a smaller level is partly memorised, not learnt (graph.distinct_tasks)
PRIOR_WEIGHT = 4.0  # how many observations the ability model's prediction counts for at one level


def _posterior(m: Mastery | None, level: int) -> tuple[float, float]:
    """Beta(alpha, beta) over success at `level`: the level's own recency-weighted record plus PRIOR_WEIGHT
    pseudo-observations of the ability-vs-difficulty model (success_at)."""
    ability = m.ability if m else 0.0
    prior = success_at(ability, level)
    correct, attempts = m.by_level.get(level, (0.0, 0.0)) if m else (0.0, 0.0)
    return correct + PRIOR_WEIGHT * prior, attempts - correct + PRIOR_WEIGHT * (1 - prior)


def predicted_success(m: Mastery | None, level: int) -> float:
    """The Diagnostician's prediction: the level's own record shrunk towards the ability model, which
    alone speaks for unseen levels (the mean of `_posterior`)."""
    alpha, beta = _posterior(m, level)
    return alpha / (alpha + beta)


def sampled_success(m: Mastery | None, level: int, rng: random.Random) -> float:
    """A draw from the Beta posterior behind `predicted_success` (Thompson sampling): a level judged on a
    few unlucky attempts keeps a chance to be tried again, where the point estimate shut it out for good
    (seen: chain_sum level 1, 0 of 7 at a true ~25%, never picked again)."""
    return rng.betavariate(*_posterior(m, level))


def is_mastered(m: Mastery | None, cfg: CuratorConfig) -> bool:
    """Basic competence (level 1) at the mastery threshold: enough to build on."""
    return predicted_success(m, 1) >= cfg.mastery_threshold


def unlocked(skills: SkillGraph, mastery: dict[str, Mastery], cfg: CuratorConfig) -> list[str]:
    """Skills whose prerequisites are all mastered (the roots at least)."""
    return [s for s in skills.names() if all(is_mastered(mastery.get(p), cfg) for p in skills.prerequisites(s))]


def openness(skills: SkillGraph, skill: str, level: int) -> float:
    """How much of what practice on a level teaches can reach tasks it never showed: the share of fresh
    tasks in FRESH draws. Held-out tasks are banned from practice, so on a level of a few dozen facts
    (one-digit division: 76) practice drills the rest and loses held-out facts: -10 to -16 points in
    the six runs of a default compare that sampled it 840-1980 times, 0 to -2.5 in random's (~200)."""
    return min(1.0, skills.distinct_tasks(skill, level) / FRESH)


def band_level(levels: int, m: Mastery | None, band: tuple[float, float]) -> tuple[int, float]:
    """The hardest level whose predicted success is in the band; else the one nearest its middle."""
    lo, hi = band
    preds = {lv: predicted_success(m, lv) for lv in range(1, levels + 1)}
    in_band = [lv for lv, p in preds.items() if lo <= p <= hi]
    if in_band:
        return max(in_band), preds[max(in_band)]
    best = min(preds, key=lambda lv: abs(preds[lv] - (lo + hi) / 2))
    return best, preds[best]


@dataclass
class Written:
    """What a task-writing strategy produced: tasks that passed their own verifier, picks it leaves to the
    skill generators (rejected or not its share), why tasks were rejected, and anything else to note."""

    tasks: list[Task] = field(default_factory=list)
    leftover: list[Pick] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class Strategy(Protocol):
    name: str

    def choose(self, skills: SkillGraph, mastery: dict[str, Mastery], n: int, rng: random.Random) -> list[Pick]: ...


def writes_tasks(strategy: object) -> bool:
    return callable(getattr(strategy, "write_tasks", None))


STRATEGIES: Registry[type] = Registry("curriculum strategy")


def make_strategy(name: str, cfg: CuratorConfig) -> Strategy:
    return STRATEGIES.get(name)(cfg)


for _mod in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_mod.name}")
