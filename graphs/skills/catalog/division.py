"""Exact division: the dividend is built as divisor * quotient, so the answer is always an integer."""

from __future__ import annotations

import random

from cosr.domain import AnswerFormat, Domain, Task, VerifierKind
from cosr.graphs.skills import identity
from cosr.graphs.skills.catalog import Problem, integer, register_generator

LEVELS = {
    1: {"divisor_digits": 1, "quotient_digits": 1},
    2: {"divisor_digits": 1, "quotient_digits": 2},
    3: {"divisor_digits": 2, "quotient_digits": 2},
    4: {"divisor_digits": 2, "quotient_digits": 3},
    5: {"divisor_digits": 3, "quotient_digits": 3},
}


def division(level: int, rng: random.Random) -> Problem:
    cfg = LEVELS[level]
    divisor = max(2, integer(rng, cfg["divisor_digits"]))  # 0 is undefined, 1 is no exercise
    quotient = integer(rng, cfg["quotient_digits"])
    return Problem(
        prompt=f"What is {divisor * quotient} / {divisor}?",
        answer_format=AnswerFormat.NUMBER,
        verifier=VerifierKind.MATH,
        reference=str(quotient),
        metadata={"dividend": divisor * quotient, "divisor": divisor, **cfg},
    )


def worked(task: Task) -> list[str] | None:
    """The multiplication fact, then the division it answers."""
    m = task.metadata
    if not {"dividend", "divisor"} <= m.keys():
        return None
    q = m["dividend"] // m["divisor"]
    return [f"{m['divisor']} * {q} = {m['dividend']}", f"{m['dividend']} / {m['divisor']} = {q}"]


def explain(task: Task) -> list[str] | None:
    """The question as a multiplication and a round first guess, before the fact (which names the quotient)."""
    m, steps = task.metadata, worked(task)
    if steps is None:
        return None
    question = f"Which number times {m['divisor']} gives {m['dividend']}?"
    guess = f"Try a round guess: {m['divisor']} * 10 = {m['divisor'] * 10}, then adjust up or down."
    return [question, guess, *steps]


register_generator(
    "division",
    division,
    domain=Domain.MATH,
    levels=len(LEVELS),
    description="exact division n / d, digits of divisor and quotient by level",
    identity=identity.expression,
    worked=worked,
    explain=explain,
    fundamentals="Find the number that, multiplied by the divisor, gives the dividend (a multiplication fact backwards).",
)
