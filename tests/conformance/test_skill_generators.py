"""Every registered skill generator, at every level: reproducible, varied, and its reference passes its own check.

Math references are checked with math-verify, code references by running them in the sandbox
(`sandbox_executor`, marked docker); in both cases a deliberately wrong answer must fail.
"""

from __future__ import annotations

import ast
from fractions import Fraction

import pytest
from math_verify import parse, verify

from cosr.domain import AnswerFormat, Domain, VerifierKind
from cosr.graphs.skills.catalog import GENERATORS, Problem, generate
from cosr.sandbox import ExecutionRequest

CASES = [(name, level) for name in GENERATORS for level in range(1, GENERATORS.get(name).levels + 1)]
MATH = [(n, level) for n, level in CASES if GENERATORS.get(n).domain == Domain.MATH]
CODE = [(n, level) for n, level in CASES if GENERATORS.get(n).domain == Domain.CODE]
SEEDS = range(20)
FILE_SOURCES = {"humaneval": 5}  # generators that draw from a task file: name -> tasks in the default file


def test_the_catalog_has_the_skills_the_product_promises():
    assert len(MATH) // 5 >= 12 and {n for n, _ in CODE} >= {"code_output", "code_input", "code_synthesis"}
    assert all(GENERATORS.get(n).levels == 5 for n in GENERATORS if n not in FILE_SOURCES)


@pytest.mark.parametrize(("name", "level"), CASES)
def test_same_seed_same_problem_different_seeds_mostly_different(name, level):
    problems = [generate(name, level, seed) for seed in SEEDS]
    assert problems == [generate(name, level, seed) for seed in SEEDS]
    assert len({p.prompt for p in problems}) >= min(len(SEEDS) // 2, FILE_SOURCES.get(name, len(SEEDS)))


@pytest.mark.parametrize(("name", "level"), CASES)
def test_problem_shape_matches_its_domain(name, level):
    for seed in range(5):
        p = generate(name, level, seed)
        assert isinstance(p, Problem) and p.prompt.strip() and p.reference.strip()
        if GENERATORS.get(name).domain == Domain.MATH:
            assert (p.verifier, p.check) == (VerifierKind.MATH, None)
            assert p.answer_format in (AnswerFormat.NUMBER, AnswerFormat.EXPRESSION)
        else:
            assert p.verifier == VerifierKind.CODE and p.check is not None and p.check.tests
            assert p.answer_format in (AnswerFormat.LITERAL, AnswerFormat.CODE)


@pytest.mark.parametrize(("name", "level"), MATH)
def test_math_reference_verifies_and_a_wrong_answer_does_not(name, level):
    for seed in range(5):
        reference = generate(name, level, seed).reference
        gold = parse(reference)
        assert verify(gold, parse(reference)), reference
        wrong = str(Fraction(reference) + 1)
        assert not verify(gold, parse(wrong)), (reference, wrong)


def wrong_answer(name: str, p: Problem) -> str:
    """An answer that must fail: a changed value, an input with another output, or a function returning None."""
    if name == "code_synthesis":
        return "def f(x):\n    return None\n"
    if name == "humaneval":  # a body for the prompt's function that returns nothing useful
        return "    return None\n"
    if name == "code_output":
        value = ast.literal_eval(p.reference)
        return repr(value + 1 if isinstance(value, int) else value + ("z" if isinstance(value, str) else [99]))
    namespace: dict = {}
    exec(p.check.program("None"), namespace)  # our own generated program: defines f, calls nothing
    f, target = namespace["f"], namespace["f"](ast.literal_eval(p.reference))
    for candidate in (0, 1, 2, 1000, "zzz", [99, 0]):
        try:
            if f(candidate) != target:
                return repr(candidate)
        except Exception:
            return repr(candidate)
    raise AssertionError(f"no wrong input found for {p.prompt!r}")


@pytest.mark.docker
@pytest.mark.parametrize(("name", "level"), CODE)
def test_code_reference_passes_in_the_sandbox_and_a_wrong_answer_fails(sandbox_executor, name, level):
    for seed in range(2):
        p = generate(name, level, seed)
        right = sandbox_executor.run(ExecutionRequest(code=p.check.program(p.reference), tests=p.check.tests))
        assert right.passed, (p.prompt, p.reference, right)
        wrong = sandbox_executor.run(ExecutionRequest(code=p.check.program(wrong_answer(name, p)), tests=p.check.tests))
        assert not wrong.passed, (p.prompt, wrong)
