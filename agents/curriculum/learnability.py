"""Learnability: prefer (skill, level) pairs whose predicted success p maximises p(1 - p).

A verified sample teaches most where success is a coin flip: the variance of the outcome, p(1 - p),
bounds the learning signal (tasks always solved or never solved teach nothing); the idea behind
"learnability" sampling in RL for reasoning. Pairs are sampled in proportion to (p(1 - p))^SHARPNESS
among unlocked skills, so the few pairs at p ~ 0.5 dominate without starving the rest.
"""

from __future__ import annotations

import random

from cosr.agents.curriculum import STRATEGIES, Pick, predicted_success, unlocked
from cosr.config import CuratorConfig
from cosr.domain import Mastery

SHARPNESS = 4


class LearnabilityCurriculum:
    name = "learnability"

    def __init__(self, cfg: CuratorConfig) -> None:
        self.cfg = cfg

    def scores(self, skills, mastery: dict[str, Mastery]) -> dict[tuple[str, int], float]:
        out = {}
        for name in unlocked(skills, mastery, self.cfg) or skills.roots():
            for level in range(1, skills[name].levels + 1):
                p = predicted_success(mastery.get(name), level)
                out[(name, level)] = p * (1 - p)
        return out

    def choose(self, skills, mastery: dict[str, Mastery], n: int, rng: random.Random) -> list[Pick]:
        scores = self.scores(skills, mastery)
        pairs = list(scores)
        drawn = rng.choices(pairs, weights=[scores[k] ** SHARPNESS + 1e-12 for k in pairs], k=n)
        return [Pick(s, lv, f"learnability p(1-p) = {scores[(s, lv)]:.3f}") for s, lv in drawn]


STRATEGIES.register("learnability", LearnabilityCurriculum)
