"""The Diagnostician's belief on synthetic verdict streams, kept in the state and the store; what each
strategy does with it; the stuck rule as the Curator reports it."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from langgraph.runtime import Runtime

from cosr.agents.curator import curate
from cosr.agents.curriculum import Pick, is_mastered, make_strategy, predicted_success
from cosr.agents.curriculum.progress import learning_progress
from cosr.agents.diagnostician import diagnose, update_mastery
from cosr.agents.evaluator import heldout_tasks
from cosr.config import CuratorConfig
from cosr.domain import Attempt, Mastery, Verdict
from cosr.graphs.context import Context
from cosr.graphs.skills import SkillGraph
from cosr.store import TrajectoryStore


def trace(stream: list[tuple[int, bool]], batch: int = 8) -> list[Mastery]:
    m, out = Mastery(skill="addition"), []
    for i in range(0, len(stream), batch):
        m = update_mastery(m, stream[i:i + batch], 0.8, 5)
        out.append(m)
    return out


def test_a_learning_student_is_traced_upwards_and_a_forgetting_one_downwards():
    rng = random.Random(0)
    learning = [(2, rng.random() < 0.1 + 0.8 * i / 400) for i in range(400)]
    forgetting = [(2, rng.random() < 0.9 - 0.8 * i / 400) for i in range(400)]
    up, down = trace(learning), trace(forgetting)
    assert predicted_success(up[-1], 2) > 0.7 > 0.3 > predicted_success(up[4], 2)
    assert predicted_success(down[-1], 2) < 0.3 < 0.7 < predicted_success(down[4], 2)


def test_success_at_a_hard_level_says_more_than_success_at_an_easy_one():
    hard = update_mastery(Mastery(skill="a"), [(4, True)] * 6, 0.8, 5)
    easy = update_mastery(Mastery(skill="a"), [(1, True)] * 6, 0.8, 5)
    assert hard.level == easy.level or hard.ability > easy.ability
    assert predicted_success(update_mastery(Mastery(skill="a", ability=3.0), [(4, True)], 0.8, 5), 4) > \
        predicted_success(update_mastery(Mastery(skill="a", ability=3.0), [(1, True)], 0.8, 5), 4)


def make_ctx(cfg, tmp_path, strategy="zpd") -> Context:
    skills = SkillGraph.from_file(cfg.skills)
    return Context(config=cfg, run_id="r", run_dir=tmp_path, skills=skills, store=TrajectoryStore(tmp_path / "s.sqlite"),
                   student=None, strategy=make_strategy(strategy, cfg.curator), heldout=heldout_tasks(skills, cfg.eval))


def test_the_diagnosis_is_kept_in_the_state_and_the_store(tiny_run_config, tmp_path):
    ctx = make_ctx(tiny_run_config, tmp_path)
    runtime = Runtime(context=ctx, stream_writer=lambda e: None)
    batch = [ctx.skills.make_task("addition", 1, s) for s in range(6)]
    answers = [str(int(t.reference) + 1) for t in batch[:3]] + [t.reference for t in batch[3:]]
    attempts = [Attempt(task_id=t.id, student_id="s", raw_output=a, adapted_answer=a) for t, a in zip(batch, answers)]
    verdicts = [Verdict(correct=i >= 3, score=float(i >= 3), status="correct" if i >= 3 else "wrong") for i in range(6)]
    update = diagnose({"step": 5, "round": 2, "batch": batch, "attempts": attempts, "verdicts": verdicts}, runtime)
    assert update["mastery"]["addition"].attempts == 6 and update["mastery"]["addition"].correct == 3
    assert update["diagnosis"]["mistakes"] == {"addition": {"off by one": 3}}
    assert update["diagnosis"]["missing_skill_profile"] == {"addition": 1.0}
    stored = ctx.store.diagnoses("r")
    assert list(stored) == [5] and stored[5]["round"] == 2
    assert stored[5]["mastery"]["addition"]["attempts"] == 6 and stored[5]["mistakes"]["addition"]["off by one"] == 3
    diagnose({"step": 5, "round": 2, "batch": batch, "attempts": attempts, "verdicts": verdicts}, runtime)
    assert len(ctx.store.diagnoses("r")) == 1  # a replayed step overwrites, never duplicates


def test_the_stuck_rule_steps_back_half_the_picks_and_says_so_in_the_state(tiny_run_config, tmp_path):
    from types import SimpleNamespace

    cfg = tiny_run_config.model_copy(deep=True)
    cfg.curator.stuck_after = 4
    ctx = make_ctx(cfg, tmp_path)
    # whatever the strategy picks, the Curator applies the stuck rule to it
    ctx.strategy = SimpleNamespace(name="fixed", choose=lambda skills, mastery, n, rng: [Pick("subtraction", 1, "fixed")] * n)
    mastery = {"addition": Mastery(skill="addition", ability=4.0),
               "subtraction": Mastery(skill="subtraction", ability=-1.5, recent=(False,) * 4)}
    update = curate({"step": 1, "mastery": mastery}, Runtime(context=ctx, stream_writer=lambda e: None))
    skills = Counter(t.skill for t in update["batch"])
    # level 1 already: back to its prerequisite, for half the picks; the other half keep probing the
    # skill, so it can come unstuck (moving all of them locked a skill out for the rest of a run)
    assert skills["addition"] == skills["subtraction"] == cfg.curator.batch_size // 2
    assert "stuck on subtraction" in update["curator_note"]
    assert any("stuck on subtraction" in s for s in update["curator_log"]["stepped_back"])
    assert all("prerequisite" in t.provenance.reason for t in update["batch"] if t.skill == "addition")
    mastery["subtraction"] = Mastery(skill="subtraction", ability=-1.5, recent=(False,) * 3 + (True,))
    unstuck = curate({"step": 2, "mastery": mastery}, Runtime(context=ctx, stream_writer=lambda e: None))
    assert {t.skill for t in unstuck["batch"]} == {"subtraction"} and "stuck" not in unstuck["curator_note"]


def test_progress_plays_where_accuracy_changes_and_reviews_mastered_skills():
    skills = SkillGraph.builtin()
    mastery = {"addition": Mastery(skill="addition", ability=4.0, recent=(True,) * 12),
               "subtraction": Mastery(skill="subtraction", ability=0.0, recent=(False,) * 6 + (True,) * 6),
               "multiplication": Mastery(skill="multiplication", ability=-1.0, recent=(False,) * 12)}
    assert learning_progress(mastery["subtraction"]) == 1.0 and learning_progress(mastery["multiplication"]) == 0.0
    counts = Counter(p.skill for p in make_strategy("progress", CuratorConfig()).choose(skills, mastery, 600, random.Random(1)))
    assert counts["subtraction"] > 3 * counts["multiplication"]
    assert 0.08 < counts["addition"] / 600 < 0.25  # review of the mastered skill
    # no prerequisite gate: gcd waits on remainder and division, which nobody has mastered here
    assert counts["gcd"] > 0 and not is_mastered(mastery.get("division"), CuratorConfig())


def test_progress_weighs_a_skill_by_the_openness_of_the_level_it_would_teach():
    """Equal learning progress, both taught at level 1: a level of a few dozen facts (addition: ~90
    distinct tasks, its held-out facts never shown) gets a share in proportion to its size against an
    open one (chain_sum: ~250)."""
    from cosr.agents.curriculum import openness

    skills = SkillGraph.from_dict({"skills": [
        {"name": "facts", "domain": "math", "generator": "addition"},
        {"name": "open", "domain": "math", "generator": "chain_sum"}]})
    # p(L1) ~ 0.6 in the band, p(L2) ~ 0.05 below it: level 1 is the one each would be taught at
    mastery = {s: Mastery(skill=s, ability=-2.0, by_level={1: (6.0, 10.0)}) for s in ("facts", "open")}
    picks = Counter((p.skill, p.level) for p in make_strategy("progress", CuratorConfig()).choose(
        skills, mastery, 3000, random.Random(4)))
    assert set(picks) == {("facts", 1), ("open", 1)}
    expected = openness(skills, "facts", 1) / openness(skills, "open", 1)
    assert expected < 0.5
    assert abs(picks[("facts", 1)] / picks[("open", 1)] - expected) < 0.1, picks


def test_learnability_prefers_coin_flips():
    skills = SkillGraph.builtin()
    mastery = {"addition": Mastery(skill="addition", ability=2.0)}  # p(L3) = 0.5
    picks = make_strategy("learnability", CuratorConfig()).choose(skills, mastery, 400, random.Random(2))
    levels = Counter(p.level for p in picks if p.skill == "addition")
    assert levels.most_common(1)[0][0] == 3 and levels[3] > 4 * levels.get(5, 0)


def test_the_ladder_climbs_in_a_fixed_order():
    skills, ladder = SkillGraph.builtin(), make_strategy("ladder", CuratorConfig())
    assert {(p.skill, p.level) for p in ladder.choose(skills, {}, 8, random.Random(0))} == {("addition", 1)}
    mastered = {"addition": Mastery(skill="addition", ability=2.0)}  # p(L1) = 0.88
    picks = ladder.choose(skills, mastered, 8, random.Random(0))
    assert Counter((p.skill, p.level) for p in picks).most_common(1)[0][0] == ("multiplication", 1)


@pytest.mark.parametrize(("generator", "bonus"), [("chain_sum", True), ("addition", False)])
def test_zpd_favours_an_open_level_one_that_keeps_a_skill_locked(generator, bonus):
    """Two roots the student knows equally well; only one gates a locked skill. Its level 1 gets the
    larger share when the level is open (chain_sum: ~250 distinct tasks), where practice can master
    it; a level of a few dozen facts (addition: ~90) gets no bonus, practice there only drills facts."""
    from cosr.agents.curriculum.zpd import gated
    from cosr.training.evaluation import OPEN

    skills = SkillGraph.from_dict({"skills": [
        {"name": "a", "domain": "math", "generator": generator},
        {"name": "b", "domain": "math", "generator": generator},
        {"name": "c", "domain": "math", "generator": "chain_sum", "prerequisites": ["a"]}]})
    assert (skills.distinct_tasks("a", 1) >= OPEN) is bonus
    same = {"ability": 0.4, "by_level": {1: (6.0, 10.0)}}  # p(L1) ~ 0.6: in the band, below mastery
    mastery = {s: Mastery(skill=s, **same) for s in ("a", "b")}
    zpd = make_strategy("zpd", CuratorConfig())
    assert zpd.unlocked(skills, mastery) == ["a", "b"] and gated(skills, ["a", "b"]) == {"a": 1, "b": 0}
    picks = Counter((p.skill, p.level) for p in zpd.choose(skills, mastery, 2000, random.Random(5)))
    if bonus:
        assert picks[("a", 1)] > 1.5 * picks[("b", 1)] > 0
    else:
        assert 0.8 < picks[("a", 1)] / picks[("b", 1)] < 1.25, picks
    assert not any(skill == "c" for skill, _ in picks)


def test_zpd_gate_bonus_does_not_grow_with_the_number_of_locked_skills():
    """One root gates three locked skills, the other one: their level 1s get the same share, so a
    many-way gate is not drilled at the expense of everything else."""
    skills = SkillGraph.from_dict({"skills": [
        {"name": "a", "domain": "math", "generator": "chain_sum"},  # open level 1s: the gate bonus applies
        {"name": "b", "domain": "math", "generator": "chain_sum"},
        *({"name": n, "domain": "math", "generator": "chain_sum", "prerequisites": ["a"]} for n in "cde"),
        {"name": "f", "domain": "math", "generator": "chain_sum", "prerequisites": ["b"]}]})
    same = {"ability": 0.4, "by_level": {1: (6.0, 10.0)}}
    mastery = {s: Mastery(skill=s, **same) for s in ("a", "b")}
    picks = Counter((p.skill, p.level) for p in make_strategy("zpd", CuratorConfig()).choose(
        skills, mastery, 4000, random.Random(5)))
    assert 0.8 < picks[("a", 1)] / picks[("b", 1)] < 1.25, picks
