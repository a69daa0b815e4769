"""Zone of proximal development: skills whose prerequisites are mastered, at the level where the
predicted success falls inside the target band (hard enough to teach, easy enough to be solved)."""

from __future__ import annotations

import random

from cosr.agents.curriculum import STRATEGIES, Pick, is_mastered, predicted_success
from cosr.config import CuratorConfig
from cosr.domain import Mastery


class ZPDCurriculum:
    name = "zpd"

    def __init__(self, cfg: CuratorConfig) -> None:
        self.cfg = cfg

    def unlocked(self, skills, mastery: dict[str, Mastery]) -> list[str]:
        return [s for s in skills.names()
                if all(is_mastered(mastery.get(p), self.cfg) for p in skills.prerequisites(s))]

    def level_for(self, levels: int, m: Mastery | None) -> tuple[int, float]:
        """The hardest level whose predicted success is in the band; else the one nearest its middle."""
        lo, hi = self.cfg.target_success
        preds = {lv: predicted_success(m, lv) for lv in range(1, levels + 1)}
        in_band = [lv for lv, p in preds.items() if lo <= p <= hi]
        if in_band:
            return max(in_band), preds[max(in_band)]
        best = min(preds, key=lambda lv: abs(preds[lv] - (lo + hi) / 2))
        return best, preds[best]

    def choose(self, skills, mastery: dict[str, Mastery], n: int, rng: random.Random) -> list[Pick]:
        open_skills = self.unlocked(skills, mastery) or skills.roots()
        out = []
        for _ in range(n):
            name = rng.choice(open_skills)
            level, p = self.level_for(skills[name].levels, mastery.get(name))
            out.append(Pick(name, level, f"prerequisites mastered; predicted success {p:.2f} at level {level}"))
        return out


STRATEGIES.register("zpd", ZPDCurriculum)
