"""Worked examples (agents/worked_examples.py): fresh problems of a failed task's skill and level, worked
by the teacher, only where the round solved another task of that level, never a held-out problem."""

from __future__ import annotations

import random
from types import SimpleNamespace

import pytest

from cosr.agents.curriculum import make_strategy
from cosr.agents.teacher import ANSWER
from cosr.agents.trainer import training_examples
from cosr.agents.worked_examples import practice_tasks, recorded, within_reach, worked_examples
from cosr.domain import Attempt, Provenance, Trajectory, Verdict
from cosr.graphs.context import Context
from cosr.graphs.skills import SkillGraph
from cosr.store import TrajectoryStore
from cosr.training.backends import render_prompt
from cosr.training.data import Example


@pytest.fixture
def ctx(tiny_run_config, tmp_path) -> Context:
    tiny_run_config.training.rehearsal_ratio = 0.0
    tiny_run_config.training.replay_fraction = 0.0
    return Context(config=tiny_run_config, run_id="r", run_dir=tmp_path, skills=SkillGraph.from_file(tiny_run_config.skills),
                   store=TrajectoryStore(tmp_path / "s.sqlite"), student=SimpleNamespace(id="fake", adapter_version=None),
                   strategy=make_strategy("zpd", tiny_run_config.curator))


def stored(ctx: Context, skill: str, level: int, seed: int, correct: bool, n: int = 1, by: str = "zpd") -> list[Trajectory]:
    task = ctx.skills.make_task(skill, level, seed, provenance=Provenance(strategy=by))
    rows = [Trajectory(id=f"t:{ctx.run_id}:{task.id}:{i}:{correct}", run_id=ctx.run_id, round=1, step=1, task=task,
                       attempt=Attempt(task_id=task.id, student_id="fake", raw_output=" " + ctx.skills.worked_answer(task)),
                       verdict=Verdict(correct=correct, score=float(correct), status="correct" if correct else "wrong"))
            for i in range(n)]
    ctx.store.add_trajectories(rows)
    return rows


def test_a_failure_within_reach_gets_fresh_worked_problems_of_its_kind_and_one_past_it_none(ctx):
    ctx.config.curator.help.worked_examples = 3  # the ladder itself stays off
    skill = ctx.skills.names()[0]
    solved = stored(ctx, skill, 2, 1, correct=True)  # the round solved a level-2 task...
    failed = stored(ctx, skill, 2, 2, correct=False, n=4)  # ...and failed another: within reach
    past = stored(ctx, skill, 3, 3, correct=False, n=4)  # nothing at level 3 solved: past the student
    tasks = practice_tasks(ctx, failed[:1] + past[:1], within_reach(solved), 3, random.Random(0))
    assert len(tasks) == 3 and {(t.skill, t.difficulty) for t in tasks} == {(skill, 2)}
    assert len({t.prompt for t in tasks}) == 3 and failed[0].task.prompt not in {t.prompt for t in tasks}
    assert not any(ctx.skills.heldout_problem(t) for t in tasks)  # training problems only
    assert all(t.provenance.strategy == "zpd" for t in tasks)  # attributed to the strategy that chose the failure

    render = ctx.config.student
    assert worked_examples(ctx, tasks) == [(Example(prompt=render_prompt(render, t.prompt),
                                                    completion=" " + ctx.skills.worked_answer(t)), "zpd") for t in tasks]

    pairs = training_examples(ctx, 1)  # the trainer adds them after the round's own verified answer
    assert len(pairs) == 1 + 3 and all(who == "zpd" for _, who in pairs)
    written = list(recorded(ctx.run_dir))  # and writes them down for cosr audit, prompt by prompt
    assert [render_prompt(render, p) for *_, p in written] == [e.prompt for e, _ in pairs[1:]]
    assert all(skill_ == skill and level == 2 for _, skill_, level, _ in written)
    added = [e for e, _ in pairs[1:]]
    assert render_prompt(render, failed[0].task.prompt) not in {e.prompt for e in added}
    assert all(ANSWER in e.completion for e in added)  # worked solutions, as the pretraining wrote them


def test_no_worked_examples_when_off_nor_for_the_baselines(ctx):
    skill = ctx.skills.names()[0]
    stored(ctx, skill, 2, 1, correct=True)
    stored(ctx, skill, 2, 2, correct=False, n=4)
    ctx.config.curator.help.worked_examples = 0
    assert len(training_examples(ctx, 1)) == 1
    ctx.config.curator.help.worked_examples = 3
    assert len(training_examples(ctx, 1)) == 1 + 3
    baseline = Context(**{**vars(ctx), "run_id": "b", "strategy": make_strategy("random", ctx.config.curator)})
    stored(baseline, skill, 2, 1, correct=True, by="random")
    stored(baseline, skill, 2, 2, correct=False, n=4, by="random")
    assert len(training_examples(baseline, 1)) == 1  # random and the threshold rule stay plain
