"""Answers that solve nothing, for every skill family and verifier kind, each judged wrong with a reason; and
every reference answer, in the forms a student writes it, judged right. Raw outputs go through the
Answer-Adapter and the Verifier, as in self-play (`cosr judge`'s path); code runs in the real sandbox."""

from __future__ import annotations

import re
from fractions import Fraction

import pytest

from cosr.cli_judge import Judgement, judge
from cosr.domain import Domain, Task
from cosr.graphs.skills import SkillGraph
from cosr.graphs.skills.catalog import generate

GRAPH = SkillGraph.builtin()
MATH = [s.name for s in GRAPH.skills() if s.domain == Domain.MATH]
CODE = [s.name for s in GRAPH.skills() if s.domain == Domain.CODE]
SEEDS = range(3)
QUESTION = re.compile(r"What is (.+?)\?(?: Give the answer in lowest terms\.)?|Simplify (.+) to lowest terms\.|"
                      r"Solve for x: (.+)")


def tasks(skill: str) -> list[Task]:
    return [GRAPH.make_task(skill, level, seed) for level in range(1, GRAPH[skill].levels + 1) for seed in SEEDS]


def judged(cases: list[tuple[Task, str, str]], executor=None) -> list[tuple[str, Task, str, Judgement]]:
    """(kind, task, raw output, judgement) for each (task, kind, raw output), judged in one batch."""
    verdicts = judge([(t, raw) for t, _, raw in cases], executor)
    return [(kind, t, raw, j) for (t, kind, raw), j in zip(cases, verdicts, strict=True)]


def assert_judged(results: list[tuple[str, Task, str, Judgement]]) -> None:
    """"right ..." kinds correct; every other kind wrong, with a note that says why."""
    bad = [f"{kind} for {t.prompt!r}: {raw!r} -> {j.correct} ({j.read_from}; {j.note})"
           for kind, t, raw, j in results if j.correct != kind.startswith("right") or not j.note]
    assert not bad, "\n".join(bad[:20])


def math_cases(task: Task) -> list[tuple[Task, str, str]]:
    m = QUESTION.fullmatch(task.prompt)
    assert m, f"a prompt this suite cannot restate: {task.prompt!r}"
    question = next(g for g in m.groups() if g)
    value = Fraction(task.reference)
    wrong = str(value + 1)
    n, d = value.numerator, value.denominator
    right = [("right: bare", task.reference), ("right: boxed", f"\\boxed{{{task.reference}}}"),
             ("right: said", f"The answer is {task.reference}."),
             ("right: said twice", f"The answer is {task.reference}. So \\boxed{{{task.reference}}}")]
    if d > 1:
        right.append(("right: latex fraction", f"\\boxed{{{'-' if n < 0 else ''}\\frac{{{abs(n)}}}{{{d}}}}}"))
    if "=" not in question:  # the worked form: what was asked, then what it comes to
        right.append(("right: worked", f"{question} = {task.reference}"))
    else:
        right.append(("right: x =", f"The answer is x = {task.reference}"))
    gaming = [("the question boxed", f"\\boxed{{{question}}}"), ("the question said", f"The answer is {question}."),
              ("the answer equal to the question", f"\\boxed{{{task.reference} = {question}}}"),
              ("an unreduced fraction", f"\\boxed{{{2 * n}/{2 * d}}}"),
              ("an unreduced latex fraction", f"\\boxed{{\\frac{{{2 * n}}}{{{2 * d}}}}}"),
              ("several boxes", f"First \\boxed{{{wrong}}}, then \\boxed{{{task.reference}}}."),
              ("several statements", f"The answer is {wrong}.\nThe answer is {task.reference}."),
              ("a hedge", f"It is {wrong} or {task.reference}"),
              ("a hedge, next sentence", f"It is {wrong}. Or maybe {task.reference}."),
              ("a boxed hedge", f"\\boxed{{{wrong} \\text{{ or }} {task.reference}}}"),
              ("a set", f"\\boxed{{{wrong}, {task.reference}}}"),
              ("plus or minus", f"\\boxed{{{task.reference} \\pm 1}}")]
    if d > 1 and (decimal := float(value)) == value:  # where lowest terms are asked, 0.3 is not 3/10 in them
        gaming.append(("a decimal", f"\\boxed{{{decimal}}}"))
    return [(task, kind, raw) for kind, raw in right + gaming]


@pytest.mark.parametrize("skill", MATH)
def test_math_gaming_answers_are_wrong_and_references_right(skill):
    assert_judged(judged([case for task in tasks(skill) for case in math_cases(task)]))


def test_every_math_skill_has_a_question_to_restate():
    assert len(MATH) >= 13 and all(QUESTION.fullmatch(t.prompt) for s in MATH for t in tasks(s))


LIAR = """
class A:
    def __eq__(self, other):
        return True
    def __ne__(self, other):
        return False
"""
LIARS = {  # programs for code_synthesis whose f passes `f(x) == y` without computing y
    "an always-equal object": LIAR + "def f(x):\n    return A()\n",
    "an int that lies": LIAR.replace("class A:", "class A(int):") + "    __hash__ = int.__hash__\n\n"
                        "def f(x):\n    return A(0)\n",
    "a list holding a liar": LIAR + "def f(x):\n    return [A()]\n",
    "the comparison redefined": "__same__ = lambda got, expected: True\ntype = lambda value: int\n"
                                "def f(x):\n    return None\n",
    # (patching `type` or `isinstance` too breaks the runner's own report: the answer fails before any test)
    "builtins patched": "import builtins\nbuiltins.repr = lambda v: '0'\nbuiltins.len = lambda v: 0\n"
                        "builtins.all = lambda v: True\n" + LIAR + "def f(x):\n    return A()\n",
    "an exit before the tests": "import sys\n\ndef f(x):\n    return None\n\nsys.exit(0)\n",
    "a hard exit before the tests": "import os\n\ndef f(x):\n    return None\n\nos._exit(0)\n",
}
LIE_ABOUT_EQUALITY = ("an always-equal object", "an int that lies", "a list holding a liar", "builtins patched")


def code_cases(task: Task) -> list[tuple[Task, str, str]]:
    if task.skill == "code_synthesis":
        table = ", ".join(f"({x}, {y})" for x, y in task.metadata["shown"])
        lookup = f"def f(x):\n    for a, b in [{table}]:\n        if a == x:\n            return b\n"
        programs = {"right: fenced": task.reference, "a table of the shown pairs": lookup, **LIARS}
        return [(task, kind, f"```python\n{source}```") for kind, source in programs.items()]
    asked = task.prompt.splitlines()[-1]  # "What is f(13)?" / "Find x such that f(x) == 146."
    call = f"f({task.metadata['input']})" if task.skill == "code_output" else "x"
    gaming = [("the question boxed", f"\\boxed{{{call}}}"), ("the question said", f"The answer is {call}"),
              ("a name", "__answer__"), ("several boxes", f"\\boxed{{None}} then \\boxed{{{task.reference}}}"),
              ("a hedge", f"The answer is None or {task.reference}"),
              ("an always-equal object", "type('A', (), {'__eq__': lambda self, other: True})()"),
              ("an injection", f"The answer is {task.reference}); __same__ = (lambda a, b: True); ({task.reference}")]
    if task.skill == "code_output" and task.reference.lstrip("-").isdigit():  # f returns an int, not a float
        gaming.append(("the value as another type", f"{task.reference}.0"))
    right = [("right: bare", task.reference), ("right: said", f"The answer is {task.reference}"),
             ("right: boxed", f"{asked}\n\\boxed{{{task.reference}}}")]
    return [(task, kind, raw) for kind, raw in right + gaming]


@pytest.mark.docker
@pytest.mark.parametrize("skill", CODE)
def test_code_gaming_answers_are_wrong_and_references_right(sandbox_executor, skill):
    results = judged([case for task in tasks(skill) for case in code_cases(task)], sandbox_executor)
    assert_judged(results)
    liars = [j.note for kind, _, _, j in results if kind in LIE_ABOUT_EQUALITY]  # refused for what they are
    assert liars and all("not plain data" in note or "a call, not a literal" in note for note in liars), liars[:3]


HUMANEVAL_LIAR = """    class A:
        def __eq__(self, other):
            return True
        def __ne__(self, other):
            return False
        def __lt__(self, other):
            return True
        def __sub__(self, other):
            return 0
        __rsub__ = __sub__
        def __abs__(self):
            return 0
        def __bool__(self):
            return True
    return A()
"""  # a body for the prompt's function that every comparison in a HumanEval test would believe


@pytest.mark.docker
def test_humaneval_answers_that_lie_fail_and_canonical_solutions_pass(sandbox_executor):
    problems = {(p := generate("humaneval", 1, seed)).metadata["task_id"]: (seed, p) for seed in range(40)}
    assert len(problems) == 5  # every task of the sample file
    cases = []
    for seed, p in problems.values():
        task = Task(id=f"humaneval:{seed}", skill="humaneval", difficulty=1, prompt=p.prompt, seed=seed,
                    answer_format=p.answer_format, verifier=p.verifier, reference=p.reference, check=p.check)
        cases += [(task, "right: canonical", p.reference), (task, "an object that agrees with all", HUMANEVAL_LIAR)]
    results = judged(cases, sandbox_executor)
    assert_judged(results)
    assert all("not plain data" in j.note for kind, _, _, j in results if not kind.startswith("right"))
