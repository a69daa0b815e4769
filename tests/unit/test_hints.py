"""A person gets the task's own worked steps: `explain` walks through this very task, hints grade from the
fundamentals through growing prefixes of the same steps, and neither gives the answer away before it may."""

import re
from types import SimpleNamespace

import pytest
from langgraph.runtime import Runtime

from cosr.agents.hints import GENERIC_STEPS, MISTAKE_ADVICE, explanation, hint, shown_steps
from cosr.agents.tutor import respond
from cosr.graphs.skills import SkillGraph

GRAPH = SkillGraph.builtin()
EVERY_LEVEL = [(s.name, lv) for s in GRAPH.skills() for lv in range(1, s.levels + 1)]
ADDITION = "Add digit by digit from the right; when a column reaches 10 or more, carry 1 to the next column."


def task_with(skill: str, level: int, prompt: str, reference: str, **metadata):
    task = GRAPH.make_task(skill, level, 0)
    return task.model_copy(update={"prompt": prompt, "reference": reference,
                                   "metadata": {"generator": skill, **metadata}})


SUM = task_with("addition", 2, "What is 43 + 39?", "82", operands=[43, 39])


def test_explain_walks_through_the_task_at_hand():
    # It used to show one generic line ("Line the numbers up by place value ...") for every sum.
    update = respond({"task": SUM, "command": "explain", "tries": 0}, Runtime(context=SimpleNamespace(skills=GRAPH)))
    assert update["explanation"] == "\n".join([
        f"Fundamentals: {ADDITION}",
        "Worked steps:",
        "  1. ones: 3 + 9 = 12: write 2, carry 1",
        "  2. tens: 4 + 3 + 1 (carried) = 8: write 8",
        f"Common mistakes: {MISTAKE_ADVICE['wrong value']}",
    ])
    tried = explanation(GRAPH, SUM, reveal=True).render()
    assert "  3. 43 + 39 = 82\n  So the answer is 82." in tried


def test_hints_grade_from_the_fundamentals_through_growing_prefixes_of_the_steps():
    ladder = [hint(GRAPH, SUM, n, {"off by one": 2}) for n in range(5)]
    assert ladder == [
        ADDITION,
        "Worked so far:\n  1. ones: 3 + 9 = 12: write 2, carry 1",
        "Worked so far:\n  1. ones: 3 + 9 = 12: write 2, carry 1\n  2. tens: 4 + 3 + 1 (carried) = 8: write 8",
        MISTAKE_ADVICE["off by one"],
        MISTAKE_ADVICE["off by one"],  # the last hint stays
    ]


def test_a_division_hint_stops_before_the_fact_that_names_the_quotient():
    task = task_with("division", 2, "What is 48 / 6?", "8", dividend=48, divisor=6)
    assert shown_steps(GRAPH, task) == ["Which number times 6 gives 48?",
                                        "Try a round guess: 6 * 10 = 60, then adjust up or down."]
    ten = task_with("division", 2, "What is 60 / 6?", "10", dividend=60, divisor=6)
    assert shown_steps(GRAPH, ten) == ["Which number times 6 gives 60?"]  # the round guess would be the answer


def test_a_task_without_steps_gets_generic_advice_and_the_answer_only_when_revealed():
    written = GRAPH.make_task("division", 2, 0).model_copy(update={"metadata": {"written_by": "teacher"}})
    assert GRAPH.walkthrough(written) is None
    assert explanation(GRAPH, written).steps == GENERIC_STEPS
    assert explanation(GRAPH, written).answer is None and explanation(GRAPH, written, reveal=True).answer == written.reference


@pytest.mark.parametrize(("skill", "level"), EVERY_LEVEL)
def test_no_hint_gives_the_answer_away_and_revealed_steps_end_with_it(skill, level):
    for seed in range(25):
        task = GRAPH.make_task(skill, level, seed)
        steps = GRAPH.walkthrough(task)
        assert steps and (task.reference.strip() in steps[-1] or task.answer_format == "code"), steps  # a program: shown revealed
        shown = shown_steps(GRAPH, task)
        assert shown == steps[:len(shown)]
        answer = re.compile(rf"(?<![\d/.]){re.escape(task.reference)}(?![\d/.])")
        assert answer.search(task.prompt) or not any(answer.search(s) for s in shown), (
            f"{task.prompt!r}: the steps {shown} give away {task.reference}")
        assert hint(GRAPH, task, len(shown)).endswith(shown[-1] if shown else GRAPH.fundamentals(task))


@pytest.mark.parametrize(("skill", "level"), [(s, lv) for s in ("addition", "subtraction") for lv in range(2, 6)])
def test_the_digits_the_columns_write_are_the_answer(skill, level):
    for seed in range(25):
        task = GRAPH.make_task(skill, level, seed)
        written = [m.group(1) for s in GRAPH.walkthrough(task) for m in re.finditer(r"write (\d)", s)]
        assert int("".join(reversed(written))) == abs(int(task.reference)), GRAPH.walkthrough(task)


@pytest.mark.parametrize("level", range(1, 6))
def test_every_partial_product_step_is_a_true_equation(level):
    for seed in range(25):
        task = GRAPH.make_task("multiplication", level, seed)
        steps = GRAPH.walkthrough(task)
        for step in steps[1:] if level == 1 else steps:  # level 1: `a * b is b added up a times` first
            sides = step.split(" = ")
            assert len({eval(side) for side in sides}) == 1, step  # digits, + and * only
        assert steps[-1].endswith(f"= {task.reference}")
