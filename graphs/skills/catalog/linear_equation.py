"""One-variable linear equations with an integer solution, from reasoning-gym's `simple_equations`.

reasoning-gym picks a random letter for the unknown; we rename it to x (the equation holds only
digits, operators and that letter) so a small model always reads the same prompt shape. Its sympy
arithmetic makes this the slowest generator (about 1 ms a task), still well inside the budget.
"""

from __future__ import annotations

import ast
import random
from fractions import Fraction

from cosr.domain import AnswerFormat, Domain, Task, VerifierKind
from cosr.graphs.skills import identity
from cosr.graphs.skills.catalog import Problem, _rg, register_generator
from cosr.graphs.skills.catalog._worked import evaluate, num

# reasoning-gym SimpleEquationsConfig fields. Without "*" the unknown has coefficient 1.
_ADD, _ADD_SUB, _ALL = ("+",), ("+", "-"), ("+", "-", "*")
LEVELS = {
    1: {"min_terms": 2, "max_terms": 2, "max_value": 9, "operators": _ADD, "operators_weights": (1.0,)},
    2: {"min_terms": 2, "max_terms": 2, "max_value": 20, "operators": _ADD_SUB, "operators_weights": (0.5, 0.5)},
    3: {"min_terms": 2, "max_terms": 2, "max_value": 12, "operators": _ALL, "operators_weights": (0.4, 0.4, 0.2)},
    4: {"min_terms": 3, "max_terms": 3, "max_value": 20, "operators": _ALL, "operators_weights": (0.4, 0.4, 0.2)},
    5: {"min_terms": 3, "max_terms": 4, "max_value": 50, "operators": _ALL, "operators_weights": (0.3, 0.3, 0.4)},
}


def linear_equation(level: int, rng: random.Random) -> Problem:
    while True:  # reasoning-gym's terms can cancel to `0 = 0`, which any x solves: no exercise, and no one answer
        item = _rg.item("simple_equations", rng, **LEVELS[level])
        if item["metadata"]["variable"] in item["metadata"]["equation"]:
            break
    equation = item["metadata"]["equation"].replace(item["metadata"]["variable"], "x")
    return Problem(
        prompt=f"Solve for x: {equation}",
        answer_format=AnswerFormat.NUMBER,
        verifier=VerifierKind.MATH,
        reference=item["answer"],
        metadata={"equation": equation, "source": "reasoning_gym/simple_equations"},
    )


def worked(task: Task) -> list[str] | None:
    """a*x + b = c solved by undoing b, then a: each step an equation with the numbers worked out."""
    if "equation" not in task.metadata:
        return None
    equation = task.metadata["equation"]
    lhs, rhs = (ast.parse(part.strip(), mode="eval").body for part in equation.split("="))

    def f(x: int) -> Fraction:  # lhs - rhs, zero at the solution
        return evaluate(lhs, Fraction(x)) - evaluate(rhs, Fraction(x))

    b = f(0)
    a = f(1) - b
    if a == 0 or f(2) != 2 * a + b:
        raise ValueError(f"not a linear equation in x: {equation}")
    ax = "x" if a == 1 else "-x" if a == -1 else f"{num(a)}*x"
    steps = [] if b == 0 else [f"{ax} = {num(-b)}"]
    return steps if a == 1 and steps else [*steps, f"x = {num(-b)} / {num(a)} = {num(-b / a)}"]


register_generator(
    "linear_equation",
    linear_equation,
    domain=Domain.MATH,
    levels=len(LEVELS),
    description="solve a*x + b = c for integer x, terms and sizes by level (reasoning-gym simple_equations)",
    identity=identity.equation,
    worked=worked,
    fundamentals="Undo the operations around the unknown in reverse order, doing the same to both sides.",
)
