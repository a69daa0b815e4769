"""Hints and explanations written from the task itself, with no LLM: TeacherLM's three parts.

*Fundamentals* (what the skill rests on), a worked *chain of thought* computed from the task's
own numbers (so it is always right), and *common mistakes* drawn from the Diagnostician's mistake
categories for this learner. Hints are graded, each revealing a little more; the final answer is
only part of an explanation once the learner has tried (`reveal=True`).
"""

from __future__ import annotations

import ast
import math
import operator
import re
from fractions import Fraction

from pydantic import BaseModel

from cosr.domain import Task

FUNDAMENTALS = {
    "addition": "Add digit by digit from the right; when a column reaches 10 or more, carry 1 to the next column.",
    "subtraction": "Subtract column by column from the right; borrow 10 from the next column when the top digit is smaller.",
    "multiplication": "Split a factor into tens and units, multiply each part, then add the partial products.",
    "division": "Find the number that, multiplied by the divisor, gives the dividend (a multiplication fact backwards).",
    "remainder": "a mod b is what is left after taking away as many whole b's as fit into a: a = q*b + r, 0 <= r < b.",
    "chain_sum": "Work left to right, one operation at a time, keeping track of the sign of each term.",
    "order_of_operations": "Brackets first, then * and /, then + and - from left to right.",
    "linear_equation": "Undo the operations around the unknown in reverse order, doing the same to both sides.",
    "percentage": "p% of n is p/100 * n; divide by 100 first when that makes the numbers easier.",
    "gcd": "Euclid: gcd(a, b) = gcd(b, a mod b), until the remainder is 0; the last non-zero number is the gcd.",
    "lcm": "lcm(a, b) = a * b / gcd(a, b); for more numbers, take them two at a time.",
    "fraction_simplification": "Divide numerator and denominator by their greatest common divisor.",
    "fraction_addition": "Rewrite the fractions over a common denominator (the lcm), add the numerators, then reduce.",
    "code_output": "Run the function by hand: substitute the input and evaluate line by line, writing down each variable.",
    "code_input": "Work backwards from the output: undo each step of the function, or try small inputs systematically.",
    "code_synthesis": "Compare each output with its input: a constant difference, a ratio, a condition; then write f and check every pair.",
}

MISTAKE_ADVICE = {
    "sign error": "Your answer had the wrong sign: check which number is larger and the sign of each term.",
    "off by one": "You were off by one: recount the last carry or borrow, or an inclusive range.",
    "one digit wrong (carry or borrow)": "One digit was wrong: a carry or a borrow was probably dropped.",
    "wrong operator": "That is what another operation gives: read the operator again.",
    "wrong value": "Recompute each step and check it against the one before.",
    "wrong format": "Give just the answer (a number, a fraction like 3/4, or code) so it can be checked.",
    "assertion failed": "The code ran but returned a different value from the expected one in a test.",
    "failed test": "A test failed: run your function by hand on that test's input.",
    "timeout": "The code ran too long: look for a loop that never ends.",
}


class Explanation(BaseModel):
    skill: str
    fundamentals: str
    steps: list[str]  # the worked chain of thought, without the final answer
    mistakes: list[str]
    answer: str | None = None  # only when revealed

    def render(self) -> str:
        lines = [f"Fundamentals: {self.fundamentals}", "Worked steps:"]
        lines += [f"  {i}. {s}" for i, s in enumerate(self.steps, 1)]
        if self.answer is not None:
            lines.append(f"  So the answer is {self.answer}.")
        if self.mistakes:
            lines.append("Common mistakes: " + " ".join(self.mistakes))
        return "\n".join(lines)


_OPS = {ast.Add: ("+", operator.add), ast.Sub: ("-", operator.sub), ast.Mult: ("*", operator.mul),
        ast.Div: ("/", operator.truediv), ast.FloorDiv: ("//", operator.floordiv), ast.Mod: ("%", operator.mod)}


def _num(v: Fraction) -> str:
    return str(v.numerator) if v.denominator == 1 else str(v)


def expression_steps(expression: str) -> list[str]:
    """One line per operation, innermost first, as a person would evaluate the expression."""
    steps: list[str] = []

    def walk(node: ast.AST) -> Fraction:
        if isinstance(node, ast.Constant):
            return Fraction(node.value)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -walk(node.operand)
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            left, right = walk(node.left), walk(node.right)
            sym, fn = _OPS[type(node.op)]
            value = Fraction(fn(left, right))
            steps.append(f"{_num(left)} {sym} {_num(right)} = {_num(value)}")
            return value
        raise ValueError(f"not arithmetic: {ast.dump(node)}")

    clean = expression.replace("×", "*").replace("÷", "/").replace("−", "-")
    walk(ast.parse(clean, mode="eval").body)
    return steps


def _euclid(a: int, b: int) -> list[str]:
    steps = []
    while b:
        steps.append(f"gcd({a}, {b}): {a} mod {b} = {a % b}")
        a, b = b, a % b
    steps.append(f"the remainder is 0, so the gcd is the last divisor, {a}")
    return steps


def worked_steps(task: Task) -> list[str]:
    """The chain of thought for this very task, from its metadata; the final answer is not a step."""
    m, gen = task.metadata, task.metadata.get("generator", task.skill)
    try:
        if gen in ("addition", "multiplication") and "operands" in m:
            sym = "+" if gen == "addition" else "*"
            return expression_steps(f" {sym} ".join(map(str, m["operands"])))[:-1] or [
                f"Line the numbers up by place value and combine them with {sym}."]
        if gen in ("chain_sum", "order_of_operations") and "expression" in m:
            return expression_steps(m["expression"])[:-1]
        if gen == "division":
            return [f"Which number times {m['divisor']} gives {m['dividend']}?",
                    f"Try a round guess: {m['divisor']} * 10 = {m['divisor'] * 10}, then adjust up or down."]
        if gen == "remainder":
            q = m["dividend"] // m["divisor"]
            return [f"{m['divisor']} fits into {m['dividend']} {q} times: {q} * {m['divisor']} = {q * m['divisor']}",
                    f"what is left is {m['dividend']} - {q * m['divisor']}"]
        if gen == "gcd" and len(m.get("numbers", [])) >= 2:
            return _euclid(*m["numbers"][:2])[:-1]
        if gen == "lcm" and len(m.get("numbers", [])) >= 2:
            a, b = m["numbers"][:2]
            return [f"gcd({a}, {b}) = {math.gcd(a, b)}", f"lcm = {a} * {b} / {math.gcd(a, b)}"]
        if gen == "percentage":
            return [f"{m['percent']}% means {m['percent']}/100", f"multiply: {m['n']} * {m['percent']} / 100"]
        if gen == "fraction_addition" and "expression" in m:
            parts = re.findall(r"(\d+)/(\d+)", m["expression"])
            dens = [int(d) for _, d in parts]
            common = math.lcm(*dens)
            rewritten = [f"{int(n) * common // int(d)}/{common}" for n, d in parts]
            return [f"common denominator: lcm({', '.join(map(str, dens))}) = {common}",
                    "rewrite: " + ", ".join(f"{n}/{d} = {r}" for (n, d), r in zip(parts, rewritten, strict=True)),
                    "combine the numerators over that denominator, then reduce by their gcd"]
        if gen == "fraction_simplification" and (f := re.search(r"(\d+)\s*/\s*(\d+)", task.prompt)):
            n, d = int(f.group(1)), int(f.group(2))
            return [*_euclid(n, d)[-2:], f"divide {n} and {d} by {math.gcd(n, d)}"]
        if gen == "code_output":
            return [f"call f with x = {m.get('input')}", "follow each line of f, writing every variable's value"]
        if gen == "code_input":
            return [f"the target output is {m.get('output')}", "undo the last operation of f first, then the one before"]
        if gen == "code_synthesis" and m.get("shown"):
            pairs = "; ".join(f"{x} -> {y}" for x, y in m["shown"])
            return [f"the examples: {pairs}", "what changes between consecutive examples? a difference, a ratio or a branch?"]
    except (KeyError, ValueError, TypeError, ZeroDivisionError, SyntaxError):
        pass
    return ["Restate what is asked in your own words.", "Work it out one small step at a time, then check your result."]


def common_mistakes(skill: str, mistakes: dict[str, int] | None) -> list[str]:
    """Advice for this learner's own mistakes on the skill (most frequent first), else the generic kind."""
    seen = [cat for cat, _ in sorted((mistakes or {}).items(), key=lambda kv: -kv[1])]
    advice = [MISTAKE_ADVICE.get(cat, f"Watch for: {cat}.") for cat in seen[:2]]
    return advice or [MISTAKE_ADVICE["wrong value"]]


def explanation(task: Task, mistakes: dict[str, int] | None = None, *, reveal: bool = False) -> Explanation:
    return Explanation(skill=task.skill, fundamentals=FUNDAMENTALS.get(task.skill, FUNDAMENTALS.get(
        task.metadata.get("generator", ""), "Break the problem into small steps and check each one.")),
        steps=worked_steps(task), mistakes=common_mistakes(task.skill, mistakes),
        answer=task.reference if reveal else None)


def hint(task: Task, n: int, mistakes: dict[str, int] | None = None) -> str:
    """The n-th hint (0-based), each a little more telling; never the answer."""
    ex = explanation(task, mistakes)
    ladder = [ex.fundamentals, *(f"Step: {s}" for s in ex.steps), *ex.mistakes]
    return ladder[min(n, len(ladder) - 1)]
