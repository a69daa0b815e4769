"""p% of n, with n drawn so that the answer is a whole number."""

from __future__ import annotations

import math
import random

from cosr.domain import AnswerFormat, Domain, VerifierKind
from cosr.graphs.skills import identity
from cosr.graphs.skills.catalog import Problem, register_generator

LEVELS = {
    1: {"percents": (10, 50, 100), "max_n": 100},
    2: {"percents": (10, 20, 25, 50, 75), "max_n": 200},
    3: {"percents": tuple(range(5, 100, 5)), "max_n": 400},
    4: {"percents": tuple(range(1, 100)), "max_n": 2000},
    5: {"percents": tuple(range(1, 301)), "max_n": 10_000},
}


def percentage(level: int, rng: random.Random) -> Problem:
    cfg = LEVELS[level]
    p = rng.choice(cfg["percents"])
    step = 100 // math.gcd(p, 100)  # the smallest n for which p% of n is whole
    n = step * rng.randint(1, cfg["max_n"] // step)
    return Problem(
        prompt=f"What is {p}% of {n}?",
        answer_format=AnswerFormat.NUMBER,
        verifier=VerifierKind.MATH,
        reference=str(p * n // 100),
        metadata={"percent": p, "n": n},
    )


register_generator(
    "percentage",
    percentage,
    domain=Domain.MATH,
    levels=len(LEVELS),
    description="p% of n, whole answers; p and n by level",
    identity=identity.ordered_numbers,
)
