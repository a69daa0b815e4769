"""Expressions mixing + - * (and, higher up, parentheses) where operator precedence decides the answer.

Our own rather than reasoning-gym's `basic_arithmetic`: without parentheses that generator evaluates
left to right (it answers 56 for `4 + 10 * 4`), and with them it always draws negative constants.
"""

from __future__ import annotations

import random

from cosr.domain import AnswerFormat, Domain, Task, VerifierKind
from cosr.graphs.skills import identity
from cosr.graphs.skills.catalog import Problem, register_generator
from cosr.graphs.skills.catalog._worked import expression_steps

LEVELS = {
    1: {"terms": (3, 3), "max_value": 9, "operators": "+*", "parentheses": 0.0},
    2: {"terms": (3, 3), "max_value": 9, "operators": "+-*", "parentheses": 0.0},
    3: {"terms": (4, 4), "max_value": 12, "operators": "+-*", "parentheses": 0.3},
    4: {"terms": (4, 5), "max_value": 20, "operators": "+-*", "parentheses": 0.4},
    5: {"terms": (5, 6), "max_value": 50, "operators": "+-*", "parentheses": 0.5},
}


def _expression(rng: random.Random, terms: int, cfg: dict, ops: list[str], top: bool = True) -> str:
    """A random binary tree over `terms` numbers; inner subtrees wrapped in parentheses by chance."""
    if terms == 1:
        return str(rng.randint(1, cfg["max_value"]))
    left = rng.randint(1, terms - 1)
    ops.append(rng.choice(cfg["operators"]))
    text = f"{_expression(rng, left, cfg, ops, False)} {ops[-1]} {_expression(rng, terms - left, cfg, ops, False)}"
    return text if top or rng.random() >= cfg["parentheses"] else f"({text})"


def order_of_operations(level: int, rng: random.Random) -> Problem:
    cfg = LEVELS[level]
    while True:  # mixed operators only: with one operator precedence does not matter
        ops: list[str] = []
        expression = _expression(rng, rng.randint(*cfg["terms"]), cfg, ops)
        if len(set(ops)) > 1:
            break
    return Problem(
        prompt=f"What is {expression}?",
        answer_format=AnswerFormat.NUMBER,
        verifier=VerifierKind.MATH,
        reference=str(eval(expression)),  # our own string of digits, + - * and parentheses
        metadata={"expression": expression},
    )


def worked(task: Task) -> list[str] | None:
    """One operation a step, in the order precedence and brackets give."""
    return expression_steps(task.metadata["expression"]) if "expression" in task.metadata else None


register_generator(
    "order_of_operations",
    order_of_operations,
    domain=Domain.MATH,
    levels=len(LEVELS),
    description="mixed + - * with precedence, parentheses from level 3",
    identity=identity.expression,
    worked=worked,
    fundamentals="Brackets first, then * and /, then + and - from left to right.",
)
