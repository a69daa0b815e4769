"""Record node: every task, attempt and verdict is written to the store before the graph moves on.

Ids come from the checkpointed state (run, step, task), so a step replayed after a crash inserts
nothing twice."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from cosr.domain import Trajectory
from cosr.graphs.context import Context
from cosr.graphs.state import SelfPlayState


def trajectory_id(run_id: str, step: int, index: int, task_id: str, tries: int = 0) -> str:
    """Stable id of one attempt; a person's later tries at one task (tutoring) are keyed apart."""
    return f"{run_id}:{step}:{index}:{task_id}" + (f":try{tries + 1}" if tries else "")


def record(state: SelfPlayState, runtime: Runtime[Context]) -> dict[str, Any]:
    ctx = runtime.context
    step, rnd = state["step"], state["round"]
    items = [
        Trajectory(id=trajectory_id(ctx.run_id, step, i, task.id, state.get("tries", 0)), run_id=ctx.run_id,
                   round=rnd, step=step, task=task, attempt=a, verdict=v)
        for i, (task, a, v) in enumerate(zip(state["batch"], state["attempts"], state["verdicts"], strict=True))
    ]
    ctx.store.add_trajectories(items)
    verified = sum(v.correct for v in state["verdicts"])
    runtime.stream_writer({"event": "batch", "round": rnd, "step": step, "tasks": len(items), "verified": verified,
                           "note": state.get("curator_note", "")})
    return {"round_tasks": state.get("round_tasks", 0) + len(items),
            "round_verified": state.get("round_verified", 0) + verified}
