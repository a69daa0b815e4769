"""Answer-Adapter node: turns a free-form reply into what the verifier needs (a number, an
expression, a literal, a program). Finding nothing is an answer of None with a note, never a crash."""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from langgraph.runtime import Runtime

from cosr.domain import AnswerFormat, Attempt
from cosr.graphs.context import Context
from cosr.graphs.state import SelfPlayState


class Extraction(NamedTuple):
    answer: str | None
    note: str


_FENCE = re.compile(r"```[ \t]*(?:python|py|python3)?[ \t]*\n(.*?)(?:```|\Z)", re.DOTALL | re.IGNORECASE)
_ANSWER_IS = re.compile(
    r"(?:final answer|the answer|answer)\s*(?:is|:|=)\s*:?\s*(.+?)\s*(?:$|\n)", re.IGNORECASE)
_NUMBER = re.compile(r"(?<![\w.])-?\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\d])|(?<![\w.])-?\d+(?:\.\d+)?(?:/\d+)?")


def _last_boxed(text: str) -> str | None:
    """Content of the last \\boxed{...} (or \\fbox{...}), braces balanced."""
    start = max(text.rfind("\\boxed{"), text.rfind("\\fbox{"))
    if start < 0:
        return None
    i = text.index("{", start) + 1
    depth = 1
    for j in range(i, len(text)):
        depth += {"{": 1, "}": -1}.get(text[j], 0)
        if depth == 0:
            return text[i:j].strip()
    return None  # unbalanced: the reply was cut off inside the box


def _clean(answer: str) -> str:
    answer = answer.strip().strip("$").strip()
    answer = re.sub(r"^\\\(|\\\)$", "", answer).strip()
    answer = re.sub(r"\\(?:text|mathrm)\{([^}]*)\}", r"\1", answer)
    return answer.rstrip(".").strip()


def _number(text: str) -> str | None:
    found = _NUMBER.findall(text)
    return found[-1].replace(",", "") if found else None


def _code(text: str) -> Extraction:
    blocks = [b.strip("\n") for b in _FENCE.findall(text) if b.strip()]
    if blocks:
        return Extraction(blocks[-1], "fenced code block")
    # Up to three spaces before a definition are the leading space of a completion (the embedded student
    # writes " def f(x):"), not a block's indentation: without them code_synthesis read no code at all.
    if m := re.search(r"^ {0,3}(?:import |from |def |class )", text, re.MULTILINE):
        return Extraction(text[m.start():].strip("\n").lstrip(" "), "unfenced code from the first definition")
    if re.match(r"\n*(?: {4}|\t)\S", text):  # a completion continuing the prompt's function (HumanEval style)
        return Extraction(text.rstrip(), "indented continuation of the prompt's function")
    return Extraction(None, "no code block or function definition in the output")


def extract_answer(text: str, fmt: AnswerFormat) -> Extraction:
    if not text or not text.strip():
        return Extraction(None, "empty output")
    if fmt is AnswerFormat.CODE:
        return _code(text)
    if (boxed := _last_boxed(text)) is not None:
        return Extraction(_clean(boxed), "\\boxed{}") if _clean(boxed) else Extraction(None, "empty \\boxed{}")
    said = _ANSWER_IS.findall(text)
    candidate = _clean(said[-1]) if said else None
    if fmt is AnswerFormat.LITERAL:
        if candidate:
            return Extraction(candidate, "after 'answer'")
        line = _clean(text.strip().splitlines()[-1])
        return Extraction(line, "last line") if line else Extraction(None, "empty last line")
    if candidate:
        if fmt is AnswerFormat.NUMBER and (num := _number(candidate)) is not None and num != candidate:
            return Extraction(num, "number after 'answer'")
        return Extraction(candidate, "after 'answer'")
    if (num := _number(text)) is not None:
        return Extraction(num, "last number")
    return Extraction(None, "no number or expression in the output")


def adapt(state: SelfPlayState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Fill in each attempt's adapted answer from its raw output."""
    tasks = {t.id: t for t in state["batch"]}
    adapted = []
    for attempt in state["attempts"]:
        ex = extract_answer(attempt.raw_output, tasks[attempt.task_id].answer_format)
        adapted.append(attempt.model_copy(update={"adapted_answer": ex.answer, "adapter_note": ex.note}))
    return {"attempts": adapted}


__all__ = ["Attempt", "Extraction", "adapt", "extract_answer"]
