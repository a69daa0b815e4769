"""Exact division: the dividend is built as divisor * quotient, so the answer is always an integer."""

from __future__ import annotations

import random

from cosr.domain import AnswerFormat, Domain, VerifierKind
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


register_generator(
    "division",
    division,
    domain=Domain.MATH,
    levels=len(LEVELS),
    description="exact division n / d, digits of divisor and quotient by level",
    identity=identity.expression,
)
