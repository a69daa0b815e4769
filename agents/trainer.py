"""Train node: a LoRA round on this round's verified trajectories plus a replay of earlier rounds',
then the new adapter is swapped into the student."""

from __future__ import annotations

import random
import shutil
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from langgraph.runtime import Runtime

from cosr.agents.curriculum.teachers import attribute
from cosr.agents.mistakes import STRATEGY as MISTAKES
from cosr.agents.mistakes import by_task, rloo_examples
from cosr.agents.rehearsal import STRATEGY as REHEARSAL
from cosr.agents.rehearsal import rehearsal_set
from cosr.agents.teacher import hinted_prompt, wants_help
from cosr.agents.teaching_gain import arm_examples, measures_teachers, validation_counts
from cosr.agents.worked_examples import practice_tasks, record, within_reach, worked_examples
from cosr.domain import Trajectory, distinct
from cosr.graphs.context import Context
from cosr.graphs.state import SelfPlayState
from cosr.training.backends import render_prompt
from cosr.training.data import Example
from cosr.training.export import INTERPOLATED, interpolate_adapter, interpolates
from cosr.training.lora import train_lora
from cosr.training.results import RoundResult, TrainedEvent


def training_examples(ctx: Context, rnd: int) -> list[tuple[Example, str]]:
    """Verified trajectories of round `rnd` (with training.mixed_only, of its tasks that some sample failed),
    teacher demonstrations for some of its failures, worked examples beside those within reach (help's
    strategies), earlier rounds' verified trajectories in proportion replay_fraction, and rehearsal of the
    base student's own correct answers (rehearsal_ratio); each with the curriculum strategy that made its
    task (teacher attribution)."""
    cfg, help_cfg = ctx.config.training, ctx.config.curator.help
    rng = random.Random(f"{ctx.config.seed}:train:{rnd}")
    verified = ctx.store.trajectories(ctx.run_id, correct=True, round=rnd)
    fresh = distinct([t for t in verified if t.attempt.help is None])
    helped: dict[str, Trajectory] = {}
    for t in verified:  # one a task: the ladder stops at the first rung that solves it
        if t.attempt.help is not None:
            helped.setdefault(t.task.id, t)
    # Failures are read only when needed: with k samples a task they are most of a round.
    failed = (ctx.store.trajectories(ctx.run_id, correct=False, round=rnd)
              if cfg.demonstrations_ratio or cfg.mixed_only or help_cfg.worked_examples else [])
    if cfg.mixed_only:
        missed = {t.task.id for t in failed}
        fresh = [t for t in fresh if t.task.id in missed]
    # Demonstrations: one per task, and only for tasks no sample solved (a solved one has the student's answer).
    solved = {t.task.id for t in fresh}
    unsolved = list({t.task.id: t for t in failed if t.task.id not in solved}.values())
    demos = rng.sample(unsolved, min(len(unsolved), int(len(fresh) * cfg.demonstrations_ratio)))
    taught = [t for t in unsolved if wants_help(t.task, ctx.strategy.name, help_cfg)]  # cosr's teachers, not the baselines
    practice = practice_tasks(ctx, taught, within_reach(fresh), help_cfg.worked_examples, rng)
    if practice:
        record(ctx.run_dir, rnd, practice)  # for cosr audit: the store never sees them
    older = distinct([t for t in ctx.store.trajectories(ctx.run_id, correct=True, max_round=rnd - 1) if t.attempt.help is None])
    n_replay = min(len(older), int(len(fresh) * cfg.replay_fraction / max(1e-9, 1 - cfg.replay_fraction)))
    replay = rng.sample(older, n_replay)
    pool = rehearsal_set(ctx) if cfg.rehearsal_ratio else []
    rehearsed = rng.sample(pool, min(len(pool), int(len(fresh) * cfg.rehearsal_ratio)))
    # Learning from mistakes (training.objective "rloo", agents/mistakes.py): the round's wrong samples of tasks
    # some sample solved, weighted by their (negative) leave-one-out advantage; the right ones stay as above.
    mistakes = (rloo_examples(by_task(ctx.store.trajectories(ctx.run_id, round=rnd)), ctx.config.student,
                              negative_weight=cfg.negative_weight, positives=False) if cfg.objective == "rloo" else [])
    render = ctx.config.student
    return ([(own_attempt(ctx, t), t.task.provenance.strategy) for t in fresh + replay]
            + [(helped_attempt(ctx, t), t.task.provenance.strategy) for t in helped.values()]
            + [(demonstration(ctx, t), t.task.provenance.strategy) for t in demos]
            + [(Example(prompt=render_prompt(render, prompt), completion=out), REHEARSAL) for prompt, out in rehearsed]
            + [(e, MISTAKES) for e in mistakes] + worked_examples(ctx, practice))


def own_attempt(ctx: Context, t: Trajectory) -> Example:
    return Example(prompt=render_prompt(ctx.config.student, t.task.prompt),
                   completion=t.attempt.raw_output)


def helped_attempt(ctx: Context, t: Trajectory) -> Example:
    """A task the student solved with the Teacher's help (agents/teacher.py), trained as `curator.help.form`
    says: "hinted", the hint and the worked start in the prompt and the student's own words as the answer;
    "bare", the task alone and the start plus the student's words as the answer."""
    h, render = t.attempt.help, ctx.config.student
    if ctx.config.curator.help.form == "bare":
        return Example(prompt=render_prompt(render, t.task.prompt), completion=t.attempt.text)
    return Example(prompt=render_prompt(render, hinted_prompt(t.task, h.hint)) + h.prefix, completion=t.attempt.raw_output)


def demonstration(ctx: Context, t: Trajectory) -> Example:
    """The task's reference (it passes the task's own verifier: see the generator conformance tests), bare
    (`{reference}`) or worked the way the embedded student writes (`{worked}`: the steps computed from the
    task's own numbers, then `So the answer is X`; the bare reference for a task without steps, code)."""
    completion = (ctx.config.training.demonstration_template.replace("{reference}", t.task.reference)
                  .replace("{worked}", ctx.skills.worked_answer(t.task)))
    return Example(prompt=render_prompt(ctx.config.student, t.task.prompt),
                   completion=completion)


@contextmanager
def written_whole(out: Path) -> Iterator[Path]:
    """A folder to fill under a name no reader takes for a round's adapter (they look for round-*), renamed
    to `out` once whole: a save cut short (a full disk, a kill) leaves no half adapter that a resume or
    `cosr export` would take for a finished one, and gives its space back at once when it can."""
    partial = out.with_name(f".partial-{out.name}")
    shutil.rmtree(partial, ignore_errors=True)  # left by a process killed mid-save
    try:
        yield partial
        # An `out` already there is a whole adapter of this round whose train step was never checkpointed
        # (the run stopped right after it): the step is redone, and its adapter replaces that one.
        shutil.rmtree(out, ignore_errors=True)
        partial.rename(out)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise


def train(state: SelfPlayState, runtime: Runtime[Context]) -> dict[str, Any]:
    ctx = runtime.context
    rnd = state["round"]
    student = ctx.student
    pairs = training_examples(ctx, rnd)
    examples = [e for e, _ in pairs]
    info: dict[str, Any] = {"round": rnd, "tasks": state.get("round_tasks", 0),
                            "verified": state.get("round_verified", 0), "examples": len(examples),
                            "examples_by_strategy": dict(Counter(s for _, s in pairs)),
                            "helped": ctx.store.helped_tasks(ctx.run_id, rnd)}
    if student.trainable_path is None:
        info["skipped"] = "the student has no local weights to train (set student.model to a local folder)"
    elif not examples:
        info["skipped"] = "no verified trajectories this round"
    else:
        out = ctx.adapters_dir / f"round-{rnd:03d}"
        previous = ctx.adapters_dir / state["adapter"] if state.get("adapter") else None
        if measured := measures_teachers(ctx):  # each teacher's examples, and where they stand before training
            by_arm = arm_examples(ctx, rnd)
            before = validation_counts(ctx, {k for c in by_arm.values() for k in c})
        train_round = ctx.train_lora or train_lora  # the Context's when the round runs on Ray (graphs/workers.py)
        with written_whole(out) as folder:
            stats = train_round(student.trainable_path, examples, ctx.config.training, folder,
                                init_adapter=previous, seed=ctx.config.seed + rnd, round_no=rnd)
            if interpolates(ctx.config.training.interpolation):  # the student this round delivers (the evaluator's)
                interpolate_adapter(folder, folder / INTERPOLATED, ctx.config.training.interpolation)
        student.load_adapter(out, out.name)  # self-play goes on from the trained adapter
        info.update(stats.to_dict(), adapter=out.name)
        if measured:
            info["teachers"] = attribute(by_arm, before, validation_counts(ctx, set(before)))
    ctx.store.record_round(ctx.run_id, rnd, info)
    runtime.stream_writer(TrainedEvent(result=RoundResult.model_validate(info)))
    return {"adapter": info.get("adapter", state.get("adapter"))}
