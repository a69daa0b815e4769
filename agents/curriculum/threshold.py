"""Threshold: reasoning-gym's curriculum rule. Every skill has a current level; it goes up one when the
mean score of the last k attempts there is above 0.7, down one when below 0.1, and stays otherwise.
Skills are drawn uniformly, each at its current level.

The rule is in reasoning-gym's training code, not in the `reasoning_gym` package (0.1.25 here ships
only the machinery: `coaching/experiment.py` `CurriculumExperiment.update_difficulty` ->
`coaching/base_curriculum.py` `increment_global_level` / `decrement_global_level`, and
`coaching/score_board.py` `ScoreBoard.aggregate(last_n)`). In open-thought/reasoning-gym,
`training/trainers/ray_grpo_trainer.py` (commit 49b0713) checks after every step, per dataset:
mean of the last `last_k` scores > `success_threshold` and at least `last_k` of them: increment; else
< `failure_threshold` and at least `last_k`: decrement. `training/utils/datasets.py`
(`update_experiment_difficulty`) clears the dataset's score board on each change, so the window holds
attempts at the current level only. The values: `last_k: 20, success_threshold: 0.70,
failure_threshold: 0.10` in 12 of its 14 configs that set them; of those only
`training/configs/curriculum/spell_backward.yaml` runs the rule (`schedule.automatic: False`), the other
11 step up every 30 steps whatever the scores. The knights_knaves pair runs it with 2560, 0.70, 0.30 / 0.20.

Read here off the Diagnostician's mastery, not kept in this object, so a run resumed from a checkpoint
(a fresh strategy object) picks what the original would have. The window is the level's recency-weighted
record (`Mastery.by_level`), counted in tasks, each scored with the share of its samples verified: the
Diagnostician's unit (k samples of one task are one observation); reasoning-gym counts completions.
A skill's level is found by walking up from level 1 through the levels that were passed (mean above
RAISE, with K tasks of evidence or a level above already tried: a passed level's evidence decays while
the student works higher up, its mean does not), then one down if the level reached has failed. After a
fall the failed level comes back once its decayed evidence drops under K, and is judged again on that
evidence plus the new: where reasoning-gym waits for k fresh attempts at each end, a student failing
level 3 alternates about one batch at 3 with one or two at 2 (batches of 6 tasks a skill; the tests).

No prerequisite gate: reasoning-gym's datasets have no prerequisites, every dataset of the composite is
trained from the start (each at its own level), so every skill of the graph is in play here too.
"""

from __future__ import annotations

import random

from cosr.agents.curriculum import STRATEGIES, Pick
from cosr.config import CuratorConfig
from cosr.domain import Mastery

K = 20  # reasoning-gym's last_k: tasks of evidence at a level before the rule moves it
RAISE = 0.7  # success_threshold: up when the mean is strictly above
LOWER = 0.1  # failure_threshold: down when strictly below
# The Diagnostician's LEVEL_DECAY (agents/diagnostician.py, which imports this package: importing it back
# would cycle; tests/unit/test_threshold_strategy.py pins the two equal). A level's record holds at most
# (its tasks per update) / (1 - LEVEL_DECAY): 10 tasks when a skill comes one task at a time (a person's
# session, or small batches spread over ~20 skills), under K, so the rule would never move.
LEVEL_DECAY = 0.9
REACH = 0.8  # the evidence asked for is then this share of that ceiling: ~15 tasks at one a time


def record(m: Mastery | None, level: int) -> tuple[float, float]:
    """(mean score, recency-weighted tasks) at a level."""
    correct, attempts = m.by_level.get(level, (0.0, 0.0)) if m else (0.0, 0.0)
    return (correct / attempts if attempts else 0.0), attempts


def evidence_needed(tasks_per_update: float) -> float:
    """K tasks, or what the decaying record can hold when a skill gets few tasks a batch."""
    return min(float(K), REACH * max(1.0, tasks_per_update) / (1 - LEVEL_DECAY))


def current_level(m: Mastery | None, levels: int, need: float = K) -> int:
    """The level reasoning-gym's rule has a skill at, read off its mastery (level 1 before any evidence)."""
    level = 1
    while level < levels:
        mean, n = record(m, level)
        moved_on = record(m, level + 1)[1] > 0
        if not (mean > RAISE and (n >= need or moved_on)):
            break
        level += 1
    mean, n = record(m, level)
    if level > 1 and n >= need and mean < LOWER:
        level -= 1
    return level


class ThresholdCurriculum:
    name = "threshold"

    def __init__(self, cfg: CuratorConfig) -> None:
        self.cfg = cfg

    def choose(self, skills, mastery: dict[str, Mastery], n: int, rng: random.Random) -> list[Pick]:
        names = skills.names()
        # From the configured batch, not `n`: a skill's level must not depend on how many picks a call asks for.
        need = evidence_needed(self.cfg.batch_size / len(names))
        picks = {}
        for s in names:
            level = current_level(mastery.get(s), skills[s].levels, need)
            mean, seen = record(mastery.get(s), level)
            picks[s] = Pick(s, level, f"threshold rule: level {level}, mean {mean:.2f} over {seen:.1f} recent tasks "
                                      f"(up above {RAISE}, down below {LOWER}, after {need:.0f})")
        return [picks[rng.choice(names)] for _ in range(n)]


STRATEGIES.register("threshold", ThresholdCurriculum)
