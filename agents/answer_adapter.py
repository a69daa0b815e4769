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
_HEDGE = re.compile(r"\b(?:or|either|maybe|possibly)\b|\\lor|\\pm", re.IGNORECASE)
_NUMBER = re.compile(r"(?<![\w.])-?\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\d])|(?<![\w.])-?\d+(?:\.\d+)?(?:/\d+)?")


def _boxes(text: str) -> list[str]:
    """Content of every \\boxed{...} (or \\fbox{...}), braces balanced; a box cut off at the end is no answer."""
    found, pos = [], 0
    for m in re.finditer(r"\\(?:boxed|fbox)\{", text):
        if m.start() < pos:  # a box inside the last one is part of its content, not another answer
            continue
        depth = 1
        for j in range(m.end(), len(text)):
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            if depth == 0:
                found.append(text[m.end():j])
                pos = j
                break
        else:
            break
    return found


def _clean(answer: str) -> str:
    answer = answer.strip().strip("$").strip()
    answer = re.sub(r"^\\\(|\\\)$", "", answer).strip()
    answer = re.sub(r"\\(?:text|mathrm)\{([^}]*)\}", r"\1", answer)
    return answer.rstrip(".").strip()


def _numbers(text: str) -> list[str]:
    return [n.replace(",", "") for n in _NUMBER.findall(text)]


def _hedge(text: str) -> bool:
    """'3 or 4', 'either 1/2 or 3/4': alternatives offered instead of one answer."""
    return bool(_HEDGE.search(text)) and len(set(_numbers(text))) > 1


def _last_side(answer: str) -> str:
    """What 'x = 5' and '28 + 62 = 90' state: the last side. '2x - 5 = 5' is an equation, not an answer."""
    *sides, last = answer.split("=")
    lhs = re.sub(r"\\[a-zA-Z]+", "", sides[-1]) if sides else ""  # \frac{1}{2}: a command is not a variable
    stated = sides and (re.fullmatch(r"\s*[a-zA-Z]\s*", lhs) or not re.search(r"[a-zA-Z]", lhs))
    return last.strip() if stated else answer


def _as_number(answer: str) -> str:
    """The one number of a NUMBER answer ('82 apples' -> 82); anything else as it is, for the verifier to
    judge (an expression such as '28 + 62' is not the number it stands for)."""
    found = _numbers(answer)
    if len(found) == 1 and not re.search(r"[\d+\-*/^()×÷]", _NUMBER.sub("", answer, count=1)):
        return found[0]
    return answer


def _finals(text: str, fmt: AnswerFormat) -> dict[str, str]:
    """Every final answer the output states, as the format reads it, each with where it was found, in order."""
    said = [re.split(r"\\(?:boxed|fbox)\{", s)[0] for s in _ANSWER_IS.findall(text)]  # a box there is a box
    if fmt is not AnswerFormat.LITERAL:  # one sentence; "the answer: first we add..." states no answer
        said = [s for s in (re.split(r"\.(?:\s|$)", s)[0] for s in said) if re.search(r"\d", s)]
    finals: dict[str, str] = {}
    for raw, where in [(b, "\\boxed{}") for b in _boxes(text)] + [(s, "after 'answer'") for s in said]:
        if answer := _clean(raw):
            if fmt is not AnswerFormat.LITERAL:
                answer = _last_side(answer)
                answer = _as_number(answer) if fmt is AnswerFormat.NUMBER else answer
            finals.setdefault(re.sub(r"\s+", " ", answer), where)  # the same answer twice is one answer
    return finals


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
    finals = _finals(text, fmt)
    if len(finals) > 1:  # a reward for the last of several answers is a reward for hedging
        return Extraction(None, f"several different answers: {', '.join(list(finals)[:4])}"[:200])
    if not finals and re.search(r"\\(?:boxed|fbox)\{\s*\}", text):
        return Extraction(None, "empty \\boxed{}")
    if fmt is AnswerFormat.LITERAL:
        if finals:
            return Extraction(*next(iter(finals.items())))
        line = _clean(text.strip().splitlines()[-1])
        return Extraction(line, "last line") if line else Extraction(None, "empty last line")
    if finals:
        answer, note = next(iter(finals.items()))
    else:
        found = list(_NUMBER.finditer(text))
        if not found:
            return Extraction(None, "no number or expression in the output")
        answer, note = found[-1].group().replace(",", ""), "last number"
        # the sentence the last number ends: "it is 3 or 4", or "it is 3. Or maybe 4", offers two answers
        sentence = re.split(r"(?<=[.!?;])\s+|\n", text[:found[-1].end()])[-1]
        if _hedge(sentence) or re.match(r"\W*(?:or|maybe|possibly)\b", sentence, re.IGNORECASE):
            return Extraction(None, f"several different answers: {sentence.strip()}"[:200])
    if _hedge(answer):
        return Extraction(None, f"several different answers: {answer}"[:200])
    return Extraction(answer, note)


def adapt(state: SelfPlayState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Fill in each attempt's adapted answer from its raw output."""
    tasks = {t.id: t for t in state["batch"]}
    adapted = []
    for attempt in state["attempts"]:
        ex = extract_answer(attempt.raw_output, tasks[attempt.task_id].answer_format)
        adapted.append(attempt.model_copy(update={"adapted_answer": ex.answer, "adapter_note": ex.note}))
    return {"attempts": adapted}


__all__ = ["Attempt", "Extraction", "adapt", "extract_answer"]
