"""Each node alone: a state in, the partial update out, with a real tiny student and a real store."""

from __future__ import annotations

import pytest
from langgraph.runtime import Runtime

from cosr.agents.answer_adapter import adapt
from cosr.agents.curator import curate
from cosr.agents.curriculum import make_strategy
from cosr.agents.diagnostician import diagnose
from cosr.agents.evaluator import evaluate, heldout_tasks
from cosr.agents.recorder import record
from cosr.agents.student import attempt
from cosr.agents.trainer import train
from cosr.agents.verifier import verify
from cosr.domain import Attempt
from cosr.graphs.context import Context
from cosr.graphs.skills import SkillGraph
from cosr.store import TrajectoryStore
from cosr.training.backends import make_student


@pytest.fixture
def runtime(tiny_run_config, tmp_path):
    cfg = tiny_run_config
    skills = SkillGraph.from_file(cfg.skills)
    events: list[dict] = []
    ctx = Context(config=cfg, run_id="r", run_dir=tmp_path, skills=skills, store=TrajectoryStore(tmp_path / "s.sqlite"),
                  student=make_student(cfg.student), strategy=make_strategy("zpd", cfg.curator),
                  heldout=heldout_tasks(skills, cfg.eval))
    return Runtime(context=ctx, stream_writer=events.append)


def one_cycle(runtime, state):
    """diagnostician -> curator -> student -> adapter -> verifier -> record, merging updates as the graph does."""
    for node in (diagnose, curate, attempt, adapt, verify):
        update = node(state, runtime)
        state = {**state, **update, "step": state.get("step", 0) + update.get("step", 0)}
    return {**state, **record(state, runtime)}


def test_curator_makes_a_deterministic_batch_with_provenance(runtime):
    state = {"step": 4, "mastery": {}}
    a, b = curate(state, runtime), curate(state, runtime)
    assert [t.id for t in a["batch"]] == [t.id for t in b["batch"]]  # a replayed step picks the same tasks
    assert len(a["batch"]) == runtime.context.config.curator.batch_size
    assert a["step"] == 1 and a["curator_note"].startswith("zpd:")
    assert {t.provenance.strategy for t in a["batch"]} == {"zpd"}


def test_student_and_adapter_fill_every_attempt(runtime):
    batch = curate({"step": 0}, runtime)["batch"]
    attempts = attempt({"batch": batch}, runtime)["attempts"]
    k = runtime.context.config.student.samples_per_task
    assert k > 1 and [a.task_id for a in attempts] == [t.id for t in batch for _ in range(k)]
    assert all(a.student_id.startswith("hf:") and a.adapted_answer is None for a in attempts)
    adapted = adapt({"batch": batch, "attempts": attempts}, runtime)["attempts"]
    assert all(a.adapter_note for a in adapted)
    assert all(a.raw_output == b.raw_output for a, b in zip(adapted, attempts, strict=True))


def test_verifier_judges_the_adapted_answers(runtime):
    batch = curate({"step": 0}, runtime)["batch"][:3]
    answers = [batch[0].reference, "-123456", None]
    attempts = [Attempt(task_id=t.id, student_id="s", raw_output=str(a), adapted_answer=a, adapter_note="test")
                for t, a in zip(batch, answers, strict=True)]
    verdicts = verify({"batch": batch, "attempts": attempts}, runtime)["verdicts"]
    assert [v.status for v in verdicts] == ["correct", "wrong", "unparseable"]


def test_the_verifier_judges_repeated_answers_once_and_keeps_the_order(runtime):
    """Samples of one task often repeat an answer: verified once, each attempt still gets its own verdict."""
    batch = curate({"step": 0}, runtime)["batch"][:2]
    a, b = batch
    plan = [(a, a.reference), (a, "-99"), (b, "-99"), (a, a.reference), (b, b.reference), (a, "-99")]
    attempts = [Attempt(task_id=t.id, student_id="s", raw_output=x, adapted_answer=x) for t, x in plan]
    verdicts = verify({"batch": batch, "attempts": attempts}, runtime)["verdicts"]
    assert [v.correct for v in verdicts] == [True, False, False, True, True, False]


def test_record_is_idempotent_and_counts_the_round(runtime):
    state = one_cycle(runtime, {"step": 0, "round": 1, "run_id": "r"})
    store = runtime.context.store
    n, k = store.count("r"), runtime.context.config.student.samples_per_task
    assert state["round_tasks"] == runtime.context.config.curator.batch_size == store.tasks("r")
    assert n == state["round_tasks"] * k  # every sample is a trajectory
    correct = [t for t in store.trajectories("r") if t.verdict.correct]
    assert state["round_verified"] == len({(t.task.id, t.attempt.raw_output) for t in correct})
    record(state, runtime)  # a replay after a crash
    assert store.count("r") == n
    events = runtime.stream_writer.__self__  # the list the fixture collects progress events in
    assert events[-1].event == "batch" and events[-1].tasks == runtime.context.config.curator.batch_size


def test_diagnostician_learns_from_the_batch_and_clears_it(runtime):
    state = one_cycle(runtime, {"step": 0, "round": 1, "run_id": "r"})
    update = diagnose(state, runtime)
    seen = {t.skill for t in state["batch"]}
    # a task's samples are one observation: attempts count tasks, correct the share of samples verified
    per_skill = {s: sum(t.skill == s for t in state["batch"]) for s in seen}
    assert {s: update["mastery"][s].attempts for s in seen} == per_skill
    assert update["batch"] == [] and update["verdicts"] == []
    wrong = sum(not v.correct for v in state["verdicts"])
    assert sum(update["diagnosis"]["failures"].values()) == wrong


def test_trainer_trains_an_adapter_on_verified_work_and_swaps_it_in(runtime):
    from cosr.domain import Trajectory, Verdict

    ctx = runtime.context
    ctx.config.curator.help.worked_examples = 0  # the round's own answers only (worked examples: their own test)
    batch = curate({"step": 0}, runtime)["batch"]
    # Half of the batch solved (the attempt says the reference), half failed: only the solved half trains.
    items = [Trajectory(id=f"r:1:{i}:{j}", run_id="r", round=1, step=1, task=t,
                        attempt=Attempt(task_id=t.id, student_id="s", raw_output=" " + (t.reference if i % 2 else "0")),
                        verdict=Verdict(correct=bool(i % 2), score=float(i % 2), status="correct" if i % 2 else "wrong"))
             for i, t in enumerate(batch) for j in range(2)]  # each task sampled twice, the same output
    ctx.store.add_trajectories(items)
    items = items[::2]
    update = train({"step": 1, "round": 1, "round_tasks": len(items), "round_verified": len(items) // 2}, runtime)
    info = ctx.store.rounds("r")[1]
    assert update["adapter"] == "round-001" == ctx.student.adapter_version
    assert (ctx.adapters_dir / "round-001" / "adapter_model.safetensors").exists()
    # a repeated output is one example; rehearsal adds the base student's own correct answers
    assert info["examples_by_strategy"]["zpd"] == len(items) // 2 and info["steps"] >= 1
    assert info["examples"] == len(items) // 2 + info["examples_by_strategy"].get("rehearsal", 0)
    assert ctx.student.generate(["What is 1 + 1?"], temperature=0.0, max_new_tokens=2)  # serves with the adapter


def test_trainer_skips_a_round_with_nothing_verified(runtime):
    update = train({"step": 1, "round": 1, "round_tasks": 8, "round_verified": 0}, runtime)
    assert update["adapter"] is None and runtime.context.student.adapter_version is None
    assert runtime.context.store.rounds("r")[1]["skipped"] == "no verified trajectories this round"


def test_evaluator_records_a_baseline_then_rounds(runtime):
    first = evaluate({"round": 1}, runtime)
    assert first["rounds_done"] == 0 and first["round"] == 1
    assert set(first["evaluations"]["0"]) == set(runtime.context.skills.names())
    second = evaluate({**first, "round": 1}, runtime)
    assert second["rounds_done"] == 1 and second["round"] == 2
    assert sorted(runtime.context.store.evaluations("r")) == [0, 1]


def test_the_evaluator_takes_a_baseline_the_store_already_holds(runtime):
    ctx = runtime.context
    # every held-out task marked solved: the real tiny student solves far fewer, so 100% can only be the stored one
    ctx.store.record_evaluation("r", 0, {}, None, per_task=[(t.id, t.skill, t.difficulty, True) for t in ctx.heldout])
    first = evaluate({"round": 1}, runtime)
    assert set(first["evaluations"]["0"].values()) == {1.0}
    second = evaluate({**first, "round": 1}, runtime)  # a round after the baseline is always measured
    assert min(second["evaluations"]["1"].values()) < 1.0


def test_a_round_delivers_its_interpolated_student_and_self_play_goes_on_from_the_trained_one(runtime):
    """training.interpolation below 1: the evaluator judges base + w x the trained change (WiSE-FT), then the
    student serves the trained adapter again, the one the next round's self-play and training start from."""
    import sqlite3

    from cosr.agents.evaluator import evaluate_student
    from cosr.domain import Trajectory, Verdict
    from cosr.training.export import interpolates

    ctx = runtime.context
    assert interpolates(ctx.config.training.interpolation)  # the default interpolates
    batch = curate({"step": 0}, runtime)["batch"]
    ctx.store.add_trajectories([Trajectory(id=f"r:1:{i}", run_id="r", round=1, step=1, task=t,
                                           attempt=Attempt(task_id=t.id, student_id="s", raw_output=" " + t.reference),
                                           verdict=Verdict(correct=True, score=1.0, status="correct"))
                                for i, t in enumerate(batch)])
    first = evaluate({"round": 1}, runtime)
    update = train({"step": 1, "round": 1, "round_tasks": len(batch), "round_verified": len(batch)}, runtime)
    folder = ctx.adapters_dir / "round-001" / "interpolated"
    assert update["adapter"] == "round-001" and (folder / "adapter_model.safetensors").exists()
    evaluate({**first, **update, "round": 1}, runtime)
    assert ctx.student.adapter_version == "round-001"  # back on the trained adapter
    with sqlite3.connect(ctx.store.path) as db:
        judged = dict(db.execute("SELECT round, adapter FROM evaluations WHERE run_id = 'r'").fetchall())
        outcomes = dict(db.execute("SELECT task_id, correct FROM evaluation_tasks WHERE round = 1").fetchall())
    assert judged == {0: None, 1: "round-001-interpolated"}
    other = make_student(ctx.config.student)
    other.load_adapter(folder, "w")
    again = evaluate_student(other, ctx.heldout, ctx.config.student, ctx.executor)
    assert [bool(outcomes[t.id]) for t in ctx.heldout] == again
