"""Verifier node: deterministic verdicts for the batch (math symbolically, code in the sandbox)."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from cosr.agents.verifiers import verify_batch
from cosr.graphs.context import Context
from cosr.graphs.state import SelfPlayState


def verify(state: SelfPlayState, runtime: Runtime[Context]) -> dict[str, Any]:
    attempts = state["attempts"]
    verdicts = verify_batch(state["batch"], [a.adapted_answer for a in attempts], runtime.context.executor,
                            notes=[a.adapter_note for a in attempts])
    return {"verdicts": verdicts}
