"""p% of n, with n drawn so that the answer is a whole number."""

from __future__ import annotations

import math
import random
from fractions import Fraction

from cosr.domain import AnswerFormat, Domain, Task, VerifierKind
from cosr.graphs.skills import identity
from cosr.graphs.skills.catalog import Problem, register_generator
from cosr.graphs.skills.catalog._worked import num

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


def worked(task: Task) -> list[str] | None:
    """n times p, then divided by 100."""
    m = task.metadata
    if not {"percent", "n"} <= m.keys():
        return None
    p, n = m["percent"], m["n"]
    return [f"{n} * {p} = {n * p}", f"{n * p} / 100 = {num(Fraction(n * p, 100))}"]


register_generator(
    "percentage",
    percentage,
    domain=Domain.MATH,
    levels=len(LEVELS),
    description="p% of n, whole answers; p and n by level",
    identity=identity.ordered_numbers,
    worked=worked,
    fundamentals="p% of n is p/100 * n; divide by 100 first when that makes the numbers easier.",
)
