"""The remainder of integer division (a mod b), with a non-negative dividend and a divisor of at least 2."""

from __future__ import annotations

import random

from cosr.domain import AnswerFormat, Domain, Task, VerifierKind
from cosr.graphs.skills import identity
from cosr.graphs.skills.catalog import Problem, register_generator

LEVELS = {
    1: {"dividend": (2, 20), "divisor": (2, 5)},
    2: {"dividend": (10, 99), "divisor": (2, 9)},
    3: {"dividend": (100, 999), "divisor": (2, 9)},
    4: {"dividend": (100, 999), "divisor": (10, 99)},
    5: {"dividend": (10_000, 99_999), "divisor": (10, 99)},
}


def remainder(level: int, rng: random.Random) -> Problem:
    cfg = LEVELS[level]
    a, b = rng.randint(*cfg["dividend"]), rng.randint(*cfg["divisor"])
    return Problem(
        prompt=f"What is {a} mod {b}?",
        answer_format=AnswerFormat.NUMBER,
        verifier=VerifierKind.MATH,
        reference=str(a % b),
        metadata={"dividend": a, "divisor": b},
    )


def worked(task: Task) -> list[str] | None:
    """The whole b's that fit into a, then what is left."""
    m = task.metadata
    if not {"dividend", "divisor"} <= m.keys():
        return None
    a, b = m["dividend"], m["divisor"]
    return [f"{b} * {a // b} = {a // b * b}", f"{a} - {a // b * b} = {a % b}"]


register_generator(
    "remainder",
    remainder,
    domain=Domain.MATH,
    levels=len(LEVELS),
    description="a mod b, ranges of dividend and divisor by level",
    identity=identity.expression,
    worked=worked,
    fundamentals="a mod b is what is left after taking away as many whole b's as fit into a: a = q*b + r, 0 <= r < b.",
)
