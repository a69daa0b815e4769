"""A person climbs one level at a time: the tutoring Curator hands out no task more than one level above the
highest the person has solved on its skill, after a skip as after an answer."""

from __future__ import annotations

from langgraph.runtime import Runtime

from cosr.agents.curator import curate, curate_for_person
from cosr.agents.curriculum import make_strategy
from cosr.agents.diagnostician import update_mastery
from cosr.config import load_config
from cosr.domain import Mastery
from cosr.graphs.context import Context
from cosr.graphs.session import TutorSession
from cosr.graphs.skills import SkillGraph
from cosr.store import TrajectoryStore


def test_after_a_skipped_level_2_task_the_next_task_is_no_harder(tmp_path, math_graph_file):
    """Seed 0 of the math graph: level 1 solved, then a level-2 task, skipped. zpd's draw went on to level 4
    (it had gone from level 1 straight to level 4 the step before, too)."""
    graph = SkillGraph.from_file(math_graph_file)
    cfg = load_config(None, {"run_dir": tmp_path / "s", "skills": math_graph_file, "seed": 0, "max_steps": 10})
    levels, solved, skipped = [], {}, None
    with TutorSession(cfg) as session:
        turn = session.advance()
        while turn is not None:
            task = turn["task"]
            _, skill, level, seed = task["id"].split(":")
            levels.append((skill, task["level"]))
            assert task["level"] <= solved.get(skill, 0) + 1, f"{levels}: above the highest solved {solved}"
            if task["level"] == 2 and skipped is None:
                skipped = len(levels)
                turn = session.advance({"command": "skip"})
                continue
            solved[skill] = max(solved.get(skill, 0), task["level"])
            turn = session.advance({"text": graph.make_task(skill, int(level[1:]), int(seed[1:])).reference})
    assert skipped is not None and len(levels) == 10
    assert levels[skipped][1] <= 2, levels


def test_the_tutoring_curator_caps_what_the_strategy_draws(tmp_path, math_graph_file):
    cfg = load_config(None, {"run_dir": tmp_path, "skills": math_graph_file, "curator.batch_size": 1})
    skills = SkillGraph.from_file(math_graph_file)
    ctx = Context(config=cfg, run_id="t", run_dir=tmp_path, skills=skills, store=TrajectoryStore(tmp_path / "s.sqlite"),
                  student=None, strategy=make_strategy("zpd", cfg.curator))
    runtime = Runtime(context=ctx, stream_writer=lambda e: None)
    # Level 1 of addition solved; a level-2 task skipped (a skip is no evidence: the belief is unchanged).
    mastery = {"addition": update_mastery(Mastery(skill="addition"), [(1, 1.0)], 0.8, 5)}
    drawn = [curate({"step": s, "mastery": mastery}, runtime)["batch"][0] for s in range(40)]
    capped = [curate_for_person({"step": s, "mastery": mastery}, runtime)["batch"][0] for s in range(40)]
    assert max(t.difficulty for t in drawn if t.skill == "addition") >= 4  # self-play's draw, as it was
    assert {t.difficulty for t in capped if t.skill == "addition"} == {1, 2}
    assert all(t.difficulty == 1 for t in capped if t.skill != "addition")  # nothing solved there yet
    assert any("one level at a time: level 2" in t.provenance.reason for t in capped)
