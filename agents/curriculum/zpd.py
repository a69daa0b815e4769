"""Zone of proximal development: skills whose prerequisites are mastered, at the level where the
predicted success falls inside the target band (hard enough to teach, easy enough to be solved)."""

from __future__ import annotations

import random

from cosr.agents.curriculum import STRATEGIES, Pick, band_level, unlocked
from cosr.config import CuratorConfig
from cosr.domain import Mastery


class ZPDCurriculum:
    name = "zpd"

    def __init__(self, cfg: CuratorConfig) -> None:
        self.cfg = cfg

    def unlocked(self, skills, mastery: dict[str, Mastery]) -> list[str]:
        return unlocked(skills, mastery, self.cfg)

    def level_for(self, levels: int, m: Mastery | None) -> tuple[int, float]:
        return band_level(levels, m, self.cfg.target_success)

    def choose(self, skills, mastery: dict[str, Mastery], n: int, rng: random.Random) -> list[Pick]:
        open_skills = self.unlocked(skills, mastery) or skills.roots()
        out = []
        for _ in range(n):
            name = rng.choice(open_skills)
            level, p = self.level_for(skills[name].levels, mastery.get(name))
            out.append(Pick(name, level, f"prerequisites mastered; predicted success {p:.2f} at level {level}"))
        return out


STRATEGIES.register("zpd", ZPDCurriculum)
