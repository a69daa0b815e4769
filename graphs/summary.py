"""A run's summary, made from its store when a session ends: held-out accuracy per round, the frontiers,
the rounds, the audit, and the learning-curve picture beside it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cosr.graphs.audit import summary_audit
from cosr.graphs.context import Context
from cosr.training.evaluation import attribute_gains, frontiers, label, overall, skill_accuracy
from cosr.training.plots import learning_curve
from cosr.training.results import LastSession, RoundResult, RunSummary

FILES = {"store": "store.sqlite", "checkpoints": "checkpoints.sqlite", "adapters": "adapters/", "config": "config.json"}


def summarize(ctx: Context, final: dict[str, Any], embedded: Path | None, seconds: float, steps: int,
              tasks_done: int) -> RunSummary:
    """The run's figures from its store and final graph state; `seconds`, `steps` and `tasks_done` are this
    session's (a resumed run counts from where it resumed); `embedded`: the embedded student's folder, if it ran."""
    store, run_id = ctx.store, ctx.run_id
    evals = store.evaluations(run_id)
    accuracy = {str(r): skill_accuracy(per) for r, per in evals.items()}
    overall_by_round = {str(r): overall(per) for r, per in evals.items()}
    levels = store.evaluation_levels(run_id)
    rounds = {r: RoundResult.model_validate(info) for r, info in store.rounds(run_id).items()}
    last = str(max(evals)) if evals else None
    files = dict(FILES)
    if accuracy:
        learning_curve(accuracy, ctx.run_dir / "learning_curve.png", f"held-out accuracy, run {run_id}")
        files["learning_curve"] = "learning_curve.png"
    return RunSummary(
        run_id=run_id,
        run_dir=str(ctx.run_dir),
        rounds_completed=final.get("rounds_done", 0),
        rounds_requested=ctx.config.rounds,
        steps=final.get("step", 0),
        tasks=store.tasks(run_id),
        tasks_solved=store.tasks(run_id, solved=True),
        attempts=store.count(run_id),
        verified_trajectories=store.count(run_id, correct=True),
        heldout_accuracy=accuracy,
        heldout_overall=overall_by_round,
        heldout_levels={str(r): {label(p): c for p, c in sorted(per.items())} for r, per in levels.items()},
        **frontiers(levels, store.practice(run_id), store.evaluation_tasks(run_id), ctx.skills.distinct_tasks),
        learning_gain=({s: round(accuracy[last][s] - accuracy["0"][s], 4) for s in accuracy["0"]}
                       if last and "0" in accuracy else {}),
        rounds=rounds,
        attribution=attribute_gains(levels, store.verified_by_strategy(run_id)),
        adapter=final.get("adapter"),
        student=ctx.student.id,
        strategy=ctx.strategy.name,
        last_session=LastSession(seconds=round(seconds, 1), graph_steps=steps, tasks=tasks_done,
                                 tasks_per_second=round(tasks_done / seconds, 2) if seconds else None),
        # no held-out problem among what the run trained on (cosr audit RUN_DIR checks every level, more tasks)
        audit=summary_audit(ctx.run_dir, ctx.config, embedded),
        split=ctx.config.eval.split,
        files=files,
    )
