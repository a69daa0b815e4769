"""The state that flows through the self-play graph; every checkpoint holds one of these."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from cosr.domain import Attempt, Mastery, Task, Verdict


class SelfPlayState(TypedDict, total=False):
    run_id: str
    step: Annotated[int, operator.add]  # graph cycles so far; the router stops at config.max_steps
    round: int  # the training round whose data is being gathered (1-based)
    round_tasks: int  # tasks attempted in this round
    round_verified: int  # verified (correct) trajectories gathered in this round
    batch: list[Task]  # the Curator's current tasks
    attempts: list[Attempt]  # the Student's attempts at them, adapted by the Answer-Adapter
    verdicts: list[Verdict]  # the Verifier's verdicts, in batch order
    help_attempts: list[Attempt]  # the Teacher's helped attempts at the batch's failed tasks (agents/teacher.py)
    help_verdicts: list[Verdict]  # their verdicts, in the same order
    help_log: dict[str, Any]  # tasks helped and how many the student solved at each rung
    mastery: dict[str, Mastery]  # the Diagnostician's belief per skill
    diagnosis: dict[str, Any]  # missing-skill profile and mistake clusters
    curator_note: str  # why the Curator chose this batch
    curator_log: dict[str, Any]  # the Curator's last step: steps back, tasks written and rejected (llm)
    adapter: str | None  # the adapter version the Student runs with (None: base weights)
    evaluations: dict[str, dict[str, float]]  # held-out accuracy: str(round) -> skill -> accuracy
    rounds_done: int
    tries: int  # tutoring: wrong answers so far to the task on the table (the recorder keys later tries apart)


class TutorState(SelfPlayState, total=False):
    """Self-play state plus the exercise a person is working on (graphs/tutoring.py)."""

    task: Task | None  # the exercise on the table; None: the Curator picks the next one
    hints: list[str]  # hints shown for it, in order
    command: str  # the person's last request: answer, hint, explain, skip
    feedback: str  # the tutor's reply to the last answer
    explanation: str  # fundamentals, worked steps, common mistakes (after repeated failure or on request)
    tasks_done: int


# Types stored in checkpoints; the checkpoint serializer refuses any other module's classes.
CHECKPOINT_TYPES = [("cosr.domain", name) for name in (
    "Task", "Attempt", "Help", "Verdict", "Mastery", "Provenance", "CodeCheck", "TestOutcome",
    "AnswerFormat", "VerifierKind", "Domain",
)]
