"""Graded hints and explanations for a person, from the skill's own teaching, with no LLM: TeacherLM's three parts.

*Fundamentals* and the worked *steps* come from the task's skill family (its file in the catalog, through
the skill graph), computed from the task's own numbers, so they are always right; *common mistakes* from
the Diagnostician's mistake categories for this learner. Hints grade: the fundamentals, then growing
prefixes of the worked steps, never the step that gives the answer away; the answer is only part of an
explanation once the learner has tried (`reveal=True`).
"""

from __future__ import annotations

import itertools
import re
import textwrap

from pydantic import BaseModel

from cosr.domain import Task
from cosr.graphs.skills import SkillGraph

MISTAKE_ADVICE = {
    "sign error": "Your answer had the wrong sign: check which number is larger and the sign of each term.",
    "off by one": "You were off by one: recount the last carry or borrow, or an inclusive range.",
    "one digit wrong (carry or borrow)": "One digit was wrong: a carry or a borrow was probably dropped.",
    "wrong operator": "That is what another operation gives: read the operator again.",
    "wrong value": "Recompute each step and check it against the one before.",
    "wrong format": "Give just the answer (a number, a fraction like 3/4, or code) so it can be checked.",
    "assertion failed": "The code ran but returned a different value from the expected one in a test.",
    "failed test": "A test failed: run your function by hand on that test's input.",
    "timeout": "The code ran too long: look for a loop that never ends.",
}
# For a task whose family shows no steps (a HumanEval task, or one an LLM wrote without its numbers).
GENERIC_STEPS = ["Restate what is asked in your own words.", "Work it out one small step at a time, then check your result."]


class Explanation(BaseModel):
    skill: str
    fundamentals: str
    steps: list[str]  # the worked steps: all of them when revealed, else those that keep the answer back
    mistakes: list[str]
    answer: str | None = None  # only when revealed

    def render(self) -> str:
        lines = [f"Fundamentals: {self.fundamentals}", "Worked steps:"]
        lines += [f"  {i}. {s}" for i, s in enumerate(self.steps, 1)]
        if self.answer is not None and "\n" in self.answer.strip():  # code: a block of its own
            lines.append("  So the answer is:\n" + textwrap.indent(self.answer.strip("\n"), "    "))
        elif self.answer is not None:
            lines.append(f"  So the answer is {self.answer}.")
        if self.mistakes:
            lines.append("Common mistakes: " + " ".join(self.mistakes))
        return "\n".join(lines)


def shown_steps(skills: SkillGraph, task: Task) -> list[str]:
    """The walk-through up to the first step that would give the answer away (division's `6 * 8 = 48` names
    the quotient before its last step does), and never its last step, which completes the answer."""
    steps = skills.walkthrough(task)
    if steps is None:
        return GENERIC_STEPS
    answer = task.reference.strip()
    shown = re.compile(rf"(?<![\d/.]){re.escape(answer)}(?![\d/.])")

    def gives_away(step: str) -> bool:  # the answer, or a fraction answer's numerator as a result
        return bool(shown.search(step)) or step.rsplit(" = ", 1)[-1] == answer.split("/")[0]

    return list(itertools.takewhile(lambda s: not gives_away(s), steps[:-1]))


def common_mistakes(mistakes: dict[str, int] | None) -> list[str]:
    """Advice for this learner's own mistakes on the skill (most frequent first), else the generic kind."""
    seen = [cat for cat, _ in sorted((mistakes or {}).items(), key=lambda kv: -kv[1])]
    advice = [MISTAKE_ADVICE.get(cat, f"Watch for: {cat}.") for cat in seen[:2]]
    return advice or [MISTAKE_ADVICE["wrong value"]]


def explanation(skills: SkillGraph, task: Task, mistakes: dict[str, int] | None = None, *,
                reveal: bool = False) -> Explanation:
    """The task's own worked steps: those that keep the answer back, or, revealed, all of them and the answer."""
    steps = (skills.walkthrough(task) or GENERIC_STEPS) if reveal else shown_steps(skills, task)
    return Explanation(skill=task.skill, fundamentals=skills.fundamentals(task), steps=steps,
                       mistakes=common_mistakes(mistakes), answer=task.reference if reveal else None)


def hint(skills: SkillGraph, task: Task, n: int, mistakes: dict[str, int] | None = None) -> str:
    """The n-th hint (0-based), each telling a little more: the fundamentals, then the first one, two, ...
    worked steps, then advice on this learner's mistakes; never the answer."""
    steps = shown_steps(skills, task)
    prefixes = ["Worked so far:" + "".join(f"\n  {i}. {s}" for i, s in enumerate(steps[:k], 1))
                for k in range(1, len(steps) + 1)]
    ladder = [skills.fundamentals(task), *prefixes, *common_mistakes(mistakes)]
    return ladder[min(n, len(ladder) - 1)]
