"""Learning progress: a bandit over skills that plays where accuracy is changing fastest, and spends a
share of every batch reviewing mastered skills so they are not forgotten.

Progress of a skill is |success rate of its latest half-window - that of the half before| over the
Diagnostician's recent verdicts (Matiisen et al.'s teacher-student curriculum; absolute, because a
drop is forgetting and also worth attention). A skill with too few verdicts counts as maximal progress
(optimism under uncertainty); every skill keeps a small floor so none is starved. Levels are chosen
as in `zpd`, inside the target success band.

Every skill not mastered is in play, whatever the skill graph says of its prerequisites: the progress
signal itself is meant to find where the student learns (Matiisen et al. use no graph), and zpd is the
strategy that gates. Gated, progress spent a compare run's tasks on eight skills and none on 16 of the
23 levels the student partly knew, all behind one-digit division (57% at level 1, never mastered in
three rounds) or chain_sum level 1 (16%). Ungated it practises all 16, but that did not make it teach
more: in the default compare (3 seeds) its frontier gain was -0.8 +- 0.2 points against random's -0.2 +-
0.6, and the levels it took up rose no more than where nobody practised them (gcd level 3: +11 to +14
with ~640 tasks, +10 to +11 with none). Measured before the splits (docs/history.md).

A skill's weight is scaled by the openness of the level it would be taught at (`openness`): ungated,
progress sampled small levels whose held-out facts practice can only lose (one-digit division,
fraction_addition and fraction_simplification's small levels, lcm level 2: ~1000 samples each a run).
Scaled, its loss on the small frontier levels went -2.1 +- 0.4 -> -0.7 +- 0.5 points (random's: -0.7),
its frontier gain -0.8 +- 0.2 -> +0.1 +- 0.4 (random's: -0.2 +- 0.6; the default compare, 3 seeds).
Taken on to six rounds it read -0.7 +- 0.8 against random's -0.4 +- 0.9: inside the spread either way.
"""

from __future__ import annotations

import random

from cosr.agents.curriculum import STRATEGIES, Pick, band_level, is_mastered, openness
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
        learning = [s for s in skills.names() if s not in mastered] or skills.roots()  # no gate: see above
        lp = {s: learning_progress(mastery.get(s)) for s in learning}
        levels = {s: band_level(skills[s].levels, mastery.get(s), self.cfg.target_success) for s in learning}
        weights = [(lp[s] + FLOOR) * openness(skills, s, levels[s][0]) for s in learning]
        out = []
        for _ in range(n):
            if mastered and rng.random() < REVIEW:
                name = rng.choice(mastered)
                level, p = band_level(skills[name].levels, mastery.get(name), self.cfg.target_success)
                out.append(Pick(name, level, f"review of a mastered skill; predicted success {p:.2f}"))
                continue
            name = rng.choices(learning, weights=weights)[0]
            level, p = levels[name]
            out.append(Pick(name, level, f"learning progress {lp[name]:.2f}; predicted success {p:.2f}"))
        return out


STRATEGIES.register("progress", ProgressCurriculum)
