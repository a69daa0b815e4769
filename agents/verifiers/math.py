"""Math answers: symbolic equivalence with the reference through math-verify (sympy underneath)."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Sequence
from functools import lru_cache

from math_verify import parse, verify

from cosr.agents.verifiers import VERIFIERS
from cosr.domain import Task, Verdict, VerifierKind
from cosr.sandbox.types import Executor

# math-verify warns on every call made without its signal-based timeout; we guard ourselves below.
logging.getLogger("math_verify").setLevel(logging.ERROR)

MAX_ANSWER_CHARS = 80  # an adapted math answer longer than this is not an answer; it also bounds sympy's work


def _timeout() -> int | None:
    # math-verify's timeout uses SIGALRM, which only the main thread may set.
    return 5 if threading.current_thread() is threading.main_thread() else None


_MATHY = re.compile(r"[\d+\-*/^=()\\]")


@lru_cache(maxsize=4096)
def _parse(text: str) -> tuple:
    """math-verify's parse; () when nothing mathematical was found (it returns bare strings then)."""
    parsed = parse(text, parsing_timeout=_timeout())
    if not parsed and _MATHY.search(text):  # bare expressions such as "x+1" parse only inside $...$
        parsed = parse(f"${text}$", parsing_timeout=_timeout())
    return tuple(parsed) if any(not isinstance(p, str) for p in parsed) else ()


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
        elif equivalent(task.reference, answer):
            out.append(Verdict(correct=True, score=1.0, status="correct", details=f"{answer} == {task.reference}"))
        else:
            out.append(Verdict(correct=False, score=0.0, status="wrong", details=f"expected {task.reference}, got {answer}"))
    return out


VERIFIERS.register(VerifierKind.MATH, verify_math)
