"""The Answer-Adapter on a table of tricky free-form outputs."""

from __future__ import annotations

import pytest

from cosr.agents.answer_adapter import extract_answer
from cosr.domain import AnswerFormat as F

CASES = [
    # (raw output, format, expected answer)
    (" 936", F.NUMBER, "936"),
    ("The sum is 12, so the answer is 13.", F.NUMBER, "13"),
    ("First 2+3=5, then 5*4=20. Final answer: 20", F.NUMBER, "20"),
    ("We get \\boxed{42} and check 41 < 42.", F.NUMBER, "42"),
    ("\\boxed{\\frac{3}{4}}", F.EXPRESSION, "\\frac{3}{4}"),
    ("nested \\boxed{\\frac{1}{\\sqrt{2}}}", F.EXPRESSION, "\\frac{1}{\\sqrt{2}}"),
    ("the same box twice \\boxed{2}, so \\boxed{2}. The answer is 2.", F.NUMBER, "2"),
    ("\\boxed{82 \\text{ apples}}", F.NUMBER, "82"),
    ("So the answer is x = 5", F.NUMBER, "5"),
    ("\\boxed{28 + 62}", F.NUMBER, "28 + 62"),  # an expression, passed on for the verifier to refuse
    ("The answer is $-7$.", F.NUMBER, "-7"),
    ("The answer is 1,234.", F.NUMBER, "1234"),
    ("x = 3/4", F.EXPRESSION, "3/4"),
    ("It is 3.50 dollars", F.NUMBER, "3.50"),
    ("answer: [1, 2, 3]", F.LITERAL, "[1, 2, 3]"),
    ("'abc'", F.LITERAL, "'abc'"),
    ("Here:\n```python\ndef f(x):\n    return x + 1\n```\nDone.", F.CODE, "def f(x):\n    return x + 1"),
    ("```py\nprint(1)\n```\n```python\ndef f(x):\n    return 2\n```", F.CODE, "def f(x):\n    return 2"),
    ("def f(x): return x * 2", F.CODE, "def f(x): return x * 2"),
    ("```python\ndef f(x):\n    return x", F.CODE, "def f(x):\n    return x"),  # cut off before the closing fence
    ("    return a + b\n", F.CODE, "    return a + b"),  # a HumanEval-style continuation
    # the embedded student's completions start with a space, as its training completions do
    (" def f(x):\n    return 3 * x + 1\n", F.CODE, "def f(x):\n    return 3 * x + 1"),
    ("Here:\n  def f(x):\n      return x", F.CODE, "def f(x):\n      return x"),
]


@pytest.mark.parametrize(("raw", "fmt", "expected"), CASES)
def test_extracts_the_final_answer(raw, fmt, expected):
    assert extract_answer(raw, fmt).answer == expected


@pytest.mark.parametrize(("raw", "fmt", "why"), [
    ("", F.NUMBER, "empty"),
    ("   \n ", F.CODE, "empty"),
    ("I do not know.", F.NUMBER, "no number"),
    ("\\boxed{12", F.NUMBER, "no number"),  # a box cut off falls back to the last number
    ("just prose, no code", F.CODE, "no code"),
    ("\\boxed{}", F.NUMBER, "empty \\boxed"),
])
def test_unparseable_output_is_none_with_a_reason(raw, fmt, why):
    ex = extract_answer(raw, fmt)
    if raw == "\\boxed{12":
        assert ex.answer == "12" and ex.note == "last number"
    else:
        assert ex.answer is None and why in ex.note


@pytest.mark.parametrize(("raw", "fmt"), [
    ("two boxes \\boxed{1} then \\boxed{2}", F.NUMBER),
    ("The answer is 3. On second thought, \\boxed{4}", F.NUMBER),
    ("It is 3 or 4", F.NUMBER),
    ("The answer is either 3 or 4.", F.NUMBER),
    ("\\boxed{3 \\text{ or } 4}", F.NUMBER),
    ("\\boxed{\\frac{1}{2}} or maybe \\boxed{\\frac{3}{4}}", F.EXPRESSION),
    ("answer: [1, 2]\nanswer: [2, 1]", F.LITERAL),
])
def test_several_different_answers_are_no_answer(raw, fmt):
    ex = extract_answer(raw, fmt)
    assert ex.answer is None and ex.note.startswith("several different answers"), ex


def test_garbage_never_raises():
    for raw in ["\x00\xff", "}}}{{{", "\\boxed{" * 50, "answer is", "```", "-" * 10_000]:
        for fmt in F:
            extract_answer(raw, fmt)  # must not raise
