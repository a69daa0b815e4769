"""Greatest common divisor, from reasoning-gym's `gcd` (the prompt rewritten short)."""

from __future__ import annotations

import math
import random

from cosr.domain import AnswerFormat, Domain, Task, VerifierKind
from cosr.graphs.skills import identity
from cosr.graphs.skills.catalog import Problem, _rg, register_generator
from cosr.graphs.skills.catalog._worked import euclid

# reasoning-gym GCDConfig fields: how many numbers, and their range.
LEVELS = {
    1: {"min_numbers": 2, "max_numbers": 2, "min_value": 2, "max_value": 12},
    2: {"min_numbers": 2, "max_numbers": 2, "min_value": 2, "max_value": 50},
    3: {"min_numbers": 2, "max_numbers": 2, "min_value": 2, "max_value": 200},
    4: {"min_numbers": 3, "max_numbers": 3, "min_value": 2, "max_value": 500},
    5: {"min_numbers": 3, "max_numbers": 4, "min_value": 2, "max_value": 5000},
}


def gcd(level: int, rng: random.Random) -> Problem:
    while True:  # distinct numbers: gcd(6, 6) is no exercise
        item = _rg.item("gcd", rng, **LEVELS[level])
        numbers = item["metadata"]["numbers"]
        if len(set(numbers)) == len(numbers):
            break
    return Problem(
        prompt=f"What is gcd({', '.join(map(str, numbers))})?",
        answer_format=AnswerFormat.NUMBER,
        verifier=VerifierKind.MATH,
        reference=item["answer"],
        metadata={"numbers": numbers, "source": "reasoning_gym/gcd"},
    )


def worked(task: Task) -> list[str] | None:
    """Euclid on the first two numbers, then on their gcd and the next number, and so on."""
    numbers = task.metadata.get("numbers", [])
    if len(numbers) < 2:
        return None
    g, steps = numbers[0], []
    for n in numbers[1:]:
        steps += euclid(g, n)
        g = math.gcd(g, n)
    return steps


register_generator(
    "gcd",
    gcd,
    domain=Domain.MATH,
    levels=len(LEVELS),
    description="gcd of 2-4 numbers, sizes by level (reasoning-gym gcd)",
    identity=identity.number_set,
    worked=worked,
    fundamentals="Euclid: gcd(a, b) = gcd(b, a mod b), until the remainder is 0; the last non-zero number is the gcd.",
)
