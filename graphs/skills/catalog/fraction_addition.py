"""Adding and subtracting proper fractions; the reference is the reduced result ("5/6", "1", "-1/12")."""

from __future__ import annotations

import math
import random
import re
from fractions import Fraction

from cosr.domain import AnswerFormat, Domain, Task, VerifierKind
from cosr.graphs.skills import identity
from cosr.graphs.skills.catalog import Problem, register_generator
from cosr.graphs.skills.catalog._worked import num

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


def worked(task: Task) -> list[str] | None:
    """The common denominator, each fraction over it, the numerators added, the sum reduced."""
    if "expression" not in task.metadata:
        return None
    terms = re.findall(r"([+-]?)\s*(\d+)/(\d+)", task.metadata["expression"])
    common = math.lcm(*(int(d) for _, _, d in terms))
    nums = [(-1 if sign == "-" else 1) * int(n) * (common // int(d)) for sign, n, d in terms]
    total = sum(nums)
    combined = " ".join(f"{'-' if v < 0 else '+'} {abs(v)}" for v in nums).lstrip("+ ")
    steps = [f"lcm({', '.join(d for _, _, d in terms)}) = {common}",
             *(f"{n}/{d} = {abs(v)}/{common}" for (_, n, d), v in zip(terms, nums, strict=True)),
             f"{combined} = {total}"]
    if (g := math.gcd(total, common)) == 1:
        return [*steps, f"sum = {total}/{common}"]
    return [*steps, f"gcd({abs(total)}, {common}) = {g}", f"{total}/{common} = {num(Fraction(total, common))}"]


register_generator(
    "fraction_addition",
    fraction_addition,
    domain=Domain.MATH,
    levels=len(LEVELS),
    description="a/b + c/d (reduced answer); unlike denominators from level 2, minus from level 4",
    identity=identity.expression,
    worked=worked,
    fundamentals="Rewrite the fractions over a common denominator (the lcm), add the numerators, then reduce.",
)
