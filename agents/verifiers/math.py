"""Math answers: in the form the task asks for (checked here), then symbolically equal to the reference
(math-verify, sympy underneath). math-verify alone takes `28 + 62` for 90, `9/30` for 3/10 and `3, 4` for 4:
an answer that restates the question or offers a set of guesses would be rewarded as if it were solved."""

from __future__ import annotations

import logging
import math
import re
import threading
from collections.abc import Sequence
from functools import lru_cache

from math_verify import parse, verify

from cosr.agents.verifiers import VERIFIERS
from cosr.domain import AnswerFormat, Task, Verdict, VerifierKind
from cosr.sandbox.types import Executor

# math-verify warns on every call made without its signal-based timeout; we guard ourselves below.
logging.getLogger("math_verify").setLevel(logging.ERROR)

MAX_ANSWER_CHARS = 80  # an adapted math answer longer than this is not an answer; it also bounds sympy's work


def _timeout() -> int | None:
    # math-verify's timeout uses SIGALRM, which only the main thread may set.
    return 5 if threading.current_thread() is threading.main_thread() else None


@lru_cache(maxsize=4096)
def _parse(text: str) -> tuple:
    """math-verify's parse of the whole text as one expression; () when nothing mathematical was found. Bare,
    math-verify reads the last number out of prose (`x + 1` as 1, `any 3/10` as 3/10): the adapter has already
    cut the answer out, so all of it must be the expression."""
    parsed = parse(text if "$" in text else f"${text}$", parsing_timeout=_timeout())
    return tuple(parsed) if any(not isinstance(p, str) for p in parsed) else ()


_NUMBER = re.compile(r"-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?")
_INTEGER = re.compile(r"-?\d+")
_FRACTION = re.compile(r"-?(?:(-?\d+)\s*/\s*(\d+)|\\[dt]?frac(?:\{\s*(-?\d+)\s*\}\{\s*(\d+)\s*\}|(\d)(\d)))")
_SEVERAL = re.compile(r"[,;]|\bor\b|\band\b|\\lor|\\pm", re.IGNORECASE)
_OPERATION = re.compile(r"[+\-*/^×÷%]|\\(?:frac|times|cdot|div|sqrt)|\bmod\b")
_CALL = re.compile(r"[A-Za-z]\w*\s*\(|\\[A-Za-z]+")  # gcd(12, 18), \frac{..}: a computation, not a list


def _compact(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _asks_lowest_terms(task: Task) -> bool:
    """The generators say so in metadata; a task written elsewhere (an LLM, a user's file) says so in its prompt."""
    return bool(task.metadata.get("lowest_terms")) or "lowest terms" in task.prompt.lower()


def _not_a_number(text: str) -> str:
    computed = bool(_CALL.search(text) or _OPERATION.search(text.lstrip("-")))
    if not _CALL.search(text) and len(re.findall(r"\d+", text)) > 1 and _SEVERAL.search(text):
        return "several answers, not one number"
    return "an expression, not a number" if computed else "not a number"


def _not_lowest_terms(text: str) -> str | None:
    if _INTEGER.fullmatch(text):
        return None
    if not (m := _FRACTION.fullmatch(text)):
        kind = "a decimal" if _NUMBER.fullmatch(text) else "an expression"
        return f"{kind}, not a single fraction in lowest terms"
    numerator, denominator = (int(g) for g in m.groups() if g is not None)  # a/b, \frac{a}{b} or \frac ab
    if denominator == 0:
        return "a zero denominator"
    if denominator == 1 or math.gcd(numerator, denominator) != 1:
        return f"not in lowest terms: {numerator}/{denominator} reduces"
    return None


def form_problem(task: Task, answer: str) -> str | None:
    """Why the answer is not in the form the task asks for (a number, one fraction in lowest terms, one answer,
    not the question again), or None. Equivalence with the reference is math-verify's to judge afterwards."""
    text = re.sub(r"^[a-zA-Z]\s*=\s*", "", answer.strip())  # "x = 5" states 5
    if task.answer_format is AnswerFormat.NUMBER:
        return None if _NUMBER.fullmatch(text) else _not_a_number(text)
    if _SEVERAL.search(text) and not _SEVERAL.search(task.reference):
        return "several answers, not one"
    if _asks_lowest_terms(task) and (why := _not_lowest_terms(text)):
        return why
    compact = _compact(text)
    restated = compact in _compact(task.prompt) and compact != _compact(task.reference)
    if restated and _OPERATION.search(compact.lstrip("-")):  # "Simplify 6/8": 6/8; a bare number may be in the prompt
        return "restates the question"
    return None


def equivalent(reference: str, answer: str) -> bool:
    gold, pred = _parse(reference), _parse(answer)
    return bool(gold and pred) and verify(list(gold), list(pred), timeout_seconds=_timeout())


def verify_math(tasks: Sequence[Task], answers: Sequence[str], executor: Executor | None = None) -> list[Verdict]:
    out = []
    for task, answer in zip(tasks, answers, strict=True):
        if len(answer) > MAX_ANSWER_CHARS:
            out.append(Verdict(correct=False, score=0.0, status="unparseable",
                               details=f"answer longer than {MAX_ANSWER_CHARS} characters"))
        elif not _parse(answer):
            out.append(Verdict(correct=False, score=0.0, status="unparseable", details=f"not a math expression: {answer!r}"))
        elif why := form_problem(task, answer):
            out.append(Verdict(correct=False, score=0.0, status="wrong", details=f"{why}: {answer!r}"))
        elif equivalent(task.reference, answer):
            out.append(Verdict(correct=True, score=1.0, status="correct", details=f"{answer} == {task.reference}"))
        else:
            out.append(Verdict(correct=False, score=0.0, status="wrong", details=f"expected {task.reference}, got {answer}"))
    return out


VERIFIERS.register(VerifierKind.MATH, verify_math)
