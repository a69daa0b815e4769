"""The Curator: prerequisites first, the band, the stuck rule, held-out tasks never handed out."""

from __future__ import annotations

import random

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
    picks = zpd.choose(skills, mastery, 200, random.Random(0))
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


def test_curator_redraws_held_out_tasks():
    from types import SimpleNamespace

    from cosr.agents.evaluator import heldout_tasks

    skills = SkillGraph.builtin()
    heldout = heldout_tasks(skills, EvalConfig(per_skill=40, levels=[1]))
    ctx = SimpleNamespace(skills=skills, heldout=heldout)
    tasks = make_tasks([Pick("addition", 1, "test")] * 300, ctx, random.Random(1), "zpd")
    banned = {t.fingerprint for t in heldout}
    assert len(tasks) == 300 and not banned & {t.fingerprint for t in tasks}
    assert all(t.provenance.strategy == "zpd" and t.provenance.reason == "test" for t in tasks)
