"""Evaluate node: held-out accuracy per skill, before the run (round 0) and after every training
round, on problems of a held-out split that no training path ever draws (graphs/skills/splits.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from langgraph.runtime import Runtime

from cosr.agents.answer_adapter import extract_answer
from cosr.agents.verifiers import verify_batch
from cosr.config import EvalConfig, StudentConfig
from cosr.domain import Task, accuracy
from cosr.graphs.context import Context
from cosr.graphs.skills import splits
from cosr.graphs.state import SelfPlayState
from cosr.training.evaluation import band_pairs, per_level, per_skill, skill_accuracy
from cosr.training.export import INTERPOLATED, delivered_adapter
from cosr.training.results import EvaluationEvent


def heldout_tasks(skills, cfg: EvalConfig) -> list[Task]:
    """The run's held-out tasks: distinct problems of its split (`eval.split`), `per_skill` at most."""
    return splits.heldout_tasks(skills, cfg.per_skill, cfg.levels, cfg.split)


def answer(student, tasks: list[Task], student_cfg: StudentConfig, executor, *, temperature: float) -> tuple[list[str], list[bool]]:
    """One answer per task at `temperature`: the raw outputs and whether each was verified correct."""
    outs = student.generate([t.prompt for t in tasks], temperature=temperature, max_new_tokens=student_cfg.max_new_tokens)
    extracted = [extract_answer(g.text, t.answer_format) for t, g in zip(tasks, outs, strict=True)]
    verdicts = verify_batch(tasks, [e.answer for e in extracted], executor, notes=[e.note for e in extracted])
    return [g.text for g in outs], [v.correct for v in verdicts]


def evaluate_student(student, tasks: list[Task], student_cfg: StudentConfig, executor, *, k: int = 1,
                     temperature: float | None = None) -> list[bool]:
    """Whether each task was solved. k=1: one attempt each, greedy by default (student.eval_temperature);
    k>1: pass@k, k samples each at `temperature`, a task solved if any sample is verified correct."""
    temp = student_cfg.eval_temperature if temperature is None else temperature
    solved = [False] * len(tasks)
    for _ in range(k):
        _, correct = answer(student, tasks, student_cfg, executor, temperature=temp)
        solved = [s or c for s, c in zip(solved, correct, strict=True)]
    return solved


@contextmanager
def delivered(ctx: Context, adapter: str | None) -> Iterator[Any]:
    """The student the round delivers: its interpolated adapter when the trainer wrote one
    (training.interpolation below 1), then back to the trained adapter, which self-play goes on from."""
    folder = delivered_adapter(ctx.adapters_dir / adapter) if adapter else None
    if folder is None or folder.name != INTERPOLATED:
        yield ctx.student
        return
    ctx.student.load_adapter(folder, f"{adapter}-{INTERPOLATED}")
    try:
        yield ctx.student
    finally:
        ctx.student.load_adapter(ctx.adapters_dir / adapter, adapter)


def evaluate(state: SelfPlayState, runtime: Runtime[Context]) -> dict[str, Any]:
    ctx = runtime.context
    evaluations = dict(state.get("evaluations") or {})
    rnd = 0 if not evaluations else state["round"]
    solved = _stored_baseline(ctx) if rnd == 0 and not state.get("adapter") else None
    tasks, version = ctx.heldout, None  # the base student's
    if solved is None:
        tasks = _between_rounds(ctx, rnd) or tasks
        with delivered(ctx, state.get("adapter")) as student:
            solved = evaluate_student(student, tasks, ctx.config.student, ctx.executor)
            version = student.adapter_version
    skills = record(ctx, rnd, solved, version, tasks)
    partial = len(tasks) < len(ctx.heldout)
    evaluations[str(rnd)] = skill_accuracy(skills)
    runtime.stream_writer(EvaluationEvent(round=rnd, accuracy=evaluations[str(rnd)], partial=partial,
                                          pooled=round(accuracy(sum(solved), len(solved)), 4)))
    return {"evaluations": evaluations, "rounds_done": rnd, "round": rnd + 1, "round_tasks": 0, "round_verified": 0}


def _between_rounds(ctx: Context, rnd: int) -> list[Task] | None:
    """The held-out tasks of the levels whose baseline lies in `eval.between_rounds`, after a round before the
    last; None: every task (the setting off, the baseline, the last round, or no baseline stored)."""
    band = ctx.config.eval.between_rounds
    if band is None or not 0 < rnd < ctx.config.rounds:
        return None
    baseline = ctx.store.evaluation_levels(ctx.run_id).get(0)
    if not baseline:
        return None
    pairs = set(band_pairs(baseline, band))
    return [t for t in ctx.heldout if (t.skill, t.difficulty) in pairs]


def record(ctx: Context, rnd: int, solved: list[bool], version: str | None,
           tasks: list[Task] | None = None) -> dict[str, tuple[int, int]]:
    """Store an evaluation of `tasks` (every held-out task by default): per skill, per level, and each task's
    outcome (the held-out tasks are the same at every round, so gains are read paired). Returns (solved,
    total) per skill. An evaluation of part of the tasks has no per-skill counts (none stored, none returned):
    a skill's accuracy over some of its levels is not its accuracy."""
    tasks = ctx.heldout if tasks is None else tasks
    levels = per_level(tasks, solved)
    skills = per_skill(levels) if len(tasks) == len(ctx.heldout) else {}
    ctx.store.record_evaluation(ctx.run_id, rnd, skills, version, per_level=levels,
                                per_task=[(t.id, t.skill, t.difficulty, ok) for t, ok in zip(tasks, solved, strict=True)])
    return skills


def record_baseline(ctx: Context) -> None:
    """Evaluate the base student (no adapter) and store it as round 0, for the run's evaluate node to find."""
    record(ctx, 0, evaluate_student(ctx.student, ctx.heldout, ctx.config.student, ctx.executor), None)


def _stored_baseline(ctx: Context) -> list[bool] | None:
    """The base student's outcome on every held-out task, if the store already holds it for this run: a
    run resumed after its baseline, or a `cosr compare` run given its siblings' baseline (one student,
    one held-out set, greedy decoding: the same outcomes)."""
    stored = ctx.store.evaluation_tasks(ctx.run_id).get(0, {})
    outcomes = {tid: ok for tasks in stored.values() for tid, ok in tasks.items()}
    if not outcomes or any(t.id not in outcomes for t in ctx.heldout):
        return None
    return [outcomes[t.id] for t in ctx.heldout]
