"""Least common multiple, from reasoning-gym's `lcm` (the prompt rewritten short)."""

from __future__ import annotations

import math
import random

from cosr.domain import AnswerFormat, Domain, Task, VerifierKind
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


def worked(task: Task) -> list[str] | None:
    """Two numbers at a time: their gcd, then a * b / gcd."""
    numbers = task.metadata.get("numbers", [])
    if len(numbers) < 2:
        return None
    acc, steps = numbers[0], []
    for n in numbers[1:]:
        g = math.gcd(acc, n)
        steps += [f"gcd({acc}, {n}) = {g}", f"{acc} * {n} / {g} = {acc * n // g}"]
        acc = acc * n // g
    return steps


register_generator(
    "lcm",
    lcm,
    domain=Domain.MATH,
    levels=len(LEVELS),
    description="lcm of 2-3 numbers, sizes by level (reasoning-gym lcm)",
    identity=identity.number_set,
    worked=worked,
    fundamentals="lcm(a, b) = a * b / gcd(a, b); for more numbers, take them two at a time.",
)
