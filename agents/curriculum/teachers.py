"""Teacher of teachers: a bandit that shares each batch among other curriculum strategies (its arms) by
the held-out gain each arm's own examples bought, updated after every training round.

Each arm is a registered strategy, optionally with a "+option" suffix (`zpd+help`) that names a teaching
option another module reads off the task's provenance; two arms may share a strategy with different
options. Every pick carries its arm (`Pick.arm`), so every task, trajectory and training example names it.

The shares are a pure function of the round history handed to `feedback` (a resumed run recomputes
them): uniform before any round; after, a softmax over each arm's recency-weighted mean gain, shrunk
towards zero, mixed with a floor of 1/(2 arms) of the batch each, so an arm unlucky in one round of a
noisy measurement is tried again. `attribute` turns one round's held-out counts into those gains.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Mapping, Sequence

from cosr.agents.curriculum import STRATEGIES, Pick, Strategy, make_strategy, writes_tasks
from cosr.config import CuratorConfig
from cosr.domain import Mastery

# Gains are held-out accuracy differences of a few points (0.01-0.05) measured on a few dozen tasks a
# pair, so an arm's round gain carries noise of about the same size. At 0.02 an arm ahead by two points
# gets e = 2.7 times the softmax weight of another: a lead held over rounds moves budget, one lucky
# round of noise does not take the batch.
TEMPERATURE = 0.02
DECAY = 0.7  # weight of a round per round since: the student moves on, what taught it three rounds ago may not now
PRIOR = 1.0  # pseudo-rounds of zero gain: one round's gain counts half, three consistent rounds ~70%


def arm_strategy(arm: str) -> str:
    """The registered strategy an arm runs: its name before any "+"."""
    return arm.split("+", 1)[0]


def arm_option(arm: str) -> str | None:
    """The teaching option an arm names after "+", if any."""
    return arm.split("+", 1)[1] if "+" in arm else None


def check_arms(arms: Sequence[str]) -> None:
    if not arms:
        raise ValueError("teachers needs at least one arm (curator.teachers is empty)")
    if len(set(arms)) != len(arms):
        raise ValueError(f"teachers arms repeat: {sorted(a for a in set(arms) if arms.count(a) > 1)}")
    for arm in arms:
        base = arm_strategy(arm)
        if base == TeachersCurriculum.name:
            raise ValueError(f"teachers arm {arm!r}: teachers cannot be its own arm")
        if base not in STRATEGIES:
            known = ", ".join(n for n in STRATEGIES.names() if n != TeachersCurriculum.name)
            raise ValueError(f"teachers arm {arm!r}: unknown curriculum strategy {base!r} (known: {known})")
        if "+" in arm and not arm_option(arm):
            raise ValueError(f"teachers arm {arm!r}: empty option after '+'")
        if writes_tasks(STRATEGIES.get(base)):  # choose_tasks calls write_tasks on teachers, never on an arm
            raise ValueError(f"teachers arm {arm!r}: {base} writes its own tasks, which teachers cannot hand out")


def scores(arms: Sequence[str], history: Sequence[Mapping[str, Mapping]]) -> dict[str, float]:
    """Each arm's recency-weighted mean gain over the rounds it had measured examples in, shrunk towards
    zero by PRIOR pseudo-rounds; a round without examples of an arm tells nothing of it."""
    out = {}
    for arm in arms:
        total = weight = 0.0
        for age, round_ in enumerate(reversed(history)):
            entry = round_.get(arm)
            if not entry or entry.get("examples", 0) <= 0 or entry.get("measured", 1) <= 0:
                continue
            w = DECAY**age
            total += w * float(entry["gain"])
            weight += w
        out[arm] = total / (weight + PRIOR)
    return out


def shares(arms: Sequence[str], history: Sequence[Mapping[str, Mapping]]) -> dict[str, float]:
    """Share of the batch per arm: a floor of 1/(2 arms) each, the other half by softmax of `scores`."""
    s = scores(arms, history)
    top = max(s.values())
    soft = {a: math.exp((v - top) / TEMPERATURE) for a, v in s.items()}
    z = sum(soft.values())
    floor = 1.0 / (2 * len(arms))
    return {a: floor + (1.0 - floor * len(arms)) * soft[a] / z for a in arms}


def split(n: int, share: Mapping[str, float]) -> dict[str, int]:
    """`n` picks by share, largest remainder (ties in arm order); when n allows, every arm with a share
    gets one, taken from the arm with the most."""
    z = sum(share.values())
    exact = {a: n * s / z for a, s in share.items()}
    counts = {a: int(x) for a, x in exact.items()}
    order = sorted(share, key=lambda a: -(exact[a] - counts[a]))  # sorted is stable: ties keep arm order
    for a in order[: n - sum(counts.values())]:
        counts[a] += 1
    live = [a for a, s in share.items() if s > 0]
    if n >= len(live):
        for a in live:
            if counts[a] == 0:
                richest = max(counts, key=lambda b: counts[b])
                counts[richest] -= 1
                counts[a] = 1
    return counts


def attribute(examples_by_arm: Mapping[str, Counter[str]], before: Mapping[str, tuple[float, float]],
              after: Mapping[str, tuple[float, float]]) -> dict[str, dict]:
    """What each arm's own examples bought in one round: the mean over its training examples of the
    held-out accuracy change (after - before) at the example's "skill@Llevel" pair. Examples at pairs
    not measured both times are left out of the mean and counted (`examples` - `measured`). A pair two
    arms both taught credits both: the change there cannot be told apart."""
    delta = {k: after[k][0] / after[k][1] - before[k][0] / before[k][1]
             for k in before.keys() & after.keys() if before[k][1] > 0 and after[k][1] > 0}
    out = {}
    for arm, pairs in examples_by_arm.items():
        examples = sum(pairs.values())
        measured = sum(c for k, c in pairs.items() if k in delta)
        gain = sum(c * delta[k] for k, c in pairs.items() if k in delta) / measured if measured else 0.0
        out[arm] = {"gain": gain, "examples": examples, "measured": measured}
    return out


class TeachersCurriculum:
    name = "teachers"

    def __init__(self, cfg: CuratorConfig) -> None:
        self.cfg = cfg
        check_arms(cfg.teachers)
        self.arms = list(cfg.teachers)
        self.strategies: dict[str, Strategy] = {a: make_strategy(arm_strategy(a), cfg) for a in self.arms}
        self.history: list[dict[str, dict]] = []

    def feedback(self, history: Sequence[Mapping[str, Mapping]]) -> None:
        """Every finished round so far, in order: arm -> {"gain", "examples"} (as from `attribute`)."""
        self.history = [{a: dict(e) for a, e in round_.items()} for round_ in history]

    def shares(self) -> dict[str, float]:
        return shares(self.arms, self.history)

    def choose(self, skills, mastery: dict[str, Mastery], n: int, rng: random.Random) -> list[Pick]:
        out = []
        for arm, k in split(n, self.shares()).items():
            if k:
                out += [Pick(p.skill, p.level, f"{arm}: {p.reason}", arm)
                        for p in self.strategies[arm].choose(skills, mastery, k, rng)]
        return out


STRATEGIES.register("teachers", TeachersCurriculum)
