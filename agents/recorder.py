"""Record node: every attempt, with its task and verdict, is written to the store before the graph moves on.

Ids come from the checkpointed state (run, step, task), so a step replayed after a crash inserts
nothing twice."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from cosr.domain import Attempt, Trajectory, Verdict, distinct
from cosr.graphs.context import Context
from cosr.graphs.state import SelfPlayState
from cosr.training.results import BatchEvent


def trajectory_id(run_id: str, step: int, index: int, task_id: str, tries: int = 0, help_rung: int | None = None) -> str:
    """Stable id of one attempt; a person's later tries at one task (tutoring) and the answers the student
    wrote with the Teacher's help (agents/teacher.py) are keyed apart."""
    return (f"{run_id}:{step}:{index}:{task_id}" + (f":try{tries + 1}" if tries else "")
            + (f":help{help_rung}" if help_rung is not None else ""))


def record(state: SelfPlayState, runtime: Runtime[Context]) -> dict[str, Any]:
    ctx = runtime.context
    step, rnd = state["step"], state["round"]
    tasks = {t.id: t for t in state["batch"]}

    def stored(attempts: list[Attempt], verdicts: list[Verdict], tries: int = 0) -> list[Trajectory]:
        return [Trajectory(id=trajectory_id(ctx.run_id, step, i, a.task_id, tries, a.help.rung if a.help else None),
                           run_id=ctx.run_id, round=rnd, step=step, task=tasks[a.task_id], attempt=a, verdict=v)
                for i, (a, v) in enumerate(zip(attempts, verdicts, strict=True))]

    items = stored(state["attempts"], state["verdicts"], state.get("tries", 0))
    helped = stored(state.get("help_attempts") or [], state.get("help_verdicts") or [])
    ctx.store.add_trajectories(items + helped)
    verified = len(distinct([t for t in items if t.verdict.correct]))  # what the round can train on
    solved_with_help = len({t.task.id for t in helped if t.verdict.correct})
    runtime.stream_writer(BatchEvent(round=rnd, step=step, tasks=len(tasks), verified=verified,
                                     helped=len({t.task.id for t in helped}), solved_with_help=solved_with_help,
                                     note=state.get("curator_note", "")))
    return {"round_tasks": state.get("round_tasks", 0) + len(tasks),
            "round_verified": state.get("round_verified", 0) + verified + solved_with_help}
