"""Addition of two non-negative integers; the level sets how many digits each has."""

from __future__ import annotations

import random

from cosr.domain import AnswerFormat, Domain, Task, VerifierKind
from cosr.graphs.skills import identity
from cosr.graphs.skills.catalog import Problem, integer, register_generator
from cosr.graphs.skills.catalog._worked import expression_steps, place

LEVELS = {1: {"digits": 1}, 2: {"digits": 2}, 3: {"digits": 3}, 4: {"digits": 4}, 5: {"digits": 6}}


def addition(level: int, rng: random.Random) -> Problem:
    digits = LEVELS[level]["digits"]
    a, b = integer(rng, digits), integer(rng, digits)
    return Problem(
        prompt=f"What is {a} + {b}?",
        answer_format=AnswerFormat.NUMBER,
        verifier=VerifierKind.MATH,
        reference=str(a + b),
        metadata={"operands": [a, b], **LEVELS[level]},
    )


def worked(task: Task) -> list[str] | None:
    """`a + b = s` in one step: the sum is the step (a person is shown `columns`)."""
    operands = task.metadata.get("operands")
    return expression_steps(" + ".join(map(str, operands))) if operands else None


def columns(task: Task) -> list[str] | None:
    """Column by column from the right, with the carries; one-digit numbers by counting on."""
    operands = task.metadata.get("operands")
    if not operands:
        return None
    a, b = operands
    if a < 10 and b < 10:
        return [f"start at {max(a, b)} and count on {min(a, b)}", f"{a} + {b} = {a + b}"]
    steps, carry, width = [], 0, len(str(max(a, b)))
    for i in range(width):
        da, db = a // 10**i % 10, b // 10**i % 10
        total = da + db + carry
        carried = f" + {carry} (carried)" if carry else ""
        carry = total // 10
        steps.append(f"{place(i)}: {da} + {db}{carried} = {total}: write {total % 10}" + (", carry 1" if carry else ""))
    if carry:
        steps.append(f"{place(width)}: the carried 1: write 1")
    return [*steps, f"{a} + {b} = {a + b}"]


register_generator(
    "addition", addition, domain=Domain.MATH, levels=len(LEVELS), description="a + b, digits by level",
    identity=identity.expression, worked=worked, explain=columns,
    fundamentals="Add digit by digit from the right; when a column reaches 10 or more, carry 1 to the next column.",
)
