"""Subtraction of two integers; low levels keep the result non-negative, high levels allow it below zero."""

from __future__ import annotations

import random

from cosr.domain import AnswerFormat, Domain, Task, VerifierKind
from cosr.graphs.skills import identity
from cosr.graphs.skills.catalog import Problem, integer, register_generator
from cosr.graphs.skills.catalog._worked import expression_steps, place

LEVELS = {
    1: {"digits": 1, "negative": False},
    2: {"digits": 2, "negative": False},
    3: {"digits": 3, "negative": False},
    4: {"digits": 3, "negative": True},
    5: {"digits": 5, "negative": True},
}


def subtraction(level: int, rng: random.Random) -> Problem:
    cfg = LEVELS[level]
    a, b = integer(rng, cfg["digits"]), integer(rng, cfg["digits"])
    if not cfg["negative"] and a < b:
        a, b = b, a
    return Problem(
        prompt=f"What is {a} - {b}?",
        answer_format=AnswerFormat.NUMBER,
        verifier=VerifierKind.MATH,
        reference=str(a - b),
        metadata={"operands": [a, b], **cfg},
    )


def worked(task: Task) -> list[str] | None:
    """`a - b = d` in one step: the difference is the step (a person is shown `columns`)."""
    operands = task.metadata.get("operands")
    return expression_steps(" - ".join(map(str, operands))) if operands else None


def columns(task: Task) -> list[str] | None:
    """The larger minus the smaller column by column from the right, with the borrows; one digit by counting up."""
    operands = task.metadata.get("operands")
    if not operands:
        return None
    a, b = operands
    top, bottom = max(a, b), min(a, b)
    steps = [] if a >= b else [f"{b} is larger than {a}: work out {b} - {a}, then make it negative"]
    if top < 10:
        steps.append(f"count up from {bottom} to {top}")
    else:
        borrow = 0
        for i in range(len(str(top))):
            dt, db = top // 10**i % 10, bottom // 10**i % 10
            lent, have = (f" - {borrow} (lent)" if borrow else ""), dt - borrow
            borrow = int(have < db)
            if borrow:
                steps.append(f"{place(i)}: {dt}{lent} is less than {db}, so borrow 10: {have + 10} - {db} = "
                             f"{have + 10 - db}: write {have + 10 - db}")
            else:
                steps.append(f"{place(i)}: {dt}{lent} - {db} = {have - db}: write {have - db}")
    return [*steps, f"{a} - {b} = {a - b}"]


register_generator(
    "subtraction",
    subtraction,
    domain=Domain.MATH,
    levels=len(LEVELS),
    description="a - b, digits by level; negative results from level 4",
    identity=identity.expression,
    worked=worked,
    explain=columns,
    fundamentals="Subtract column by column from the right; borrow 10 from the next column when the top digit is smaller.",
)
