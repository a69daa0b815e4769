"""Worked solutions are computed from the task's own numbers: every step is a true equation and the
last one gives the task's reference answer, for every arithmetic skill and level of the catalog; and
their text is the text the embedded student was pretrained on, byte for byte."""

import json
import math
import re
from fractions import Fraction
from pathlib import Path

import pytest

from cosr.agents.answer_adapter import extract_answer
from cosr.agents.verifiers import verify_batch
from cosr.domain import Domain
from cosr.graphs.skills import SkillGraph
from cosr.graphs.skills.catalog import GENERATORS

GRAPH = SkillGraph.builtin()
MATH = [(s.name, lv) for s in GRAPH.skills() if s.domain == Domain.MATH for lv in range(1, s.levels + 1)]
# Written by the table in agents/hints.py before the families' files took it over (6 seeds of every skill and
# level, and each skill's level-2 task as an LLM writes it, without the generator's metadata).
SAMPLE = Path(__file__).parents[1] / "data" / "worked_answers.jsonl"


def value(side: str) -> Fraction | None:
    """The value of one side of a step, or None where it is a name (`x`, `gcd`, `sum`)."""
    if re.search(r"[a-z]", side.replace("mod", "").replace("gcd(", "").replace("lcm(", "")):
        return None
    exact = re.sub(r"\d+", lambda m: f"Fraction({m.group()})", side.replace("mod", "%"))
    whole = {"gcd": lambda *n: math.gcd(*map(int, n)), "lcm": lambda *n: math.lcm(*map(int, n))}
    return Fraction(eval(exact, {"Fraction": Fraction, **whole}))


def test_worked_answers_are_byte_for_byte_what_the_embedded_student_learnt():
    rows = [json.loads(line) for line in SAMPLE.read_text().splitlines()]
    assert {r["skill"] for r in rows} == set(GRAPH.names()) and len(rows) == 496
    for r in rows:
        task = GRAPH.make_task(r["skill"], r["level"], r["seed"])
        if r.get("written"):
            task = task.model_copy(update={"metadata": {"written_by": "teacher"}})
        assert GRAPH.worked_answer(task) == r["worked"], r


def test_every_family_of_the_catalog_declares_its_fundamentals():
    builtin = {s.generator for s in GRAPH.skills()}
    assert all(len(GENERATORS.get(name).fundamentals) > 40 for name in builtin)
    assert len({GENERATORS.get(name).fundamentals for name in builtin}) == len(builtin)


@pytest.mark.parametrize(("skill", "level"), MATH)
def test_every_step_is_true_and_the_last_gives_the_answer(skill, level):
    for seed in range(25):
        task = GRAPH.make_task(skill, level, seed)
        steps = GRAPH.worked_solution(task)
        assert steps, f"no worked solution for {task.prompt!r}"
        for step in steps:
            values = {v for side in step.split(" = ") if (v := value(side)) is not None}
            assert len(values) == 1, f"{task.prompt!r}: step {step!r} is not a true equation ({steps})"
        final = steps[-1].split(" = ")[-1]
        assert verify_batch([task], [final], None)[0].correct, f"{task.prompt!r}: {steps} ends in {final}, not {task.reference}"


@pytest.mark.parametrize(("skill", "level"), MATH)
def test_the_answer_adapter_reads_a_worked_answer_as_its_reference(skill, level):
    # The embedded student is pretrained on these completions: the verdict must come from the final
    # answer, not from a number in one of the steps.
    for seed in range(25):
        task = GRAPH.make_task(skill, level, seed)
        text = " " + GRAPH.worked_answer(task)
        assert text.endswith(f". So the answer is {task.reference}")
        answer = extract_answer(text, task.answer_format).answer
        assert verify_batch([task], [answer], None)[0].correct, f"{text!r} read as {answer!r}, not {task.reference}"
        wrong = text.removesuffix(task.reference) + "7" + task.reference  # the same steps, another answer
        assert not verify_batch([task], [extract_answer(wrong, task.answer_format).answer], None)[0].correct


def test_a_wrong_step_is_caught_by_the_check():
    assert value("29 + 47") == 76 and value("gcd(12, 18)") == 6 and value("811 mod 5") == 1
    assert len({value(side) for side in ["29 + 47", "75"]}) == 2


def test_code_families_declare_no_worked_solution_so_a_task_gets_its_bare_reference():
    task = GRAPH.make_task("code_output", 1, 0)
    assert GENERATORS.get("code_output").worked is None
    assert GRAPH.worked_solution(task) is None and GRAPH.worked_answer(task) == task.reference


@pytest.mark.parametrize("equation", ["x*x = 4", "2*x + 1 = 2*x", "0 = 0"])
def test_an_error_in_a_worked_solution_is_raised_not_turned_into_the_bare_reference(equation):
    # Swallowed, it used to change training data silently: the student was shown a bare answer instead.
    task = GRAPH.make_task("linear_equation", 2, 0)
    odd = task.model_copy(update={"metadata": {**task.metadata, "equation": equation}})
    with pytest.raises(ValueError, match="not a linear equation in x"):
        GRAPH.worked_answer(odd)


def test_linear_equations_always_have_an_unknown():
    # reasoning-gym's terms can cancel to `0 = 0` (level 4 seed 1319 drew it, answer 13): any x solves that
    for level, seed in [(4, 1319), (4, 1416), (5, 103), (5, 1419)]:
        task = GRAPH.make_task("linear_equation", level, seed)
        assert "x" in task.metadata["equation"] and GRAPH.worked_solution(task), task.prompt
