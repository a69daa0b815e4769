"""The math verifier decides by symbolic equivalence, and records why."""

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
    ("3/4", "6/8", True),
    ("3/4", "0.75", True),
    ("3/4", "\\frac{3}{4}", True),
    ("3/4", "4/3", False),
    ("-538", "-538", True),
    ("-538", "538", False),
    ("31/70", "\\frac{31}{70}", True),
])
def test_equivalence(reference, answer, correct):
    [v] = verify_batch([task(reference)], [answer])
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
