"""Addition of two non-negative integers; the level sets how many digits each has."""

from __future__ import annotations

import random

from cosr.domain import AnswerFormat, Domain, VerifierKind
from cosr.graphs.skills import identity
from cosr.graphs.skills.catalog import Problem, integer, register_generator

LEVELS = {1: {"digits": 1}, 2: {"digits": 2}, 3: {"digits": 3}, 4: {"digits": 4}, 5: {"digits": 6}}


def addition(level: int, rng: random.Random) -> Problem:
    digits = LEVELS[level]["digits"]
    a, b = integer(rng, digits), integer(rng, digits)
    return Problem(
        prompt=f"What is {a} + {b}?",
        answer_format=AnswerFormat.NUMBER,
        verifier=VerifierKind.MATH,
        reference=str(a + b),
        metadata={"operands": [a, b], **LEVELS[level]},
    )


register_generator(
    "addition", addition, domain=Domain.MATH, levels=len(LEVELS), description="a + b, digits by level",
    identity=identity.expression,
)
