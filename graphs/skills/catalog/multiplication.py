"""Multiplication of two integers; the level sets the digits of each factor."""

from __future__ import annotations

import random

from cosr.domain import AnswerFormat, Domain, Task, VerifierKind
from cosr.graphs.skills import identity
from cosr.graphs.skills.catalog import Problem, integer, register_generator
from cosr.graphs.skills.catalog._worked import expression_steps

LEVELS = {
    1: {"digits": (1, 1)},
    2: {"digits": (2, 1)},
    3: {"digits": (2, 2)},
    4: {"digits": (3, 2)},
    5: {"digits": (3, 3)},
}


def multiplication(level: int, rng: random.Random) -> Problem:
    da, db = LEVELS[level]["digits"]
    a, b = integer(rng, da), integer(rng, db)
    return Problem(
        prompt=f"What is {a} * {b}?",
        answer_format=AnswerFormat.NUMBER,
        verifier=VerifierKind.MATH,
        reference=str(a * b),
        metadata={"operands": [a, b], "digits": [da, db]},
    )


def worked(task: Task) -> list[str] | None:
    """`a * b = p` in one step: the product is the step (a person is shown `partial_products`)."""
    operands = task.metadata.get("operands")
    return expression_steps(" * ".join(map(str, operands))) if operands else None


def partial_products(task: Task) -> list[str] | None:
    """A factor split by place value (the second, if it has two digits), each part multiplied, the parts added."""
    operands = task.metadata.get("operands")
    if not operands:
        return None
    a, b = operands
    if a < 10 and b < 10:
        return [f"{a} * {b} is {b} added up {a} times", f"{a} * {b} = {a * b}"]
    split = b if b >= 10 else a
    digits = str(split)
    parts = [int(d) * 10 ** (len(digits) - 1 - i) for i, d in enumerate(digits) if d != "0"]
    products = [(f"{a} * {p}" if split == b else f"{p} * {b}", (a if split == b else b) * p) for p in parts]
    steps = [f"{split} = {' + '.join(map(str, parts))}"] if len(parts) > 1 else []
    steps += [f"{text} = {value}" for text, value in products]
    if len(parts) > 1:
        steps.append(f"{' + '.join(str(v) for _, v in products)} = {a * b}")
    return steps


register_generator(
    "multiplication",
    multiplication,
    domain=Domain.MATH,
    levels=len(LEVELS),
    description="a * b, digits of each factor by level",
    identity=identity.expression,
    worked=worked,
    explain=partial_products,
    fundamentals="Split a factor into tens and units, multiply each part, then add the partial products.",
)
