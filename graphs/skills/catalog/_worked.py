"""Building blocks of worked solutions, shared by the arithmetic families: steps computed from the task's numbers.

Every step is written `left = value`, so each is a true equation a reader (or a test) can check. The text
is what the embedded student was pretrained on (its record holds a digest of it): change a word here and
that student's pretraining no longer replays (tests/unit/test_worked.py holds a sample of it).
"""

from __future__ import annotations

import ast
import operator
from fractions import Fraction

_OPS = {ast.Add: ("+", operator.add), ast.Sub: ("-", operator.sub), ast.Mult: ("*", operator.mul),
        ast.Div: ("/", operator.truediv), ast.FloorDiv: ("//", operator.floordiv), ast.Mod: ("%", operator.mod)}


def num(v: Fraction) -> str:
    return str(v.numerator) if v.denominator == 1 else str(v)


def evaluate(node: ast.AST, x: Fraction | None = None, steps: list[str] | None = None) -> Fraction:
    """The exact value of an arithmetic expression tree (with `x` standing for a number when given),
    appending one `left op right = value` line per operation to `steps` when given."""
    if isinstance(node, ast.Constant):
        return Fraction(node.value)
    if isinstance(node, ast.Name) and node.id == "x" and x is not None:
        return x
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -evaluate(node.operand, x, steps)
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        left, right = evaluate(node.left, x, steps), evaluate(node.right, x, steps)
        sym, fn = _OPS[type(node.op)]
        value = Fraction(fn(left, right))
        if steps is not None:
            steps.append(f"{num(left)} {sym} {num(right)} = {num(value)}")
        return value
    raise ValueError(f"not arithmetic: {ast.dump(node)}")


def expression_steps(expression: str) -> list[str]:
    """One line per operation, innermost first, as a person would evaluate the expression."""
    steps: list[str] = []
    clean = expression.replace("×", "*").replace("÷", "/").replace("−", "-")
    evaluate(ast.parse(clean, mode="eval").body, steps=steps)
    return steps


def euclid(a: int, b: int) -> list[str]:
    """gcd(a, b) by Euclid: one `x mod y = r` per division, until the remainder is 0."""
    a, b, steps = max(a, b), min(a, b), []
    while b:
        steps.append(f"{a} mod {b} = {a % b}")
        a, b = b, a % b
    return [*steps, f"gcd = {a}"]


PLACES = ("ones", "tens", "hundreds", "thousands", "ten thousands", "hundred thousands", "millions")


def place(i: int) -> str:
    """The name of the i-th column from the right (0: ones)."""
    return PLACES[i] if i < len(PLACES) else f"10^{i}"
