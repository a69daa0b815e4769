"""Adding and subtracting proper fractions; the reference is the reduced result ("5/6", "1", "-1/12")."""

from __future__ import annotations

import random
from fractions import Fraction

from cosr.domain import AnswerFormat, Domain, VerifierKind
from cosr.graphs.skills import identity
from cosr.graphs.skills.catalog import Problem, register_generator

# denominators: "same" (one shared), "multiple" (one a multiple of the other), or independent up to max.
LEVELS = {
    1: {"terms": 2, "denominators": "same", "max_denominator": 9, "operators": "+"},
    2: {"terms": 2, "denominators": "multiple", "max_denominator": 6, "operators": "+"},
    3: {"terms": 2, "denominators": "any", "max_denominator": 10, "operators": "+"},
    4: {"terms": 2, "denominators": "any", "max_denominator": 12, "operators": "+-"},
    5: {"terms": 3, "denominators": "any", "max_denominator": 12, "operators": "+-"},
}


def _denominators(rng: random.Random, cfg: dict) -> list[int]:
    first = rng.randint(2, cfg["max_denominator"])
    if cfg["denominators"] == "same":
        return [first] * cfg["terms"]
    if cfg["denominators"] == "multiple":
        return [first, first * rng.randint(2, 3)]
    return [first] + [rng.randint(2, cfg["max_denominator"]) for _ in range(cfg["terms"] - 1)]


def fraction_addition(level: int, rng: random.Random) -> Problem:
    cfg = LEVELS[level]
    fractions = [(rng.randint(1, d - 1), d) for d in _denominators(rng, cfg)]
    total = Fraction(*fractions[0])
    expression = f"{fractions[0][0]}/{fractions[0][1]}"
    for n, d in fractions[1:]:
        op = rng.choice(cfg["operators"])
        total += Fraction(n, d) if op == "+" else -Fraction(n, d)
        expression += f" {op} {n}/{d}"
    return Problem(
        prompt=f"What is {expression}? Give the answer in lowest terms.",
        answer_format=AnswerFormat.EXPRESSION,
        verifier=VerifierKind.MATH,
        reference=str(total),
        metadata={"expression": expression, "lowest_terms": True},
    )


register_generator(
    "fraction_addition",
    fraction_addition,
    domain=Domain.MATH,
    levels=len(LEVELS),
    description="a/b + c/d (reduced answer); unlike denominators from level 2, minus from level 4",
    identity=identity.expression,
)
