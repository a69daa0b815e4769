"""Multiplication of two integers; the level sets the digits of each factor."""

from __future__ import annotations

import random

from cosr.domain import AnswerFormat, Domain, VerifierKind
from cosr.graphs.skills import identity
from cosr.graphs.skills.catalog import Problem, integer, register_generator

LEVELS = {
    1: {"digits": (1, 1)},
    2: {"digits": (2, 1)},
    3: {"digits": (2, 2)},
    4: {"digits": (3, 2)},
    5: {"digits": (3, 3)},
}


def multiplication(level: int, rng: random.Random) -> Problem:
    da, db = LEVELS[level]["digits"]
    a, b = integer(rng, da), integer(rng, db)
    return Problem(
        prompt=f"What is {a} * {b}?",
        answer_format=AnswerFormat.NUMBER,
        verifier=VerifierKind.MATH,
        reference=str(a * b),
        metadata={"operands": [a, b], "digits": [da, db]},
    )


register_generator(
    "multiplication",
    multiplication,
    domain=Domain.MATH,
    levels=len(LEVELS),
    description="a * b, digits of each factor by level",
    identity=identity.expression,
)
