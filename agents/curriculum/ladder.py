"""A fixed ladder: every skill at level 1 (prerequisites first), then every skill at level 2, and so
on; the student climbs a rung when its predicted success there reaches the mastery threshold.

The classic hand-made curriculum: blind to *where* the student learns fastest, but never out of order.
Level-major rungs mean a skill comes up only after its prerequisites are mastered at level 1.
"""

from __future__ import annotations

import random

from cosr.agents.curriculum import STRATEGIES, Pick, predicted_success, unlocked
from cosr.config import CuratorConfig
from cosr.domain import Mastery

LOOKAHEAD = 4  # one pick in this many goes to the next rung, so its mastery is measured before the climb


class LadderCurriculum:
    name = "ladder"

    def __init__(self, cfg: CuratorConfig) -> None:
        self.cfg = cfg

    def rungs(self, skills) -> list[tuple[str, int]]:
        top = max(s.levels for s in skills.skills())
        return [(s.name, lv) for lv in range(1, top + 1) for s in skills.skills() if lv <= s.levels]

    def rung(self, skills, mastery: dict[str, Mastery]) -> int:
        """Index of the first rung not yet mastered (the last rung once all are)."""
        rungs = self.rungs(skills)
        for i, (skill, level) in enumerate(rungs):
            if predicted_success(mastery.get(skill), level) < self.cfg.mastery_threshold:
                return i
        return len(rungs) - 1

    def choose(self, skills, mastery: dict[str, Mastery], n: int, rng: random.Random) -> list[Pick]:
        rungs, i = self.rungs(skills), self.rung(skills, mastery)
        here, ahead = rungs[i], rungs[min(i + 1, len(rungs) - 1)]
        if ahead[0] not in unlocked(skills, mastery, self.cfg):  # never look ahead past a prerequisite
            ahead = here
        out = []
        for k in range(n):
            skill, level = ahead if k % LOOKAHEAD == LOOKAHEAD - 1 else here
            out.append(Pick(skill, level, f"ladder rung {i + 1}/{len(rungs)}"
                                          + (" (look-ahead)" if (skill, level) != here else "")))
        return out


STRATEGIES.register("ladder", LadderCurriculum)
