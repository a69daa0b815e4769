"""Chains of additions and subtractions, from reasoning-gym's `chain_sum` (the prompt rewritten short)."""

from __future__ import annotations

import random

from cosr.domain import AnswerFormat, Domain, Task, VerifierKind
from cosr.graphs.skills import identity
from cosr.graphs.skills.catalog import Problem, _rg, register_generator
from cosr.graphs.skills.catalog._worked import expression_steps

# reasoning-gym ChainSumConfig fields: terms and digits are (min, max) ranges drawn per item.
LEVELS = {
    1: {"min_terms": 3, "max_terms": 3, "min_digits": 1, "max_digits": 1},
    2: {"min_terms": 3, "max_terms": 4, "min_digits": 1, "max_digits": 1},
    3: {"min_terms": 4, "max_terms": 4, "min_digits": 1, "max_digits": 2},
    4: {"min_terms": 4, "max_terms": 5, "min_digits": 2, "max_digits": 2},
    5: {"min_terms": 5, "max_terms": 6, "min_digits": 2, "max_digits": 3},
}


def chain_sum(level: int, rng: random.Random) -> Problem:
    item = _rg.item("chain_sum", rng, **LEVELS[level])
    expression = item["metadata"]["expression"]
    return Problem(
        prompt=f"What is {expression}?",
        answer_format=AnswerFormat.NUMBER,
        verifier=VerifierKind.MATH,
        reference=item["answer"],
        metadata={"expression": expression, "source": "reasoning_gym/chain_sum"},
    )


def worked(task: Task) -> list[str] | None:
    """One operation a step, left to right."""
    return expression_steps(task.metadata["expression"]) if "expression" in task.metadata else None


register_generator(
    "chain_sum",
    chain_sum,
    domain=Domain.MATH,
    levels=len(LEVELS),
    description="a + b - c ..., terms and digits by level (reasoning-gym chain_sum)",
    identity=identity.expression,
    worked=worked,
    fundamentals="Work left to right, one operation at a time, keeping track of the sign of each term.",
)
