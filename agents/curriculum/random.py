"""The baseline: skill and difficulty uniformly at random, blind to the student."""

from __future__ import annotations

import random

from cosr.agents.curriculum import STRATEGIES, Pick
from cosr.config import CuratorConfig
from cosr.domain import Mastery


class RandomCurriculum:
    name = "random"

    def __init__(self, cfg: CuratorConfig) -> None:
        self.cfg = cfg

    def choose(self, skills, mastery: dict[str, Mastery], n: int, rng: random.Random) -> list[Pick]:
        out = []
        for _ in range(n):
            skill = skills[rng.choice(skills.names())]
            out.append(Pick(skill.name, rng.randint(1, skill.levels), "uniform at random"))
        return out


STRATEGIES.register("random", RandomCurriculum)
