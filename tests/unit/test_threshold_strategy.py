"""The threshold strategy (reasoning-gym's rule) on the Diagnostician's own record: up after a run of
successes above 0.7, down below 0.1, kept between; every skill picked, each at its level, ungated."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable

from cosr.agents import diagnostician
from cosr.agents.curriculum import make_strategy
from cosr.agents.curriculum.threshold import LEVEL_DECAY, K, current_level, evidence_needed
from cosr.agents.diagnostician import update_mastery
from cosr.config import CuratorConfig
from cosr.domain import Mastery
from cosr.graphs.skills import SkillGraph

LEVELS = 5


def climb(score: Callable[[int], float], batches: int, per_batch: int = 6) -> list[int]:
    """The level the rule sets before each batch, the student scoring `score(level)` on every task of it."""
    m, need, out = Mastery(skill="addition"), evidence_needed(per_batch), []
    for _ in range(batches):
        level = current_level(m, LEVELS, need)
        out.append(level)
        m = update_mastery(m, [(level, score(level))] * per_batch, 0.8, LEVELS)
    return out


def test_the_decay_it_assumes_is_the_diagnosticians():
    assert LEVEL_DECAY == diagnostician.LEVEL_DECAY


def test_the_level_rises_after_k_tasks_above_the_threshold():
    levels = climb(lambda lv: 0.8, 40)
    assert levels[0] == 1 and levels[-1] == LEVELS
    assert levels == sorted(levels)  # never down
    first_rise = levels.index(2)
    assert first_rise * 6 >= K  # not before K tasks of evidence at level 1
    assert current_level(Mastery(skill="a", by_level={1: (14.0, 20.0)}), LEVELS) == 1  # strict: 0.7 is not above 0.7


def test_the_level_falls_below_the_threshold_and_is_tried_again_later():
    levels = climb(lambda lv: 1.0 if lv == 1 else 0.05, 40)
    up = levels.index(2)
    down = levels.index(1, up)
    assert (down - up) * 6 >= K  # judged on K tasks at level 2, then back down
    assert 2 in levels[down:]  # a fresh window at level 2 once its failed evidence has decayed
    assert max(levels) == 2  # never past a level failed


def test_the_level_stays_between_the_thresholds():
    levels = climb(lambda lv: 1.0 if lv == 1 else 0.4, 60)
    assert levels[levels.index(2):] == [2] * (60 - levels.index(2))
    assert climb(lambda lv: 0.0, 30) == [1] * 30  # nothing below level 1
    assert current_level(Mastery(skill="a", by_level={1: (20.0, 20.0), 2: (2.0, 20.0)}), LEVELS) == 2  # 0.1: not below


def test_a_skill_fed_one_task_at_a_time_still_moves():
    # A person's session (batch 1): the decaying record holds at most 10 tasks, under K.
    assert evidence_needed(1) < K and evidence_needed(128 / 20) == K
    levels = climb(lambda lv: 1.0, 60, per_batch=1)
    assert levels[-1] > 1 and levels.index(2) >= 10


def test_picks_cover_every_skill_uniformly_each_at_its_level_without_a_gate():
    skills = SkillGraph.builtin()
    mastery = {"addition": Mastery(skill="addition", by_level={1: (30.0, 30.0), 2: (2.0, 30.0)}),
               "multiplication": Mastery(skill="multiplication", by_level={1: (25.0, 30.0)})}
    strategy = make_strategy("threshold", CuratorConfig())
    picks = strategy.choose(skills, mastery, 40 * len(skills.names()), random.Random(3))
    counts = Counter(p.skill for p in picks)
    assert set(counts) == set(skills.names())  # locked skills too: reasoning-gym has no prerequisites
    assert min(counts.values()) > 20 and max(counts.values()) < 65
    level = {p.skill: p.level for p in picks}
    assert level["addition"] == 1  # passed level 1, failed level 2 on K tasks: back down
    assert level["multiplication"] == 2  # 0.83 over 30 tasks at level 1: up
    assert {level[s] for s in skills.names() if s not in mastery} == {1}


def test_a_fresh_strategy_object_picks_the_same():
    # A run resumed from a checkpoint builds a new strategy: the levels come from mastery alone.
    skills, cfg = SkillGraph.builtin(), CuratorConfig()
    mastery = {"addition": Mastery(skill="addition", by_level={1: (30.0, 30.0)})}
    first = make_strategy("threshold", cfg)
    first.choose(skills, {}, 50, random.Random(1))
    assert first.choose(skills, mastery, 50, random.Random(2)) == make_strategy("threshold", cfg).choose(
        skills, mastery, 50, random.Random(2))
