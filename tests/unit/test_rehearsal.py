"""Rehearsal: a broad sample of training tasks, the base student's verified answers to them, kept
for the whole run and mixed into every round."""

from __future__ import annotations

import pytest
from langgraph.runtime import Runtime

from cosr.agents.answer_adapter import extract_answer
from cosr.agents.curator import curate
from cosr.agents.curriculum import make_strategy
from cosr.agents.evaluator import heldout_tasks
from cosr.agents.rehearsal import rehearsal_set, rehearsal_tasks
from cosr.agents.trainer import train, training_examples
from cosr.agents.verifiers import verify_batch
from cosr.domain import Attempt, Trajectory, Verdict
from cosr.graphs.context import Context
from cosr.graphs.skills import SkillGraph
from cosr.store import TrajectoryStore
from cosr.training.backends import make_student


def context(cfg, tmp_path) -> Context:
    skills = SkillGraph.from_file(cfg.skills)
    return Context(config=cfg, run_id="r", run_dir=tmp_path, skills=skills, store=TrajectoryStore(tmp_path / "s.sqlite"),
                   student=make_student(cfg.student), strategy=make_strategy("zpd", cfg.curator),
                   heldout=heldout_tasks(skills, cfg.eval))


@pytest.fixture
def ctx(tiny_run_config, tmp_path) -> Context:
    return context(tiny_run_config, tmp_path)


def test_rehearsal_tasks_cover_every_level_and_no_heldout_task(ctx):
    tasks = rehearsal_tasks(ctx)
    every_level = {(s.name, lv) for s in ctx.skills.skills() for lv in range(1, s.levels + 1)}
    assert {(t.skill, t.difficulty) for t in tasks} == every_level
    assert not any(ctx.skills.heldout_problem(t) for t in tasks)
    n = ctx.config.training.rehearsal_per_level
    for level in every_level:
        prints = [ctx.skills.identity(t) for t in tasks if (t.skill, t.difficulty) == level]
        assert len(prints) == len(set(prints)) <= n  # distinct; fewer only where the level has fewer
    assert {t.provenance.strategy for t in tasks} == {"rehearsal"}
    assert [t.id for t in rehearsal_tasks(ctx)] == [t.id for t in tasks]  # seeded: a resumed run draws the same


def test_runs_of_other_seeds_draw_the_same_rehearsal_tasks(tiny_run_config, tmp_path):
    """What makes the set shareable: it is drawn from training.rehearsal_seed, not the run's seed."""
    def ids(seed: int, rehearsal_seed: int = 0) -> list[str]:
        cfg = tiny_run_config.model_copy(update={"seed": seed, "training": tiny_run_config.training.model_copy(
            update={"rehearsal_seed": rehearsal_seed})})
        return [t.id for t in rehearsal_tasks(context(cfg, tmp_path / f"{seed}-{rehearsal_seed}"))]

    assert ids(0) == ids(7)
    assert ids(0) != ids(0, rehearsal_seed=1)


def test_the_set_holds_only_verified_answers_and_is_kept_once_built(ctx, tmp_path):
    pool = rehearsal_set(ctx)
    by_prompt = {t.prompt: t for t in rehearsal_tasks(ctx)}
    assert pool, "the tiny student solves one-digit addition: its rehearsal set cannot be empty"
    tasks = [by_prompt[p] for p, _ in pool]
    answers = [extract_answer(out, t.answer_format) for t, (_, out) in zip(tasks, pool, strict=True)]
    assert all(v.correct for v in verify_batch(tasks, [a.answer for a in answers]))
    stored = ctx.store.rehearsal("r")
    assert len(stored) == len(by_prompt) > len(pool)  # failures are stored too, but never rehearsed
    # After a round the student answers differently; the set is the one the base student built.
    ctx.store.add_trajectories(solved_batch(ctx))
    train({"step": 1, "round": 1, "round_tasks": 8, "round_verified": 8}, Runtime(context=ctx, stream_writer=lambda e: None))
    assert ctx.student.adapter_version == "round-001"
    again = context(ctx.config, tmp_path)  # a resumed run: a new context on the same store
    again.student.load_adapter(ctx.adapters_dir / "round-001", "round-001")
    assert rehearsal_set(again) == pool


def solved_batch(ctx) -> list[Trajectory]:
    batch = curate({"step": 0}, Runtime(context=ctx, stream_writer=lambda e: None))["batch"]
    return [Trajectory(id=f"r:1:{i}", run_id="r", round=1, step=1, task=t,
                       attempt=Attempt(task_id=t.id, student_id="s", raw_output=" " + t.reference),
                       verdict=Verdict(correct=True, score=1.0, status="correct"))
            for i, t in enumerate(batch)]


@pytest.mark.parametrize("ratio", [0.0, 0.5, 3.0])
def test_a_round_mixes_in_rehearsal_at_its_ratio(tiny_run_config, tmp_path, ratio):
    cfg = tiny_run_config.model_copy(update={"training": tiny_run_config.training.model_copy(update={"rehearsal_ratio": ratio})})
    ctx = context(cfg, tmp_path)
    fresh = solved_batch(ctx)
    ctx.store.add_trajectories(fresh)
    pairs = training_examples(ctx, 1)
    rehearsed = [e for e, who in pairs if who == "rehearsal"]
    pool = rehearsal_set(ctx) if ratio else []
    assert len(rehearsed) == min(len(pool), int(len(fresh) * ratio))
    assert len(pairs) - len(rehearsed) == len(fresh)
    assert {e.completion for e in rehearsed} <= {out for _, out in pool}


def test_demonstrations_are_worked_references_one_per_task_no_sample_solved(tiny_run_config, tmp_path):
    """A failed task's demonstration is its reference written as the embedded student writes (`{worked}`:
    the steps computed from the task's numbers): once per task however many samples failed, and never for
    a task another sample solved (that one has the student's own verified answer)."""
    training = tiny_run_config.training.model_copy(update={"rehearsal_ratio": 0.0, "replay_fraction": 0.0,
                                                           "demonstrations_ratio": 10.0,
                                                           "demonstration_template": " {worked}"})
    ctx = context(tiny_run_config.model_copy(update={"training": training}), tmp_path)
    ctx.config.curator.help.worked_examples = 0  # demonstrations alone (worked examples: tests/unit/test_worked_examples.py)
    batch = solved_batch(ctx)
    solved, unsolved = batch[:3], batch[3:]
    wrong = [t.model_copy(update={"id": f"{t.id}:{k}", "attempt": t.attempt.model_copy(update={"raw_output": f" {k}"}),
                                  "verdict": Verdict(correct=False, score=0.0, status="wrong")})
             for t in batch for k in ("x", "y")]  # two failed samples of every task, solved or not
    ctx.store.add_trajectories(solved + wrong)
    pairs = training_examples(ctx, 1)
    own = [e.completion for e, _ in pairs[:len(solved)]]
    demos = [e.completion for e, _ in pairs[len(solved):]]
    assert own == [" " + t.task.reference for t in solved]
    assert sorted(demos) == sorted(" " + ctx.skills.worked_answer(t.task) for t in unsolved)
    assert all("So the answer is" in d for d in demos)  # arithmetic: steps, then the answer the adapter reads


def test_mixed_only_trains_on_the_tasks_some_sample_failed(tiny_run_config, tmp_path):
    training = tiny_run_config.training.model_copy(update={"rehearsal_ratio": 0.0, "replay_fraction": 0.0,
                                                           "mixed_only": True})
    ctx = context(tiny_run_config.model_copy(update={"training": training}), tmp_path)
    batch = solved_batch(ctx)
    sure, mixed = batch[:3], batch[3:]  # every sample right / one right and one wrong
    wrong = [t.model_copy(update={"id": f"{t.id}:x", "attempt": t.attempt.model_copy(update={"raw_output": " x"}),
                                  "verdict": Verdict(correct=False, score=0.0, status="wrong")}) for t in mixed]
    ctx.store.add_trajectories(batch + wrong)
    assert sorted(e.completion for e, _ in training_examples(ctx, 1)) == sorted(" " + t.task.reference for t in mixed)
    everything = context(tiny_run_config.model_copy(update={"training": training.model_copy(update={"mixed_only": False})}),
                         tmp_path / "all")
    everything.store.add_trajectories(batch + wrong)
    assert len(training_examples(everything, 1)) == len(sure) + len(mixed)
