"""Least common multiple, from reasoning-gym's `lcm` (the prompt rewritten short)."""

from __future__ import annotations

import random

from cosr.domain import AnswerFormat, Domain, VerifierKind
from cosr.graphs.skills import identity
from cosr.graphs.skills.catalog import Problem, _rg, register_generator

# reasoning-gym LCMConfig fields: how many numbers, and their range (small: the lcm grows fast).
LEVELS = {
    1: {"min_numbers": 2, "max_numbers": 2, "min_value": 2, "max_value": 8},
    2: {"min_numbers": 2, "max_numbers": 2, "min_value": 2, "max_value": 12},
    3: {"min_numbers": 2, "max_numbers": 2, "min_value": 2, "max_value": 30},
    4: {"min_numbers": 3, "max_numbers": 3, "min_value": 2, "max_value": 15},
    5: {"min_numbers": 3, "max_numbers": 3, "min_value": 2, "max_value": 40},
}


def lcm(level: int, rng: random.Random) -> Problem:
    while True:  # distinct numbers: lcm(6, 6) is no exercise
        item = _rg.item("lcm", rng, **LEVELS[level])
        numbers = item["metadata"]["numbers"]
        if len(set(numbers)) == len(numbers):
            break
    return Problem(
        prompt=f"What is lcm({', '.join(map(str, numbers))})?",
        answer_format=AnswerFormat.NUMBER,
        verifier=VerifierKind.MATH,
        reference=item["answer"],
        metadata={"numbers": numbers, "source": "reasoning_gym/lcm"},
    )


register_generator(
    "lcm",
    lcm,
    domain=Domain.MATH,
    levels=len(LEVELS),
    description="lcm of 2-3 numbers, sizes by level (reasoning-gym lcm)",
    identity=identity.number_set,
)
