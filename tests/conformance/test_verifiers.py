"""Every registered verifier, called as the Verifier node calls it (a batch of tasks and adapted answers), meets
one spec: each built-in skill's reference is judged right; an answer in the task's own form that does not solve
it is judged wrong, with a note; empty and garbage answers are recorded verdicts, never exceptions; a batch is
judged in order, each answer as if alone.

Adapted answers go straight in: the Answer-Adapter's filtering and gaming answers are test_gaming_answers.py's.
Every answer here is ours, so code runs in the unsafe-process executor, which exists for trusted code; the
executors' own spec is test_executors.py's.
"""

from __future__ import annotations

import re
import warnings
from decimal import Decimal
from fractions import Fraction
from typing import get_args

import pytest

from cosr.agents.verifiers import VERIFIERS
from cosr.config import SandboxConfig
from cosr.domain import AnswerFormat, Task, Verdict, VerdictStatus, VerifierKind
from cosr.graphs.skills import SkillGraph
from cosr.sandbox import make_executor
from cosr.sandbox.unsafe import UnsafeProcessWarning

GRAPH = SkillGraph.builtin()
GARBAGE = ["", " \n\t ", "\x00\x07\ufffd", ")]}{[(", "9" * 5000, "答えは四"]


@pytest.fixture(scope="module")
def executor():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnsafeProcessWarning)  # our own answers only: see the module docstring
        ex = make_executor(SandboxConfig(executor="unsafe-process", timeout_s=5.0))
    yield ex
    ex.close()


@pytest.fixture(params=VERIFIERS.names())
def judged_by(request, executor):
    """(judge, its tasks): the verifier as the node calls it, and a task of every built-in skill and level it judges."""
    verify = VERIFIERS.get(request.param)
    tasks = [GRAPH.make_task(s.name, level, 1) for s in GRAPH.skills() for level in range(1, s.levels + 1)]
    tasks = [t for t in tasks if t.verifier == request.param]
    if not tasks:
        pytest.fail(f"no built-in skill is judged by verifier {request.param!r}: add one, or tasks for it here")
    return (lambda ts, answers: verify(ts, answers, executor)), tasks


def passes_here(task: Task, answer: str) -> bool:
    """Whether `answer` passes the task's tests, run in this process: our own answers to our own tasks only."""
    namespace: dict = {}
    try:
        exec(task.check.program(answer), namespace)
        for test in task.check.tests:
            exec(test, namespace)
    except Exception:
        return False
    return True


def wrong_answer(task: Task) -> str:
    """An answer in the task's own form that does not solve it: for math the reference plus one; for a program, the
    reference made to return None; for a literal, the first of a few that fails the task's own tests."""
    if task.verifier is VerifierKind.MATH:
        value = Fraction(task.reference) + 1
        decimal = task.answer_format is AnswerFormat.NUMBER and value.denominator != 1
        return str(Decimal(task.reference) + 1) if decimal else str(value)
    if task.answer_format is AnswerFormat.CODE:
        candidates = [re.sub(r"\breturn\b", "return None and", task.reference)]
    else:  # any input with the asked output is right for an input-finding task, so each candidate is tried here
        candidates = [f"[{task.reference}]", "None", "0.5", "'zzz'"]
    wrong = next((c for c in candidates if not passes_here(task, c)), None)
    assert wrong is not None, f"no wrong answer found for {task.prompt!r}"
    return wrong


def assert_recorded(verdicts: list[Verdict], answers: list[str]) -> None:
    assert len(verdicts) == len(answers)
    for verdict, answer in zip(verdicts, answers, strict=True):
        assert isinstance(verdict, Verdict) and verdict.status in get_args(VerdictStatus), (answer, verdict)
        assert not verdict.correct and verdict.score < 1.0 and verdict.details.strip(), (answer, verdict)


def test_every_reference_is_judged_right(judged_by):
    judge, tasks = judged_by
    verdicts = judge(tasks, [t.reference for t in tasks])
    wrong = [(t.id, t.reference, v.details) for t, v in zip(tasks, verdicts, strict=True) if not v.correct]
    assert not wrong, wrong
    assert {(v.status, v.score) for v in verdicts} == {("correct", 1.0)}


def test_a_wrong_answer_is_judged_wrong_with_a_note(judged_by):
    judge, tasks = judged_by
    answers = [wrong_answer(t) for t in tasks]
    verdicts = judge(tasks, answers)
    assert_recorded(verdicts, answers)
    assert {v.status for v in verdicts} <= {"wrong", "error"}  # a value, or a program that does not run


@pytest.mark.parametrize("garbage", GARBAGE, ids=["empty", "blank", "control", "brackets", "long", "words"])
def test_empty_and_garbage_answers_are_recorded_verdicts(judged_by, garbage):
    judge, tasks = judged_by
    assert_recorded(judge(tasks, [garbage] * len(tasks)), [garbage] * len(tasks))


def test_a_batch_is_judged_in_order_each_answer_as_if_alone(judged_by):
    judge, tasks = judged_by
    cases = [(t, a) for t in tasks[::3] for a in (t.reference, wrong_answer(t), GARBAGE[3])]
    together = judge([t for t, _ in cases], [a for _, a in cases])
    alone = [judge([t], [a])[0] for t, a in cases]
    strip = lambda v: (v.correct, v.status, v.details)  # noqa: E731  (timings differ run to run)
    assert [strip(v) for v in together] == [strip(v) for v in alone]
    assert [v.correct for v in together] == [True, False, False] * (len(cases) // 3)
