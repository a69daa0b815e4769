"""Verifier node: deterministic verdicts for the batch's attempts (math symbolically, code in the sandbox)."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from cosr.agents.verifiers import verify_batch
from cosr.graphs.context import Context
from cosr.graphs.state import SelfPlayState


def verify(state: SelfPlayState, runtime: Runtime[Context]) -> dict[str, Any]:
    attempts = state["attempts"]
    tasks = {t.id: t for t in state["batch"]}
    verdicts = verify_batch([tasks[a.task_id] for a in attempts], [a.adapted_answer for a in attempts],
                            runtime.context.executor, notes=[a.adapter_note for a in attempts])
    return {"verdicts": verdicts}
