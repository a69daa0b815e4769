"""Knowledge tracing moves the right way; mistakes get names."""

from __future__ import annotations

from cosr.agents.curriculum import predicted_success
from cosr.agents.diagnostician import mistake_category, update_mastery
from cosr.domain import AnswerFormat, Mastery, Task, Verdict, VerifierKind


def test_successes_raise_and_failures_lower_predicted_success():
    m = Mastery(skill="addition")
    up = update_mastery(m, [(2, True)] * 10, 0.8, 5)
    down = update_mastery(m, [(1, False)] * 10, 0.8, 5)
    assert predicted_success(up, 2) > predicted_success(m, 2) > predicted_success(down, 2)
    assert up.level > m.level and down.level == 1
    assert up.attempts == 10 and up.correct == 10 and down.correct == 0
    assert up.recent == (True,) * 10


def test_a_mixed_stream_settles_near_the_observed_rate():
    m = Mastery(skill="addition")
    stream = [(2, i % 4 != 0) for i in range(200)]  # 75% correct at level 2
    for i in range(0, 200, 10):
        m = update_mastery(m, stream[i:i + 10], 0.8, 5)
    assert 0.6 < predicted_success(m, 2) < 0.9
    assert predicted_success(m, 1) > predicted_success(m, 2) > predicted_success(m, 3)


def test_a_tasks_samples_are_one_observation_scored_by_their_share():
    m = Mastery(skill="addition")
    half = update_mastery(m, [(2, 0.5)] * 10, 0.8, 5)
    assert half.attempts == 10 and half.correct == 5.0
    assert update_mastery(m, [(2, 0.0)] * 10, 0.8, 5).ability < half.ability < update_mastery(m, [(2, 1.0)] * 10, 0.8, 5).ability
    # recent: whether a task yielded any verified sample (the stuck rule's question)
    assert update_mastery(m, [(2, 0.25), (2, 0.0)], 0.8, 5).recent == (True, False)


def _task(reference: str) -> Task:
    return Task(id="t", skill="addition", difficulty=2, prompt="?", answer_format=AnswerFormat.NUMBER,
                verifier=VerifierKind.MATH, reference=reference, seed=0)


def test_mistake_categories():
    wrong = Verdict(correct=False, score=0, status="wrong")
    assert mistake_category(_task("57"), "58", wrong) == "off by one"
    assert mistake_category(_task("57"), "-57", wrong) == "sign error"
    assert mistake_category(_task("157"), "167", wrong) == "one digit wrong (carry or borrow)"
    assert mistake_category(_task("57"), "900", wrong) == "wrong value"
    assert mistake_category(_task("57"), None, Verdict(correct=False, score=0, status="unparseable")) == "wrong format"
    assert mistake_category(_task("57"), "57", Verdict(correct=True, score=1, status="correct")) is None


def test_a_steep_student_is_predicted_level_by_level():
    """97% on level 1 and 2% on level 2 (the embedded student on addition) must read as level 1
    mastered, level 2 not: one smooth ability alone settled near 41% for level 1."""
    m = Mastery(skill="addition")
    for i in range(12):
        m = update_mastery(m, [(1, j % 32 != 0) for j in range(16)] + [(2, False)] * 16, 0.8, 5)
    assert predicted_success(m, 1) > 0.9 and predicted_success(m, 2) < 0.1
    assert m.level == 2 and m.p_mastery < 0.1  # the frontier is level 2, where it fails
