"""Zone of proximal development: (skill, level) pairs of skills whose prerequisites are mastered,
where the predicted success falls inside the target band (hard enough to teach, easy enough to be
solved), with a small share of review of mastered levels against forgetting.

Pairs, not skills then levels: choosing a skill first spent most of a run on the mastered level 1 of
the root skills, whose level 2 was far out of reach (addition: 98% -> 0%), so their nearest-to-band
level was the one already known (seen in a 7552-task run: 3/4 of the tasks at 98% success).

Per batch: the band is judged on one Thompson draw per pair (`sampled_success`), and of the pairs in
it the FOCUS with the most to teach (p(1-p), scaled down for small task spaces, scaled up for an open
level 1 that gates locked skills) share the batch.

Gates: a skill stays locked until every prerequisite is mastered at level 1. A level 1 that keeps skills
locked gets a bonus only when it is open (`evaluation.OPEN` distinct tasks or more, chain_sum's): on a
small one practice cannot master it, it drills facts and loses held-out ones. With the bonus on
one-digit division (76 distinct tasks, gate to four skills) zpd sampled it 1888-1984 times in each run
of a default compare and lost 14-16 points of held-out accuracy on it, over half of zpd's loss on the
small frontier levels; the four skills stayed locked anyway. Without it (the same compare again): the
small levels -2.1 -> -1.7 points, the frontier -0.6 unchanged, and division still sampled 870-1160
times a run, in the band among the few pairs the gate leaves open.
"""

from __future__ import annotations

import random

from cosr.agents.curriculum import STRATEGIES, Pick, band_level, openness, predicted_success, sampled_success, unlocked
from cosr.config import CuratorConfig
from cosr.domain import Mastery
from cosr.training.evaluation import OPEN

FOCUS = 8  # pairs taught at once: at 3 (chosen when a task gave one sample, not 4) zpd's rounds gained
# on the practised levels and lost more elsewhere than random's broad ones (cosr compare, 3 seeds)
GATE = 2.0  # an open level 1 that keeps skills locked counts double, however many wait on it
REVIEW = 0.1  # share of picks spent on mastered levels (LoRA rounds on narrow data forget the rest)


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
        lo, hi = self.cfg.target_success
        pairs = [(s, lv) for s in open_skills for lv in range(1, skills[s].levels + 1)]
        preds = {k: predicted_success(mastery.get(k[0]), k[1]) for k in pairs}
        draws = {k: sampled_success(mastery.get(k[0]), k[1], rng) for k in pairs}  # one per batch
        band = [k for k in pairs if lo <= draws[k] <= hi]
        mastered = [k for k in pairs if preds[k] > hi]
        if not band:  # nothing in the band: each open skill at its level nearest to it
            band = [(s, self.level_for(skills[s].levels, mastery.get(s))[0]) for s in open_skills]
        # Levels with fresh tasks to generalise from come first; small ones (still prerequisites to
        # master) get a share in proportion to their size.
        waiting = gated(skills, open_skills)
        value = {k: openness(skills, *k) * preds[k] * (1 - preds[k])
                 * (GATE if waiting.get(k[0]) and k[1] == 1 and skills.distinct_tasks(*k) >= OPEN else 1.0)
                 for k in band}
        band = sorted(band, key=lambda k: -value[k])[:FOCUS]
        weights = [value[k] + 1e-9 for k in band]
        out = []
        for _ in range(n):
            if mastered and rng.random() < REVIEW:
                s, lv = rng.choice(mastered)
                out.append(Pick(s, lv, f"review of a mastered level; predicted success {preds[(s, lv)]:.2f}"))
            else:
                s, lv = rng.choices(band, weights)[0]
                out.append(Pick(s, lv, f"prerequisites mastered; predicted success {preds[(s, lv)]:.2f} at level {lv}"))
        return out


def gated(skills, open_skills: list[str]) -> dict[str, int]:
    """For each open skill, how many locked skills list it as a prerequisite."""
    locked = [s for s in skills.names() if s not in open_skills]
    return {s: sum(s in skills.prerequisites(t) for t in locked) for s in open_skills}


STRATEGIES.register("zpd", ZPDCurriculum)
