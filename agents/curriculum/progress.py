"""Learning progress: a bandit over skills that plays where accuracy is changing fastest, and spends a
share of every batch reviewing mastered skills so they are not forgotten.

Progress of a skill is |success rate of its latest half-window - that of the half before| over the
Diagnostician's recent verdicts (Matiisen et al.'s teacher-student curriculum; absolute, because a
drop is forgetting and also worth attention). A skill with too few verdicts counts as maximal progress
(optimism under uncertainty); every open skill keeps a small floor so none is starved. Levels are
chosen as in `zpd`, inside the target success band.
"""

from __future__ import annotations

import random

from cosr.agents.curriculum import STRATEGIES, Pick, band_level, is_mastered, unlocked
from cosr.config import CuratorConfig
from cosr.domain import Mastery

WINDOW = 12  # verdicts per skill the progress signal looks at (the Diagnostician keeps 12)
FLOOR = 0.05  # every open skill keeps this much weight
REVIEW = 0.15  # share of a batch spent on mastered skills


def learning_progress(m: Mastery | None) -> float:
    recent = m.recent[-WINDOW:] if m else ()
    if len(recent) < WINDOW:
        return 1.0
    half = WINDOW // 2
    old, new = recent[:half], recent[half:]
    return abs(sum(new) - sum(old)) / half


class ProgressCurriculum:
    name = "progress"

    def __init__(self, cfg: CuratorConfig) -> None:
        self.cfg = cfg

    def choose(self, skills, mastery: dict[str, Mastery], n: int, rng: random.Random) -> list[Pick]:
        mastered = [s for s in skills.names() if is_mastered(mastery.get(s), self.cfg)]
        learning = [s for s in unlocked(skills, mastery, self.cfg) if s not in mastered] or skills.roots()
        lp = {s: learning_progress(mastery.get(s)) for s in learning}
        weights = [lp[s] + FLOOR for s in learning]
        out = []
        for _ in range(n):
            if mastered and rng.random() < REVIEW:
                name = rng.choice(mastered)
                level, p = band_level(skills[name].levels, mastery.get(name), self.cfg.target_success)
                out.append(Pick(name, level, f"review of a mastered skill; predicted success {p:.2f}"))
                continue
            name = rng.choices(learning, weights=weights)[0]
            level, p = band_level(skills[name].levels, mastery.get(name), self.cfg.target_success)
            out.append(Pick(name, level, f"learning progress {lp[name]:.2f}; predicted success {p:.2f}"))
        return out


STRATEGIES.register("progress", ProgressCurriculum)
