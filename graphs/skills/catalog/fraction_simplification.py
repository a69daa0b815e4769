"""Reduce a fraction to lowest terms, from reasoning-gym's `fraction_simplification` (plain a/b style only).

reasoning-gym can draw n/n (answer 1/1), which is no exercise in reducing; we draw again.
"""

from __future__ import annotations

import math
import random
import re

from cosr.domain import AnswerFormat, Domain, Task, VerifierKind
from cosr.graphs.skills import identity
from cosr.graphs.skills.catalog import Problem, _rg, register_generator
from cosr.graphs.skills.catalog._worked import euclid

# reasoning-gym FractionSimplificationConfig fields: range of the reduced parts, and of the common factor.
LEVELS = {
    1: {"min_value": 1, "max_value": 5, "min_factor": 2, "max_factor": 4},
    2: {"min_value": 1, "max_value": 10, "min_factor": 2, "max_factor": 5},
    3: {"min_value": 1, "max_value": 20, "min_factor": 2, "max_factor": 10},
    4: {"min_value": 1, "max_value": 50, "min_factor": 2, "max_factor": 20},
    5: {"min_value": 1, "max_value": 100, "min_factor": 2, "max_factor": 50},
}


def fraction_simplification(level: int, rng: random.Random) -> Problem:
    while True:
        meta = _rg.item("fraction_simplification", rng, styles=("plain",), **LEVELS[level])["metadata"]
        if meta["simplified_numerator"] != meta["simplified_denominator"]:
            break
    return Problem(
        prompt=f"Simplify {meta['numerator']}/{meta['denominator']} to lowest terms.",
        answer_format=AnswerFormat.EXPRESSION,
        verifier=VerifierKind.MATH,
        reference=f"{meta['simplified_numerator']}/{meta['simplified_denominator']}",
        metadata={"factor": meta["factor"], "source": "reasoning_gym/fraction_simplification", "lowest_terms": True},
    )


def worked(task: Task) -> list[str] | None:
    """The gcd by Euclid, then numerator and denominator divided by it. Read from the prompt, so that a task
    written elsewhere (an LLM's) is worked too."""
    if not (f := re.search(r"(\d+)\s*/\s*(\d+)", task.prompt)):
        return None
    n, d = int(f.group(1)), int(f.group(2))
    g = math.gcd(n, d)
    return [*euclid(n, d), f"{n} / {g} = {n // g}", f"{d} / {g} = {d // g}", f"{n}/{d} = {n // g}/{d // g}"]


register_generator(
    "fraction_simplification",
    fraction_simplification,
    domain=Domain.MATH,
    levels=len(LEVELS),
    description="reduce n/d to lowest terms, sizes by level (reasoning-gym fraction_simplification)",
    identity=identity.ordered_numbers,
    worked=worked,
    fundamentals="Divide numerator and denominator by their greatest common divisor.",
)
