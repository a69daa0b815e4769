"""The verifiers decide, and record why: math by form, then symbolic equivalence; a code answer that is not
what the task asks for is refused before anything runs."""

from __future__ import annotations

import pytest

from cosr.agents.verifiers import verify_batch
from cosr.agents.verifiers.code import NoExecutor
from cosr.domain import AnswerFormat, CodeCheck, Task, VerifierKind


def task(reference: str, fmt=AnswerFormat.NUMBER) -> Task:
    return Task(id="t", skill="s", difficulty=1, prompt="?", answer_format=fmt, verifier=VerifierKind.MATH,
                reference=reference, seed=0)


@pytest.mark.parametrize(("reference", "answer", "correct"), [
    ("13", "13", True),
    ("13", "13.0", True),
    ("13", "12", False),
    ("3/4", "6/8", True),  # an expression task that does not ask for lowest terms
    ("3/4", "0.75", True),
    ("3/4", "\\frac{3}{4}", True),
    ("3/4", "4/3", False),
    ("-538", "-538", True),
    ("-538", "538", False),
    ("31/70", "\\frac{31}{70}", True),
])
def test_equivalence(reference, answer, correct):
    fmt = AnswerFormat.EXPRESSION if "/" in reference else AnswerFormat.NUMBER
    [v] = verify_batch([task(reference, fmt)], [answer])
    assert v.correct is correct
    assert v.status == ("correct" if correct else "wrong")
    assert v.score == float(correct)


def test_unparseable_answers_are_recorded_verdicts():
    verdicts = verify_batch([task("5")] * 3, [None, "?!", "9" * 200], notes=["empty output", "", ""])
    assert [v.status for v in verdicts] == ["unparseable"] * 3
    assert verdicts[0].details == "empty output"
    assert "longer than" in verdicts[2].details
    assert not any(v.correct for v in verdicts)


def test_code_tasks_without_an_executor_are_a_clear_error():
    t = Task(id="c", skill="s", difficulty=1, prompt="?", answer_format=AnswerFormat.CODE, verifier=VerifierKind.CODE,
             reference="def f(): return 1", check=CodeCheck(harness="{{answer}}", tests=("assert f() == 1",)), seed=0)
    with pytest.raises(NoExecutor, match="sandbox"):
        verify_batch([t], ["def f(): return 1"], None)


LOWEST = "Simplify 9/30 to lowest terms."  # said in the prompt only: a task from a user's file or an LLM


@pytest.mark.parametrize(("reference", "fmt", "prompt", "answer", "why"), [
    ("90", AnswerFormat.NUMBER, "What is 28 + 62?", "28 + 62", "an expression, not a number"),
    ("90", AnswerFormat.NUMBER, "What is 28 + 62?", "180/2", "an expression, not a number"),
    ("4", AnswerFormat.NUMBER, "?", "3, 4", "several answers, not one number"),
    ("4", AnswerFormat.NUMBER, "?", "3 or 4", "several answers, not one number"),
    ("3", AnswerFormat.NUMBER, "What is gcd(12, 9)?", "gcd(12, 9)", "an expression, not a number"),
    ("3/10", AnswerFormat.EXPRESSION, LOWEST, "9/30", "not in lowest terms"),
    ("3/10", AnswerFormat.EXPRESSION, LOWEST, "\\frac{9}{30}", "not in lowest terms"),
    ("3/10", AnswerFormat.EXPRESSION, LOWEST, "0.3", "a decimal, not a single fraction in lowest terms"),
    ("1", AnswerFormat.EXPRESSION, LOWEST, "1/1", "not in lowest terms"),
    ("5/6", AnswerFormat.EXPRESSION, LOWEST, "1/2 + 1/3", "an expression, not a single fraction"),
    ("3/4", AnswerFormat.EXPRESSION, "Simplify 6/8.", "6/8", "restates the question"),
    ("3/4", AnswerFormat.EXPRESSION, "?", "3/4, 1/2", "several answers, not one"),
])
def test_an_answer_not_in_the_asked_form_is_wrong_with_the_reason(reference, fmt, prompt, answer, why):
    t = task(reference, fmt).model_copy(update={"prompt": prompt})
    [v] = verify_batch([t], [answer])
    assert (v.correct, v.status) == (False, "wrong") and v.details.startswith(why), v.details


@pytest.mark.parametrize(("reference", "fmt", "answer"), [
    ("5", AnswerFormat.NUMBER, "x = 5"), ("1234", AnswerFormat.NUMBER, "1,234"), ("-7", AnswerFormat.NUMBER, "-7"),
    ("3/10", AnswerFormat.EXPRESSION, "\\frac{3}{10}"), ("-1/6", AnswerFormat.EXPRESSION, "-\\frac{1}{6}"),
    ("3/4", AnswerFormat.EXPRESSION, "\\frac34"), ("1", AnswerFormat.EXPRESSION, "1"),
])
def test_answers_in_the_asked_form_are_right(reference, fmt, answer):
    t = task(reference, fmt).model_copy(update={"metadata": {"lowest_terms": True}})
    [v] = verify_batch([t], [answer])
    assert v.correct, v.details


class NothingRuns:
    name = "nothing-runs"

    def run_many(self, requests):
        raise AssertionError(f"ran {len(requests)} program(s)")


@pytest.mark.parametrize(("answer", "why"), [
    ("f(6)", "a call, not a literal"), ("x", "a name, not a literal"), ("3 or 4", "an expression, not a literal"),
    ("0); __same__ = (lambda a, b: True); (0", "not a Python literal"),
    ("type('A', (), {'__eq__': lambda s, o: True})()", "a call, not a literal"),
])
def test_a_literal_answer_must_be_a_literal_before_anything_runs(answer, why):
    t = Task(id="c", skill="s", difficulty=1, prompt="What is f(6)?", answer_format=AnswerFormat.LITERAL,
             verifier=VerifierKind.CODE, reference="7", seed=0,
             check=CodeCheck(harness="def f(x):\n    return x + 1\n__answer__ = ({{answer}})\n",
                             tests=("assert __answer__ == f(6)",)))
    [v] = verify_batch([t], [answer], NothingRuns())
    assert (v.correct, v.status) == (False, "wrong") and v.details.startswith(why), v.details


def test_a_code_task_without_tests_passes_nothing():
    t = Task(id="c", skill="s", difficulty=1, prompt="Write f.", answer_format=AnswerFormat.CODE,
             verifier=VerifierKind.CODE, reference="def f(): return 1", seed=0, check=CodeCheck(harness="{{answer}}"))
    [v] = verify_batch([t], ["def f(): return 1"], NothingRuns())
    assert not v.correct and "no tests" in v.details
