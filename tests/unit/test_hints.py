"""Worked solutions are computed from the task's own numbers: every step is a true equation and the
last one gives the task's reference answer, for every arithmetic skill and level of the catalog."""

import math
import re
from fractions import Fraction

import pytest

from cosr.agents.answer_adapter import extract_answer
from cosr.agents.hints import worked_answer, worked_solution, worked_steps
from cosr.agents.verifiers import verify_batch
from cosr.domain import Domain
from cosr.graphs.skills import SkillGraph

GRAPH = SkillGraph.builtin()
MATH = [(s.name, lv) for s in GRAPH.skills() if s.domain == Domain.MATH for lv in range(1, s.levels + 1)]


def value(side: str) -> Fraction | None:
    """The value of one side of a step, or None where it is a name (`x`, `gcd`, `sum`)."""
    if re.search(r"[a-z]", side.replace("mod", "").replace("gcd(", "").replace("lcm(", "")):
        return None
    exact = re.sub(r"\d+", lambda m: f"Fraction({m.group()})", side.replace("mod", "%"))
    whole = {"gcd": lambda *n: math.gcd(*map(int, n)), "lcm": lambda *n: math.lcm(*map(int, n))}
    return Fraction(eval(exact, {"Fraction": Fraction, **whole}))


@pytest.mark.parametrize(("skill", "level"), MATH)
def test_every_step_is_true_and_the_last_gives_the_answer(skill, level):
    for seed in range(25):
        task = GRAPH.make_task(skill, level, seed)
        steps = worked_solution(task)
        assert steps, f"no worked solution for {task.prompt!r}"
        for step in steps:
            values = {v for side in step.split(" = ") if (v := value(side)) is not None}
            assert len(values) == 1, f"{task.prompt!r}: step {step!r} is not a true equation ({steps})"
        final = steps[-1].split(" = ")[-1]
        assert verify_batch([task], [final], None)[0].correct, f"{task.prompt!r}: {steps} ends in {final}, not {task.reference}"
        hint = worked_steps(task)
        assert hint == steps[:len(hint)] or not set(hint) & set(steps)  # the solution's first steps, or advice
        answer = re.compile(rf"(?<![\d/.]){re.escape(task.reference)}(?![\d/.])")
        assert answer.search(task.prompt) or not any(answer.search(s) for s in hint), (
            f"{task.prompt!r}: the hint {hint} gives away {task.reference}")


@pytest.mark.parametrize(("skill", "level"), MATH)
def test_the_answer_adapter_reads_a_worked_answer_as_its_reference(skill, level):
    # The embedded student is pretrained on these completions: the verdict must come from the final
    # answer, not from a number in one of the steps.
    for seed in range(25):
        task = GRAPH.make_task(skill, level, seed)
        text = " " + worked_answer(task)
        assert text.endswith(f". So the answer is {task.reference}")
        answer = extract_answer(text, task.answer_format).answer
        assert verify_batch([task], [answer], None)[0].correct, f"{text!r} read as {answer!r}, not {task.reference}"
        wrong = text.removesuffix(task.reference) + "7" + task.reference  # the same steps, another answer
        assert not verify_batch([task], [extract_answer(wrong, task.answer_format).answer], None)[0].correct


def test_a_wrong_step_is_caught_by_the_check():
    assert value("29 + 47") == 76 and value("gcd(12, 18)") == 6 and value("811 mod 5") == 1
    assert len({value(side) for side in ["29 + 47", "75"]}) == 2


def test_code_tasks_have_no_worked_solution_but_still_get_hint_steps():
    task = GRAPH.make_task("code_output", 1, 0)
    assert worked_solution(task) is None and worked_answer(task) == task.reference
    assert worked_steps(task) and all(isinstance(s, str) for s in worked_steps(task))


@pytest.mark.parametrize("equation", ["x*x = 4", "2*x + 1 = 2*x", "x = 1 = 2", "import os = x"])
def test_an_equation_it_cannot_solve_step_by_step_gets_advice_not_a_crash(equation):
    task = GRAPH.make_task("linear_equation", 2, 0)
    odd = task.model_copy(update={"metadata": {**task.metadata, "equation": equation}})
    assert worked_solution(odd) is None
    assert worked_steps(odd) == worked_steps(odd.model_copy(update={"metadata": {}}))
