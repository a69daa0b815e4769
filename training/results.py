"""The typed results of a run, written and read only here: summary.json (RunSummary), a training round
(RoundResult), an evaluation (`cosr eval --json`: HeldoutReport) and the progress events a run yields
(Event). The files keep the keys scripts/headline.py and the docs read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainSerializer, ValidationError, model_serializer

SUMMARY = "summary.json"


class Result(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FrontierReport(Result):
    """Pooled held-out accuracy over some (skill, level) pairs at every round that answered them all."""

    pairs: list[str]  # "skill@Llevel"
    heldout_tasks: int
    accuracy: dict[str, float]  # str(round) -> pooled accuracy
    stderr: dict[str, float]
    gain: float  # last round minus round 0
    gain_stderr: float
    gain_stderr_kind: Literal["paired", "independent"]


# A report is {} in summary.json where the run has no baseline yet.
Frontier = Annotated[FrontierReport | None, BeforeValidator(lambda v: v or None),
                     PlainSerializer(lambda v: v.model_dump() if v else {}, return_type=dict)]


class RoundResult(Result):
    """One training round as the trainer recorded it: what it trained on, and the LoRA figures when it trained
    (`skipped` says why it did not). Only the keys a round has are written."""

    round: int
    tasks: int
    verified: int
    examples: int
    examples_by_strategy: dict[str, int]
    skipped: str | None = None
    steps: int | None = None
    tokens: int | None = None
    seconds: float | None = None
    tokens_per_s: float | None = None
    first_loss: float | None = None
    last_loss: float | None = None
    peak_memory_mb: float | None = None
    device: str | None = None
    adapter_bytes: int | None = None
    learning_rate: float | None = None
    adapter: str | None = None  # the adapter folder this round wrote
    # the `teachers` strategy: per arm, the validation gain at its examples' levels (agents/teaching_gain.py)
    teachers: dict[str, dict[str, float]] | None = None
    helped: int | None = None  # verified samples the student wrote with the Teacher's help (agents/teacher.py)

    @model_serializer(mode="wrap")
    def _present_keys_only(self, handler: Any) -> dict[str, Any]:
        return {k: v for k, v in handler(self).items() if v is not None}


class LastSession(Result):
    """The figures of the last invocation (a resumed run counts from where it resumed)."""

    seconds: float
    graph_steps: int
    tasks: int
    tasks_per_second: float | None


class StudentAudit(Result):
    folder: str
    checked: int
    leaks: int


class AuditSummary(Result):
    """The run checked against both held-out splits at its own evaluation size (cosr audit goes further)."""

    checked: int
    leaks: int
    sources: dict[str, int]
    per_skill: int
    levels: list[int]
    student: StudentAudit | str  # the embedded student's pretraining, or why it was not audited


class RunSummary(Result):
    """summary.json: a run's held-out accuracy before ("0") and after each round, its frontiers, rounds and audit."""

    run_id: str
    run_dir: str
    rounds_completed: int
    rounds_requested: int
    steps: int
    tasks: int
    tasks_solved: int  # with at least one verified sample
    attempts: int  # samples_per_task per task
    verified_trajectories: int
    heldout_accuracy: dict[str, dict[str, float]]  # str(round) -> skill -> accuracy (rounds evaluated in full)
    heldout_overall: dict[str, float]
    # (solved, total) per "skill@Llevel": cosr compare reads its frontier from these
    heldout_levels: dict[str, dict[str, tuple[int, int]]]
    frontier: Frontier
    frontier_band: Frontier
    frontier_band_open: Frontier
    frontier_band_small: Frontier
    learning_gain: dict[str, float]  # per skill, last round minus round 0
    rounds: dict[int, RoundResult]
    attribution: dict[str, float]  # held-out change at the levels each strategy's own examples sit at (attribute_gains)
    adapter: str | None
    student: str
    strategy: str
    last_session: LastSession
    audit: AuditSummary
    split: str
    files: dict[str, str]


def write_summary(run_dir: Path, summary: RunSummary) -> Path:
    path = Path(run_dir) / SUMMARY
    path.write_text(json.dumps(summary.model_dump(mode="json"), indent=2))
    return path


def read_summary(path: Path) -> RunSummary:
    """A run's summary.json (`path`: the file or its run folder); ValueError naming it when this cosr cannot read it."""
    path = Path(path)
    path = path / SUMMARY if path.is_dir() else path
    try:
        return RunSummary.model_validate_json(path.read_text())
    except ValidationError as e:
        raise ValueError(f"{path}: written by an older cosr ({e.errors()[0]['loc'][0]}: {e.errors()[0]['msg']}); "
                         "run it again with this one") from None


class HeldoutReport(Result):
    """`cosr eval --json`: held-out accuracy (or pass@k) per skill and overall for one student."""

    metric: str  # "accuracy" or "pass@k"
    adapter: str | None
    split: str
    student: str
    overall: float
    per_skill: dict[str, dict[str, int]]  # skill -> {"solved": c, "tasks": n}


def write_heldout_report(path: Path, report: HeldoutReport) -> None:
    Path(path).write_text(json.dumps(report.model_dump(mode="json"), indent=2))


class BatchEvent(Result):
    """A step's batch is recorded: its tasks and the distinct verified samples it gave."""

    event: Literal["batch"] = "batch"
    round: int
    step: int
    tasks: int
    verified: int
    note: str  # why the Curator chose the batch
    helped: int = 0  # failed tasks the Teacher helped with (agents/teacher.py)
    solved_with_help: int = 0  # of them, solved with some help


class TrainedEvent(Result):
    event: Literal["trained"] = "trained"
    result: RoundResult


class EvaluationEvent(Result):
    event: Literal["evaluation"] = "evaluation"
    round: int  # 0: before training
    accuracy: dict[str, float]  # per skill; empty after a round evaluated in part (eval.between_rounds)
    partial: bool
    pooled: float  # over every task evaluated


class NodeStarted(Result):
    event: Literal["started"] = "started"
    node: str


class NodeEvent(Result):
    """A node finished, with its update to the graph state."""

    event: Literal["node"] = "node"
    node: str
    update: dict[str, Any]


class DoneEvent(Result):
    event: Literal["done"] = "done"
    summary: RunSummary


Event = BatchEvent | TrainedEvent | EvaluationEvent | NodeStarted | NodeEvent | DoneEvent
