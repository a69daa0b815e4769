"""What makes two tasks the same problem: the rules a skill family picks from to say so.

Every exclusion of held-out tasks from training compares these identities, never raw prompts:
"What is 5 * 9?" and "What is 9 * 5?" are one problem, and so are two programs that differ only in
layout. A rule reads the task's text (prompt, reference), not the generator's metadata, so that a task
written by an LLM or read from a file gets the identity of the generated task it copies. A rule that
cannot parse the text falls back to the normalised prompt, the identity of any task no family claims.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from fractions import Fraction

from cosr.domain import Task

IdentityRule = Callable[[Task], str]


def normalized_prompt(task: Task) -> str:
    """Case, whitespace and closing punctuation removed: the identity of a task no rule parses."""
    return re.sub(r"\s+", " ", task.prompt.casefold()).strip().rstrip(".?! ")


def _parse(expr: str) -> ast.expr:
    return ast.parse(expr.strip().replace("×", "*").replace("÷", "/"), mode="eval").body


def _terms(node: ast.expr, sign: int = 1) -> list[tuple[int, ast.expr]]:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub):
        return _terms(node.left, sign) + _terms(node.right, sign if isinstance(node.op, ast.Add) else -sign)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return _terms(node.operand, -sign)
    return [(sign, node)]


def _factors(node: ast.expr) -> list[ast.expr]:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
        return _factors(node.left) + _factors(node.right)
    return [node]


def canonical(node: ast.expr) -> str:
    """An arithmetic expression with sums and products in a fixed order: a + b - c and -c + b + a read the
    same, a - b and b - a do not."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub) or (
            isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub)):
        parts = sorted(("+" if s > 0 else "-") + canonical(t) for s, t in _terms(node))
        return "(" + "".join(parts) + ")"
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
        return "(" + "*".join(sorted(canonical(f) for f in _factors(node))) + ")"
    if isinstance(node, ast.BinOp):
        return f"({canonical(node.left)}{type(node.op).__name__}{canonical(node.right)})"
    if isinstance(node, ast.Constant):
        return repr(node.value)
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return f"{node.func.id}({','.join(canonical(a) for a in node.args)})"
    raise ValueError(f"not arithmetic: {ast.dump(node)[:60]}")


def _or_prompt(rule: Callable[[Task], str]) -> IdentityRule:
    def guarded(task: Task) -> str:
        try:
            return rule(task)
        except (ValueError, SyntaxError, TypeError, AttributeError):
            return "prompt:" + normalized_prompt(task)
    guarded.__doc__ = rule.__doc__
    return guarded


@_or_prompt
def expression(task: Task) -> str:
    """"What is <expression>?": the expression, sums and products in canonical order."""
    m = re.search(r"what is (.+?)\?", task.prompt, re.IGNORECASE | re.DOTALL)
    if not m:
        raise ValueError("no expression")
    return canonical(_parse(m.group(1).replace(" mod ", " % ")))


def _numbers(task: Task) -> list[int]:
    numbers = [int(n) for n in re.findall(r"-?\d+", task.prompt)]
    if not numbers:
        raise ValueError("no numbers")
    return numbers


@_or_prompt
def ordered_numbers(task: Task) -> str:
    """The numbers of the prompt in order (a - b, a mod b, p% of n, a/b to simplify)."""
    return ",".join(map(str, _numbers(task)))


@_or_prompt
def number_set(task: Task) -> str:
    """The numbers of the prompt as a multiset (gcd, lcm: the order of the arguments does not matter)."""
    return ",".join(map(str, sorted(_numbers(task))))


def _linear(node: ast.expr, x: Fraction) -> Fraction:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return Fraction(node.value)
    if isinstance(node, ast.Name):
        return x
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        return -_linear(node.operand, x) if isinstance(node.op, ast.USub) else _linear(node.operand, x)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub | ast.Mult | ast.Div):
        a, b = _linear(node.left, x), _linear(node.right, x)
        return {ast.Add: a + b, ast.Sub: a - b, ast.Mult: a * b}.get(type(node.op)) if not isinstance(node.op, ast.Div) else a / b
    raise ValueError("not a linear equation")


@_or_prompt
def equation(task: Task) -> str:
    """A linear equation as lhs - rhs = a*x + b with a > 0: sides swapped or terms reordered, it is the same
    equation (read off at x = 0 and x = 1; sympy would do it too, at a hundred times the cost)."""
    m = re.search(r":\s*(.+=.+)$", task.prompt.strip())
    if not m:
        raise ValueError("no equation")
    lhs, rhs = (_parse(side) for side in m.group(1).split("=", 1))
    b = _linear(lhs, Fraction(0)) - _linear(rhs, Fraction(0))
    a = _linear(lhs, Fraction(1)) - _linear(rhs, Fraction(1)) - b
    if a < 0 or (a == 0 and b < 0):
        a, b = -a, -b
    return f"{a}*x+{b}"


def program(source: str) -> str:
    """A program's syntax tree: layout, comments and quoting do not matter."""
    return ast.dump(ast.parse(source.strip()))


def _literal(text: str) -> str:
    return repr(ast.literal_eval(text.strip()))


@_or_prompt
def program_and_question(task: Task) -> str:
    """Absolute-Zero deduction / abduction: the program's tree and the literal asked about (the input whose
    output is wanted, or the output whose input is)."""
    m = re.search(r"(What is f\((.*)\)\?|Find x such that f\(x\) == (.*)\.)\s*$", task.prompt, re.DOTALL)
    if not m:
        raise ValueError("no question")
    kind, value = ("output_of", m.group(2)) if m.group(2) is not None else ("input_for", m.group(3))
    return f"{program(task.prompt[:m.start()])}|{kind}|{_literal(value)}"


@_or_prompt
def reference_program(task: Task) -> str:
    """Absolute-Zero induction: the function to be found, as a tree (shown other examples of the same
    function, it is the same problem: its solution is the same program)."""
    return program(task.reference)
