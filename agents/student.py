"""Student node: the student attempts the whole batch in one call to its backend, `samples_per_task`
samples of each task (attempts come task by task, each keyed by its task's id)."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from cosr.domain import Attempt
from cosr.graphs.context import Context
from cosr.graphs.state import SelfPlayState


def attempt(state: SelfPlayState, runtime: Runtime[Context]) -> dict[str, Any]:
    ctx = runtime.context
    cfg = ctx.config.student
    batch = [t for t in state["batch"] for _ in range(cfg.samples_per_task)]
    outputs = ctx.student.generate([t.prompt for t in batch], temperature=cfg.temperature,
                                   max_new_tokens=cfg.max_new_tokens)
    return {"attempts": [
        Attempt(task_id=t.id, student_id=ctx.student.id, adapter_version=ctx.student.adapter_version,
                raw_output=g.text, duration_s=round(g.duration_s, 4), completion_tokens=g.completion_tokens)
        for t, g in zip(batch, outputs, strict=True)
    ]}
