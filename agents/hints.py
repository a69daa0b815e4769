"""Hints and explanations written from the task itself, with no LLM: TeacherLM's three parts.

*Fundamentals* (what the skill rests on), a worked *chain of thought* computed from the task's
own numbers (so it is always right), and *common mistakes* drawn from the Diagnostician's mistake
categories for this learner. Hints are graded, each revealing a little more; the final answer is
only part of an explanation once the learner has tried (`reveal=True`).
"""

from __future__ import annotations

import ast
import itertools
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


def _evaluate(node: ast.AST, x: Fraction | None = None, steps: list[str] | None = None) -> Fraction:
    """The exact value of an arithmetic expression tree (with `x` standing for a number when given),
    appending one `left op right = value` line per operation to `steps` when given."""
    if isinstance(node, ast.Constant):
        return Fraction(node.value)
    if isinstance(node, ast.Name) and node.id == "x" and x is not None:
        return x
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_evaluate(node.operand, x, steps)
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        left, right = _evaluate(node.left, x, steps), _evaluate(node.right, x, steps)
        sym, fn = _OPS[type(node.op)]
        value = Fraction(fn(left, right))
        if steps is not None:
            steps.append(f"{_num(left)} {sym} {_num(right)} = {_num(value)}")
        return value
    raise ValueError(f"not arithmetic: {ast.dump(node)}")


def expression_steps(expression: str) -> list[str]:
    """One line per operation, innermost first, as a person would evaluate the expression."""
    steps: list[str] = []
    clean = expression.replace("×", "*").replace("÷", "/").replace("−", "-")
    _evaluate(ast.parse(clean, mode="eval").body, steps=steps)
    return steps


def _euclid(a: int, b: int) -> list[str]:
    """gcd(a, b) by Euclid: one `x mod y = r` per division, until the remainder is 0."""
    a, b, steps = max(a, b), min(a, b), []
    while b:
        steps.append(f"{a} mod {b} = {a % b}")
        a, b = b, a % b
    return [*steps, f"gcd = {a}"]


def _linear(equation: str) -> list[str]:
    """a*x + b = c solved by undoing b, then a: each step an equation with the numbers worked out."""
    lhs, rhs = (ast.parse(part.strip(), mode="eval").body for part in equation.split("="))

    def f(x: int) -> Fraction:  # lhs - rhs, zero at the solution
        return _evaluate(lhs, Fraction(x)) - _evaluate(rhs, Fraction(x))

    b = f(0)
    a = f(1) - b
    if a == 0 or f(2) != 2 * a + b:
        raise ValueError(f"not a linear equation in x: {equation}")
    ax = "x" if a == 1 else "-x" if a == -1 else f"{_num(a)}*x"
    steps = [] if b == 0 else [f"{ax} = {_num(-b)}"]
    return steps if a == 1 and steps else [*steps, f"x = {_num(-b)} / {_num(a)} = {_num(-b / a)}"]


def _fraction_sum(expression: str) -> list[str]:
    terms = re.findall(r"([+-]?)\s*(\d+)/(\d+)", expression)
    common = math.lcm(*(int(d) for _, _, d in terms))
    nums = [(-1 if sign == "-" else 1) * int(n) * (common // int(d)) for sign, n, d in terms]
    total = sum(nums)
    combined = " ".join(f"{'-' if v < 0 else '+'} {abs(v)}" for v in nums).lstrip("+ ")
    steps = [f"lcm({', '.join(d for _, _, d in terms)}) = {common}",
             *(f"{n}/{d} = {abs(v)}/{common}" for (_, n, d), v in zip(terms, nums, strict=True)),
             f"{combined} = {total}"]
    if (g := math.gcd(total, common)) == 1:
        return [*steps, f"sum = {total}/{common}"]
    return [*steps, f"gcd({abs(total)}, {common}) = {g}", f"{total}/{common} = {_num(Fraction(total, common))}"]


def worked_solution(task: Task) -> list[str] | None:
    """The whole worked solution of an arithmetic task, computed from its own numbers: one step per
    operation, each written `left = value`, the last one giving the answer. None for a task without
    one (code, or metadata it cannot read)."""
    m, gen = task.metadata, task.metadata.get("generator", task.skill)
    try:
        if gen in ("addition", "subtraction", "multiplication") and "operands" in m:
            sym = {"addition": "+", "subtraction": "-", "multiplication": "*"}[gen]
            return expression_steps(f" {sym} ".join(map(str, m["operands"])))
        if gen in ("chain_sum", "order_of_operations") and "expression" in m:
            return expression_steps(m["expression"])
        if gen == "division":
            q = m["dividend"] // m["divisor"]
            return [f"{m['divisor']} * {q} = {m['dividend']}", f"{m['dividend']} / {m['divisor']} = {q}"]
        if gen == "remainder":
            a, b = m["dividend"], m["divisor"]
            return [f"{b} * {a // b} = {a // b * b}", f"{a} - {a // b * b} = {a % b}"]
        if gen == "gcd" and len(m.get("numbers", [])) >= 2:
            g, steps = m["numbers"][0], []
            for n in m["numbers"][1:]:
                steps += _euclid(g, n)
                g = math.gcd(g, n)
            return steps
        if gen == "lcm" and len(m.get("numbers", [])) >= 2:
            acc, steps = m["numbers"][0], []
            for n in m["numbers"][1:]:
                g = math.gcd(acc, n)
                steps += [f"gcd({acc}, {n}) = {g}", f"{acc} * {n} / {g} = {acc * n // g}"]
                acc = acc * n // g
            return steps
        if gen == "percentage":
            p, n = m["percent"], m["n"]
            return [f"{n} * {p} = {n * p}", f"{n * p} / 100 = {_num(Fraction(n * p, 100))}"]
        if gen == "linear_equation" and "equation" in m:
            return _linear(m["equation"])
        if gen == "fraction_addition" and "expression" in m:
            return _fraction_sum(m["expression"])
        if gen == "fraction_simplification" and (f := re.search(r"(\d+)\s*/\s*(\d+)", task.prompt)):
            n, d = int(f.group(1)), int(f.group(2))
            g = math.gcd(n, d)
            return [*_euclid(n, d), f"{n} / {g} = {n // g}", f"{d} / {g} = {d // g}", f"{n}/{d} = {n // g}/{d // g}"]
    except (KeyError, ValueError, TypeError, ZeroDivisionError, SyntaxError):
        return None
    return None


def worked_answer(task: Task) -> str:
    """A completion that shows its work: the worked solution, then `So the answer is X` (which the
    Answer-Adapter reads); the bare reference for a task without a worked solution (code)."""
    steps = worked_solution(task)
    return ". ".join(steps) + f". So the answer is {task.reference}" if steps else task.reference


def worked_steps(task: Task) -> list[str]:
    """The chain of thought for this very task, up to the first step that would give the answer away
    (division's `6 * 8 = 48` names the quotient before its last step does)."""
    answer = task.reference.strip()
    shown = re.compile(rf"(?<![\d/.]){re.escape(answer)}(?![\d/.])")

    def gives_away(step: str) -> bool:  # the answer, or a fraction answer's numerator as a result
        return bool(shown.search(step)) or step.rsplit(" = ", 1)[-1] == answer.split("/")[0]

    steps = list(itertools.takewhile(lambda s: not gives_away(s), (worked_solution(task) or [])[:-1]))
    if steps:
        return steps
    m, gen = task.metadata, task.metadata.get("generator", task.skill)
    if gen == "division" and {"divisor", "dividend"} <= m.keys():
        question = f"Which number times {m['divisor']} gives {m['dividend']}?"
        if m["dividend"] == m["divisor"] * 10:  # the round guess would be the answer
            return [question]
        return [question, f"Try a round guess: {m['divisor']} * 10 = {m['divisor'] * 10}, then adjust up or down."]
    if gen in ("addition", "subtraction", "multiplication"):
        return ["Line the numbers up by place value and work column by column from the right."]
    if gen == "code_output":
        return [f"call f with x = {m.get('input')}", "follow each line of f, writing every variable's value"]
    if gen == "code_input":
        return [f"the target output is {m.get('output')}", "undo the last operation of f first, then the one before"]
    if gen == "code_synthesis" and m.get("shown"):
        pairs = "; ".join(f"{x} -> {y}" for x, y in m["shown"])
        return [f"the examples: {pairs}", "what changes between consecutive examples? a difference, a ratio or a branch?"]
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
