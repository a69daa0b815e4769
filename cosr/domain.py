"""The typed data that crosses every boundary: skills, tasks, attempts, verdicts, mastery."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Domain(StrEnum):
    MATH = "math"
    CODE = "code"


class AnswerFormat(StrEnum):
    """What the Answer-Adapter must extract from a free-form reply."""

    NUMBER = "number"  # an integer or decimal
    EXPRESSION = "expression"  # a fraction, a symbolic expression
    LITERAL = "literal"  # a Python literal (an argument list, a value)
    CODE = "code"  # a Python program


class VerifierKind(StrEnum):
    MATH = "math"  # symbolic equivalence with the reference (math-verify)
    CODE = "code"  # run in the sandbox against the task's tests


class Skill(Frozen):
    """A node of the skill knowledge graph."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    domain: Domain
    description: str = ""
    generator: str
    prerequisites: tuple[str, ...] = ()
    levels: int = Field(default=5, ge=1, le=10)
    params: dict[str, Any] = Field(default_factory=dict)


class CodeCheck(Frozen):
    """How a code answer is run: `harness` with ANSWER_SLOT replaced by the answer, then each test."""

    ANSWER_SLOT: ClassVar[str] = "{{answer}}"
    harness: str
    tests: tuple[str, ...] = ()

    def program(self, answer: str) -> str:
        return self.harness.replace(self.ANSWER_SLOT, answer)


class Provenance(Frozen):
    """Who made a task and why: the curriculum strategy, and the teacher model if any."""

    strategy: str
    teacher: str | None = None
    reason: str = ""


Split = Literal["train", "validation", "test"]
HELDOUT_SPLITS: tuple[Split, ...] = ("validation", "test")


class Task(Frozen):
    id: str
    skill: str
    difficulty: int = Field(ge=1)
    prompt: str
    answer_format: AnswerFormat
    verifier: VerifierKind
    reference: str = Field(description="reference answer (math) or reference solution (code)")
    check: CodeCheck | None = None
    seed: int
    split: Split = "train"
    provenance: Provenance = Provenance(strategy="generator")
    metadata: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _legacy(cls, data: Any) -> Any:
        """Stores written before help (2026-12) hold an `annotation` that was never set: read past it.
        What a teacher explains now travels with a helped attempt (Attempt.help)."""
        if isinstance(data, dict) and data.get("annotation", 0) is None:
            data = {k: v for k, v in data.items() if k != "annotation"}
        return data

    @field_validator("check")
    @classmethod
    def _code_needs_check(cls, v: CodeCheck | None, info: Any) -> CodeCheck | None:
        if info.data.get("verifier") == VerifierKind.CODE and v is None:
            raise ValueError("a code task needs a `check` (harness and tests)")
        return v

    def with_provenance(self, provenance: Provenance) -> Task:
        return self.model_copy(update={"provenance": provenance})

    def to_export(self) -> dict[str, Any]:
        """One line of `cosr heldout export` (and of `cosr judge`'s input): everything needed to see the task
        and to verify an answer to it, the reference as text under `answer`."""
        return {"id": self.id, "skill": self.skill, "level": self.difficulty, "split": self.split,
                "prompt": self.prompt, "answer": self.reference, "answer_format": self.answer_format.value,
                "verifier": self.verifier.value, "check": self.check.model_dump() if self.check else None,
                "seed": self.seed, "metadata": self.metadata}

    @classmethod
    def from_export(cls, line: dict[str, Any]) -> Task:
        """A task from an export line (or any line in that format: `check` is needed for code tasks)."""
        data = dict(line)
        data["difficulty"] = data.pop("level", data.get("difficulty", 1))
        data["reference"] = data.pop("answer", data.get("reference"))
        data.setdefault("verifier", VerifierKind.CODE if data.get("check") else VerifierKind.MATH)
        data.setdefault("seed", 0)
        data.setdefault("id", f"{data.get('skill', 'task')}:{data['seed']}")
        return cls.model_validate(data)

def now() -> datetime:
    return datetime.now(UTC)


class Help(Frozen):
    """What the teacher gave before the student answered again (graded help, agents/teacher.py): a hint
    shown with the task, and the start of a worked solution the student continues from."""

    rung: int = Field(ge=1)  # the step of the help ladder (1: the least help)
    hint: str = ""
    prefix: str = ""
    teacher: str = "worked"  # who wrote the hint: the skill's own definition ("worked") or an LLM teacher


class Attempt(Frozen):
    task_id: str
    student_id: str
    adapter_version: str | None = None
    raw_output: str
    adapted_answer: str | None = None
    adapter_note: str = ""
    duration_s: float = 0.0
    completion_tokens: int = 0
    created_at: datetime = Field(default_factory=now)
    help: Help | None = None  # a helped attempt: raw_output continues help.prefix

    @property
    def text(self) -> str:
        """The whole answer: the teacher's prefix, if any, then what the student wrote."""
        return (self.help.prefix if self.help else "") + self.raw_output


VerdictStatus = Literal["correct", "wrong", "unparseable", "timeout", "error"]


class TestOutcome(Frozen):
    __test__ = False  # not a pytest class
    test: str
    passed: bool
    error: str = ""


class Verdict(Frozen):
    correct: bool
    score: float = Field(ge=0.0, le=1.0)
    status: VerdictStatus
    details: str = ""
    tests: tuple[TestOutcome, ...] = ()
    stdout: str = ""
    stderr: str = ""
    duration_s: float = 0.0


class Trajectory(Frozen):
    """One task, one attempt at it, and the verdict: the unit the store keeps and training reads."""

    id: str
    run_id: str
    round: int
    step: int
    task: Task
    attempt: Attempt
    verdict: Verdict


def distinct(trajectories: list[Trajectory]) -> list[Trajectory]:
    """One of each (task, output): what a round can train on. The samples of a task the student answers
    the same way every time would otherwise weigh k times what a task it solved once does."""
    seen: set[tuple[str, str]] = set()
    out = []
    for t in trajectories:
        if (key := (t.task.id, t.attempt.raw_output)) not in seen:
            seen.add(key)
            out.append(t)
    return out


def accuracy(solved: float, total: float) -> float:
    """The share solved, wherever a share is read (an evaluation, a level, a Mastery's record); 0 of nothing is 0."""
    return solved / total if total else 0.0


def success_at(ability: float, level: int) -> float:
    """The ability model every reader of a Mastery shares: predicted success at `level` is
    sigmoid(ability - (level - 1)), ability being on the level scale."""
    return 1.0 / (1.0 + math.exp(-(ability - (level - 1))))


class Mastery(Frozen):
    """The Diagnostician's belief about one skill."""

    skill: str
    ability: float = 0.0  # on the level scale (success_at)
    p_mastery: float = Field(default=0.5, ge=0.0, le=1.0)  # predicted success at `level`
    attempts: int = 0  # tasks
    correct: float = 0.0  # tasks, each counted as the share of its samples verified correct
    level: int = 1
    recent: tuple[bool, ...] = ()
    # Recency-weighted (correct, attempts) per level: the evidence the ability model is too smooth to
    # hold (a student can be at 97% on level 1 and 2% on level 2).
    by_level: dict[int, tuple[float, float]] = Field(default_factory=dict)

    @property
    def accuracy(self) -> float:
        return accuracy(self.correct, self.attempts)
