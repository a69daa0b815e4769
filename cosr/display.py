"""The live view of a self-play run (rich): batches and verdicts as they come, per-skill mastery,
and at the end held-out accuracy per skill before and after."""

from __future__ import annotations

from collections import deque
from typing import Any, Self

from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table


def mastery_table(mastery: dict[str, Any]) -> Table:
    t = Table(title="mastery (Diagnostician)", expand=False)
    for col in ("skill", "level", "p(success)", "ability", "attempts", "accuracy"):
        t.add_column(col, justify="left" if col == "skill" else "right")
    for name, m in sorted(mastery.items()):
        t.add_row(name, str(m.level), f"{m.p_mastery:.2f}", f"{m.ability:+.2f}", str(m.attempts),
                  f"{m.accuracy:.0%}" if m.attempts else "-")
    return t


def heldout_table(accuracy: dict[str, dict[str, float]]) -> Table:
    rounds = sorted(accuracy, key=int)
    t = Table(title="held-out accuracy per skill (round 0 = before training)")
    t.add_column("skill")
    for r in rounds:
        t.add_column("before" if r == "0" else f"round {r}", justify="right")
    if len(rounds) > 1:
        t.add_column("gain", justify="right")
    skills = sorted(accuracy[rounds[0]]) if rounds else []
    for s in skills:
        row = [f"{accuracy[r].get(s, 0):.0%}" for r in rounds]
        if len(rounds) > 1:
            gain = accuracy[rounds[-1]].get(s, 0) - accuracy["0"].get(s, 0)
            row.append(f"[{'green' if gain > 0 else 'red' if gain < 0 else 'white'}]{gain:+.0%}[/]")
        t.add_row(s, *row)
    return t


class RunView:
    def __init__(self, console: Console, run_id: str, rounds: int) -> None:
        self.console, self.run_id, self.rounds = console, run_id, rounds
        self.log: deque[str] = deque(maxlen=8)
        self.mastery: dict[str, Any] = {}
        self.round, self.tasks, self.verified = 1, 0, 0
        self.live = Live(self.render(), console=console, refresh_per_second=4, transient=False)

    def render(self) -> Group:
        head = (f"run [bold]{self.run_id}[/]  round {min(self.round, self.rounds)}/{self.rounds}  "
                f"tasks {self.tasks}  verified {self.verified}")
        parts: list[Any] = [Panel("\n".join(self.log) or "starting...", title=head)]
        if self.mastery:
            parts.append(mastery_table(self.mastery))
        return Group(*parts)

    def handle(self, ev: dict[str, Any]) -> None:
        kind = ev["event"]
        if kind == "batch":
            self.tasks += ev["tasks"]
            self.verified += ev["verified"]
            self.log.append(f"step {ev['step']:>3}  {ev['tasks']} tasks, {ev['verified']:>3} verified samples   {ev['note'][:100]}")
        elif kind == "trained":
            if "skipped" in ev:
                self.log.append(f"[yellow]round {ev['round']}: training skipped: {ev['skipped']}[/]")
            else:
                self.log.append(f"[cyan]round {ev['round']}: LoRA on {ev['examples']} examples, loss "
                                f"{ev['first_loss']:.3f} -> {ev['last_loss']:.3f}, {ev['tokens_per_s']:.0f} tok/s, "
                                f"{ev['seconds']:.0f}s -> {ev['adapter']}[/]")
        elif kind == "evaluation":
            acc = ev["accuracy"]
            self.round = ev["round"] + 1
            if ev.get("partial"):  # eval.between_rounds: the frontier levels only
                self.log.append(f"[magenta]held-out after round {ev['round']}: {ev['pooled']:.1%} on the frontier levels[/]")
            else:
                self.log.append(f"[magenta]held-out after round {ev['round']}: "
                                f"{sum(acc.values()) / max(1, len(acc)):.1%} mean over {len(acc)} skills[/]")
        elif kind == "node" and "mastery" in ev["update"]:
            self.mastery = ev["update"]["mastery"]
        self.live.update(self.render())

    def __enter__(self) -> Self:
        self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.live.__exit__(*exc)  # type: ignore[arg-type]
