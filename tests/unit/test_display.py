"""The progress a run shows where its output is not a terminal: timestamped lines for each batch, round and
evaluation with an ETA, and a line while a long step runs, so a log never goes quiet for long."""

from __future__ import annotations

import io
import re
import time

from rich.console import Console

from cosr.config import RunConfig
from cosr.display import LogView, RunView, run_view
from cosr.training.results import BatchEvent, EvaluationEvent, NodeStarted, RoundResult, TrainedEvent

STAMP = re.compile(r"^\d\d:\d\d:\d\d ")


def _config() -> RunConfig:
    return RunConfig.model_validate({"rounds": 2, "training": {"every_verified": 100, "max_tasks_per_round": 1000}})


def _log() -> tuple[io.StringIO, Console]:
    out = io.StringIO()
    return out, Console(file=out, width=80)  # a file: not a terminal


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_log_gets_timestamped_lines_for_batches_rounds_and_evaluations_with_an_eta():
    out, console = _log()
    clock = Clock()
    events = [
        NodeStarted(node="evaluate"),
        EvaluationEvent(round=0, accuracy={"addition": 0.5, "gcd": 0.25}, partial=False, pooled=0.375),
        NodeStarted(node="student"),
        BatchEvent(round=1, step=1, tasks=128, verified=25, note="zpd: addition at level 2"),
        BatchEvent(round=1, step=2, tasks=128, verified=25, note="zpd: gcd at level 1"),
        NodeStarted(node="train"),
        TrainedEvent(result=RoundResult(round=1, tasks=256, verified=50, examples=60, examples_by_strategy={"zpd": 60},
                                        first_loss=1.5, last_loss=0.9, tokens_per_s=8000.0, seconds=42.0,
                                        adapter="round-001")),
        EvaluationEvent(round=1, accuracy={}, partial=True, pooled=0.41),
    ]
    with LogView(console, "r1", _config(), clock=clock) as view:
        for minutes, ev in enumerate(events):
            clock.now = 60.0 * minutes
            view.handle(ev)
    lines = out.getvalue().splitlines()
    assert all(STAMP.match(line) for line in lines) and "\x1b" not in out.getvalue()  # plain text, no colours
    assert lines[0].endswith("run r1: 2 rounds")
    assert "evaluating the student on held-out tasks" in lines[1]
    assert "held-out before training: 37.5% mean over 2 skills" in lines[2]
    # a batch: where the run is, the batch, the ETA, the curator's note. After 50 of the round's 100 verified
    # samples (a quarter of two rounds) in 4 minutes, three quarters are left: 12 minutes
    assert "round 1/2, 256 tasks, 50 verified | step 2: 128 tasks, 25 verified samples | ETA 12m | zpd: gcd" in lines[4]
    assert "round 1/2, 128 tasks, 25 verified | step 1" in lines[3]
    assert "training a LoRA round" in lines[5]
    assert "round 1: LoRA on 60 examples, loss 1.500 -> 0.900, 8000 tok/s, 42s -> round-001" in lines[6]
    assert "held-out after round 1: 41.0% on the frontier levels" in lines[7]
    assert len(lines) == 8  # the steps between batches (curator, student, ...) write nothing


def test_a_long_step_writes_a_line_at_least_every_heartbeat():
    out, console = _log()
    with LogView(console, "r1", _config(), heartbeat=0.05) as view:
        view.handle(NodeStarted(node="evaluate"))
        time.sleep(0.3)
    still = [line for line in out.getvalue().splitlines() if "still evaluating the student on held-out tasks" in line]
    assert len(still) >= 2 and all(STAMP.match(line) for line in still)


def test_a_terminal_gets_the_live_view_and_a_file_the_lines():
    assert isinstance(run_view(_log()[1], "r1", _config()), LogView)
    terminal = Console(file=io.StringIO(), force_terminal=True)
    assert isinstance(run_view(terminal, "r1", _config()), RunView)
