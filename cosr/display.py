"""How a self-play run shows its progress: a live view (rich) in a terminal, and plain timestamped lines
(batch, round, evaluation, ETA; a line at least every `HEARTBEAT_S` seconds) when the output is a log
file or a pipe, where a live view would write nothing until the end."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import datetime
from typing import Any, Self

from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table

from cosr.config import RunConfig
from cosr.training.results import BatchEvent, EvaluationEvent, Event, NodeEvent, NodeStarted, RoundResult, TrainedEvent

HEARTBEAT_S = 30.0  # the longest a log goes without a line (an evaluation or a LoRA round takes minutes)
DOING = {"evaluate": "evaluating the student on held-out tasks", "train": "training a LoRA round",
         "diagnostician": "diagnosing", "curator": "choosing tasks", "student": "the student is answering",
         "answer_adapter": "reading answers", "verifier": "verifying answers", "teacher": "helping on failed tasks",
         "record": "recording"}


def mastery_table(mastery: dict[str, Any]) -> Table:
    t = Table(title="mastery (Diagnostician)", expand=False)
    for col in ("skill", "level", "p(success)", "ability", "attempts", "accuracy"):
        t.add_column(col, justify="left" if col == "skill" else "right")
    for name, m in sorted(mastery.items()):
        t.add_row(name, str(m.level), f"{m.p_mastery:.2f}", f"{m.ability:+.2f}", str(m.attempts),
                  f"{m.accuracy:.0%}" if m.attempts else "-")
    return t


def heldout_table(acc: dict[str, dict[str, float]]) -> Table:
    rounds = sorted(acc, key=int)
    t = Table(title="held-out accuracy per skill (round 0 = before training)")
    t.add_column("skill")
    for r in rounds:
        t.add_column("before" if r == "0" else f"round {r}", justify="right")
    if len(rounds) > 1:
        t.add_column("gain", justify="right")
    skills = sorted(acc[rounds[0]]) if rounds else []
    for s in skills:
        row = [f"{acc[r].get(s, 0):.0%}" for r in rounds]
        if len(rounds) > 1:
            gain = acc[rounds[-1]].get(s, 0) - acc["0"].get(s, 0)
            row.append(f"[{'green' if gain > 0 else 'red' if gain < 0 else 'white'}]{gain:+.0%}[/]")
        t.add_row(s, *row)
    return t


def _duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m" if minutes else f"{seconds:.0f}s"


class Progress:
    """Where the run stands: the round being gathered, tasks and verified samples, and an ETA from the share of
    the run's rounds done so far (a round ends at `every_verified` verified samples or `max_tasks` tasks)."""

    def __init__(self, cfg: RunConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self.rounds, self.clock, self.t0 = cfg.rounds, clock, clock()
        self.every_verified, self.max_tasks = cfg.training.every_verified, cfg.training.max_tasks_per_round
        self.round, self.round_tasks, self.round_verified, self.tasks, self.verified = 1, 0, 0, 0, 0
        self.start: float | None = None  # the share done when this session saw its first batch (a resumed run)

    def done(self) -> float:
        """The share of the run done: finished rounds plus the gathered part of the current one."""
        part = max(self.round_tasks / self.max_tasks, self.round_verified / self.every_verified)
        return min(1.0, (self.round - 1 + min(1.0, part)) / self.rounds) if self.rounds else 1.0

    def batch(self, ev: BatchEvent) -> None:
        if ev.round != self.round:
            self.round, self.round_tasks, self.round_verified = ev.round, 0, 0
        if self.start is None:
            self.start = self.done()
        self.tasks, self.verified = self.tasks + ev.tasks, self.verified + ev.verified
        self.round_tasks, self.round_verified = self.round_tasks + ev.tasks, self.round_verified + ev.verified

    def evaluated(self, ev: EvaluationEvent) -> None:
        if ev.round:  # after round r, round r + 1 is gathered
            self.round, self.round_tasks, self.round_verified = ev.round + 1, 0, 0

    def eta(self) -> str:
        done, gained = self.done(), self.done() - (self.start or 0.0)
        if done >= 1.0 or gained <= 0:
            return "ETA -"
        return "ETA " + _duration((self.clock() - self.t0) * (1 - done) / gained)

    def where(self) -> str:
        return f"round {min(self.round, self.rounds)}/{self.rounds}, {self.tasks} tasks, {self.verified} verified"


def helped(ev: BatchEvent) -> str:
    """The Teacher's part of a batch, when it helped (agents/teacher.py)."""
    return f", {ev.solved_with_help}/{ev.helped} failed tasks solved with help" if ev.helped else ""


def trained_line(r: RoundResult) -> str:
    if r.skipped:
        return f"round {r.round}: training skipped: {r.skipped}"
    arms = ("; validation gain of each teacher's examples: " + ", ".join(
        f"{arm} {a['gain'] * 100:+.1f} pts ({a['examples']:.0f})" for arm, a in sorted(r.teachers.items()))
        if r.teachers else "")
    return (f"round {r.round}: LoRA on {r.examples} examples, loss {r.first_loss:.3f} -> {r.last_loss:.3f}, "
            f"{r.tokens_per_s:.0f} tok/s, {r.seconds:.0f}s -> {r.adapter}{arms}")


def evaluation_line(ev: EvaluationEvent) -> str:
    when = "before training" if ev.round == 0 else f"after round {ev.round}"
    if ev.partial:  # eval.between_rounds: the frontier levels only
        return f"held-out {when}: {ev.pooled:.1%} on the frontier levels"
    mean = sum(ev.accuracy.values()) / max(1, len(ev.accuracy))
    return f"held-out {when}: {mean:.1%} mean over {len(ev.accuracy)} skills"


class RunView:
    """The live view in a terminal: the last lines, the run's progress, and per-skill mastery."""

    def __init__(self, console: Console, run_id: str, cfg: RunConfig) -> None:
        self.console, self.run_id, self.progress = console, run_id, Progress(cfg)
        self.log: deque[str] = deque(maxlen=8)
        self.mastery: dict[str, Any] = {}
        self.doing = "starting"
        self.live = Live(self.render(), console=console, refresh_per_second=4, transient=False)

    def render(self) -> Group:
        head = f"run [bold]{self.run_id}[/]  {self.progress.where()}  {self.progress.eta()}"
        parts: list[Any] = [Panel("\n".join(self.log) or "starting...", title=head, subtitle=self.doing)]
        if self.mastery:
            parts.append(mastery_table(self.mastery))
        return Group(*parts)

    def handle(self, ev: Event) -> None:
        if isinstance(ev, BatchEvent):
            self.progress.batch(ev)
            self.log.append(f"step {ev.step:>3}  {ev.tasks} tasks, {ev.verified:>3} verified samples{helped(ev)}   {ev.note[:100]}")
        elif isinstance(ev, TrainedEvent):
            self.log.append(f"[{'yellow' if ev.result.skipped else 'cyan'}]{trained_line(ev.result)}[/]")
        elif isinstance(ev, EvaluationEvent):
            self.progress.evaluated(ev)
            self.log.append(f"[magenta]{evaluation_line(ev)}[/]")
        elif isinstance(ev, NodeStarted):
            self.doing = DOING.get(ev.node, ev.node)
        elif isinstance(ev, NodeEvent) and "mastery" in ev.update:
            self.mastery = ev.update["mastery"]
        self.live.update(self.render())

    def __enter__(self) -> Self:
        self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.live.__exit__(*exc)  # type: ignore[arg-type]


class LogView:
    """Plain timestamped lines for a log file: each batch, round and evaluation with the ETA, what a long step
    is doing when it starts, and a line saying so when nothing else was written for `heartbeat` seconds."""

    def __init__(self, console: Console, run_id: str, cfg: RunConfig, heartbeat: float = HEARTBEAT_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.console, self.run_id, self.progress, self.heartbeat = console, run_id, Progress(cfg, clock), heartbeat
        self.doing, self.since = "starting", time.monotonic()
        self._lock, self._stop = threading.Lock(), threading.Event()
        self._last = time.monotonic()
        self._beat = threading.Thread(target=self._beats, daemon=True)

    def line(self, text: str) -> None:
        with self._lock:
            self.console.print(f"{datetime.now():%H:%M:%S} {text}", markup=False, highlight=False, soft_wrap=True)
            self._last = time.monotonic()

    def handle(self, ev: Event) -> None:
        if isinstance(ev, BatchEvent):
            self.progress.batch(ev)
            self.line(f"{self.progress.where()} | step {ev.step}: {ev.tasks} tasks, {ev.verified} verified samples{helped(ev)} "
                      f"| {self.progress.eta()} | {ev.note[:80]}")
        elif isinstance(ev, TrainedEvent):
            self.line(f"{trained_line(ev.result)} | {self.progress.eta()}")
        elif isinstance(ev, EvaluationEvent):
            self.progress.evaluated(ev)
            self.line(f"{evaluation_line(ev)} | {self.progress.eta()}")
        elif isinstance(ev, NodeStarted):
            self.doing, self.since = DOING.get(ev.node, ev.node), time.monotonic()
            if ev.node in ("evaluate", "train"):  # minutes without a batch: say what is going on
                self.line(f"{self.progress.where()} | {self.doing}")

    def _beats(self) -> None:
        while not self._stop.wait(max(0.0, self._last + self.heartbeat - time.monotonic())):
            if time.monotonic() - self._last >= self.heartbeat:
                self.line(f"{self.progress.where()} | still {self.doing} ({time.monotonic() - self.since:.0f}s) "
                          f"| {self.progress.eta()}")

    def __enter__(self) -> Self:
        self.line(f"run {self.run_id}: {self.progress.rounds} rounds")
        self._beat.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._beat.join()


def run_view(console: Console, run_id: str, cfg: RunConfig) -> RunView | LogView:
    """The live view in a terminal, plain lines otherwise."""
    return RunView(console, run_id, cfg) if console.is_terminal else LogView(console, run_id, cfg)
