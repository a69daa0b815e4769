"""Deterministic verifiers, one kind a file, registered by `VerifierKind`: the only judges of right and wrong.

A verifier takes tasks and their adapted answers as a batch (so code runs concurrently in the sandbox
pool) and returns one Verdict each. An answer the adapter could not parse is a recorded verdict.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Sequence

from cosr.domain import Task, Verdict, VerifierKind
from cosr.registry import Registry
from cosr.sandbox.types import Executor

VerifyBatch = Callable[[Sequence[Task], Sequence[str], "Executor | None"], list[Verdict]]

VERIFIERS: Registry[VerifyBatch] = Registry("verifier")


def unparseable(note: str) -> Verdict:
    return Verdict(correct=False, score=0.0, status="unparseable", details=note or "no answer found in the output")


def verify_batch(
    tasks: Sequence[Task], answers: Sequence[str | None], executor: Executor | None = None,
    notes: Sequence[str] | None = None,
) -> list[Verdict]:
    """Group by verifier kind, verify each group in one call, return verdicts in input order.

    A (task, answer) pair that comes twice is verified once: with several samples per task most of a
    small student's answers repeat, and a program need not run in the sandbox twice. A task is known by its
    id and its problem: tasks from a user's file (`cosr judge`) may share an id."""
    notes = notes or [""] * len(tasks)
    verdicts: list[Verdict | None] = [None] * len(tasks)
    first: dict[tuple[str, str, str], int] = {}  # (task id, prompt, answer) -> the index verified for it
    groups: dict[VerifierKind, list[int]] = {}
    for i, (task, answer) in enumerate(zip(tasks, answers, strict=True)):
        if answer is None:
            verdicts[i] = unparseable(notes[i])
        elif first.setdefault((task.id, task.prompt, answer), i) == i:
            groups.setdefault(task.verifier, []).append(i)
    for kind, idx in groups.items():
        results = VERIFIERS.get(kind)([tasks[i] for i in idx], [answers[i] for i in idx], executor)  # type: ignore[misc]
        for i, v in zip(idx, results, strict=True):
            verdicts[i] = v
    for i, (task, answer) in enumerate(zip(tasks, answers, strict=True)):
        if verdicts[i] is None:
            verdicts[i] = verdicts[first[(task.id, task.prompt, answer)]]
    return [v for v in verdicts if v is not None]


for _mod in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_mod.name}")
