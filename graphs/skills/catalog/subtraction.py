"""Subtraction of two integers; low levels keep the result non-negative, high levels allow it below zero."""

from __future__ import annotations

import random

from cosr.domain import AnswerFormat, Domain, VerifierKind
from cosr.graphs.skills import identity
from cosr.graphs.skills.catalog import Problem, integer, register_generator

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


register_generator(
    "subtraction",
    subtraction,
    domain=Domain.MATH,
    levels=len(LEVELS),
    description="a - b, digits by level; negative results from level 4",
    identity=identity.expression,
)
