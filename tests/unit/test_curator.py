"""The Curator: prerequisites first, the band, the stuck rule, held-out tasks never handed out."""

from __future__ import annotations

import random
from collections import Counter

from cosr.agents.curator import make_tasks, step_back
from cosr.agents.curriculum import Pick, make_strategy, predicted_success
from cosr.config import CuratorConfig, EvalConfig
from cosr.domain import Mastery
from cosr.graphs.skills import SkillGraph


def strong(skill: str, ability: float = 3.0) -> Mastery:
    return Mastery(skill=skill, ability=ability)


def test_zpd_never_picks_a_skill_with_unmastered_prerequisites():
    skills = SkillGraph.builtin()
    zpd = make_strategy("zpd", CuratorConfig())
    mastery = {"addition": strong("addition")}  # only addition mastered
    picks = [p for batch in range(20) for p in zpd.choose(skills, mastery, 64, random.Random(batch))]
    allowed = {s for s in skills.names() if set(skills.prerequisites(s)) <= {"addition"}}
    assert {p.skill for p in picks} <= allowed
    assert "subtraction" in {p.skill for p in picks}  # its only prerequisite is mastered


def test_zpd_aims_at_the_target_band_and_raises_the_bar():
    cfg = CuratorConfig(target_success=(0.5, 0.8))
    zpd = make_strategy("zpd", cfg)
    weak, better = Mastery(skill="addition", ability=0.5), Mastery(skill="addition", ability=2.5)
    lv_weak, p_weak = zpd.level_for(5, weak)
    lv_better, p_better = zpd.level_for(5, better)
    assert 0.5 <= p_weak <= 0.8 and 0.5 <= p_better <= 0.8
    assert lv_better > lv_weak
    assert p_better == predicted_success(better, lv_better)


def test_stuck_steps_back_to_an_easier_level_then_a_prerequisite():
    skills = SkillGraph.builtin()
    stuck = Mastery(skill="subtraction", recent=(False,) * 6)
    mastery = {"subtraction": stuck, "addition": strong("addition")}
    harder = step_back(Pick("subtraction", 3, "zpd"), skills, mastery, 6)
    assert (harder.skill, harder.level) == ("subtraction", 2) and "stuck" in harder.reason
    floor = step_back(Pick("subtraction", 1, "zpd"), skills, mastery, 6)
    assert (floor.skill, floor.level) == ("addition", 1) and "prerequisite" in floor.reason
    fine = step_back(Pick("addition", 3, "zpd"), skills, mastery, 6)
    assert fine == Pick("addition", 3, "zpd")


def test_the_curator_hands_out_no_held_out_problem_in_any_spelling():
    from types import SimpleNamespace

    from cosr.agents.evaluator import heldout_tasks

    skills = SkillGraph.builtin()
    heldout = [t for split in ("validation", "test")
               for t in heldout_tasks(skills, EvalConfig(per_skill=40, levels=[1], split=split))]
    ctx = SimpleNamespace(skills=skills, heldout=heldout)
    tasks = make_tasks([Pick("multiplication", 1, "test")] * 300, ctx, random.Random(1), "zpd")
    banned = {skills.identity(t) for t in heldout}
    assert len(banned) >= 4  # one-digit multiplication: a few of its ~55 problems are held out
    assert len(tasks) == 300 and not banned & {skills.identity(t) for t in tasks}
    # "a * b" held out bans "b * a" too: no training prompt is a held-out prompt with its operands swapped
    swapped = {" * ".join(reversed(t.prompt[8:-1].split(" * "))) for t in heldout if t.skill == "multiplication"}
    assert not swapped & {t.prompt[8:-1] for t in tasks}
    assert all(t.provenance.strategy == "zpd" and t.provenance.reason == "test" for t in tasks)


def test_the_curator_hands_out_fresh_tasks_until_a_level_is_used_up():
    from types import SimpleNamespace

    skills = SkillGraph.builtin()
    ctx = SimpleNamespace(skills=skills, heldout=[])
    seen: set[str] = set()
    first = make_tasks([Pick("addition", 2, "test")] * 200, ctx, random.Random(1), "zpd", seen)
    again = make_tasks([Pick("addition", 2, "test")] * 200, ctx, random.Random(2), "zpd", seen)
    assert len({skills.identity(t) for t in first + again}) == 400  # the next step: no repeat
    small = make_tasks([Pick("addition", 1, "test")] * 80, ctx, random.Random(2), "zpd", set())
    # one-digit addition has 55 problems (a + b = b + a), some held out: repeats once they are used up
    distinct = len({skills.identity(t) for t in small})
    assert len(small) == 80 and 40 <= distinct < 55
    assert len({skills.identity(t) for t in small[:30]}) == 30  # fresh ones first


def test_distinct_tasks_tells_a_small_level_from_a_large_one():
    skills = SkillGraph.builtin()
    assert skills.distinct_tasks("addition", 1) <= 100  # there are only 100 pairs of one-digit numbers
    assert skills.distinct_tasks("addition", 3) > 240


def test_zpd_teaches_where_there_are_fresh_tasks_and_reviews_mastered_levels():
    # Only these two skills: no locked skill waits on subtraction, so its level 1 gets no gate bonus
    # (test_curriculum.py tests that bonus).
    skills = SkillGraph.from_dict({"skills": [
        {"name": "addition", "domain": "math", "generator": "addition"},
        {"name": "subtraction", "domain": "math", "generator": "subtraction", "prerequisites": ["addition"]}]})
    zpd = make_strategy("zpd", CuratorConfig())
    # subtraction: level 1 (55 distinct tasks) and level 2 (thousands) both at a coin flip
    mastery = {"addition": Mastery(skill="addition", ability=1.0, by_level={1: (200.0, 200.0), 2: (0.0, 200.0)}),
               "subtraction": Mastery(skill="subtraction", ability=1.0, by_level={1: (50.0, 100.0), 2: (50.0, 100.0)})}
    picks = [p for batch in range(10) for p in zpd.choose(skills, mastery, 100, random.Random(batch))]
    pairs = Counter((p.skill, p.level) for p in picks)
    assert pairs[("subtraction", 2)] > 3 * pairs[("subtraction", 1)]
    assert pairs[("addition", 2)] == 0  # far below the band
    assert 0.04 < pairs[("addition", 1)] / len(picks) < 0.2  # review of the mastered level


def test_zpd_tries_again_a_level_judged_on_a_few_unlucky_attempts():
    skills = SkillGraph.builtin()
    zpd = make_strategy("zpd", CuratorConfig())
    unlucky = {"addition": Mastery(skill="addition", ability=4.0, by_level={1: (100.0, 100.0)}),
               "subtraction": Mastery(skill="subtraction", ability=0.0, by_level={2: (0.0, 4.0)})}
    hopeless = {**unlucky, "subtraction": Mastery(skill="subtraction", ability=-3.0, by_level={2: (0.0, 400.0)})}
    tried = [sum(p.skill == "subtraction" and p.level == 2 for b in range(40) for p in zpd.choose(skills, m, 20, random.Random(b)))
             for m in (unlucky, hopeless)]
    assert tried[0] > 20 and tried[1] == 0
