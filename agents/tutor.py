"""The tutoring nodes: a person as the Student, and the tutor's reply to what the person did.

`ask_person` pauses the graph (the human backend's `interrupt()`) with the task and everything the
person should see; the reply is an answer (on to the Answer-Adapter and Verifier) or a request.
`respond` turns the verdict into feedback (which test failed, what kind of mistake), hands out
graded hints, explains after repeated failure or on request, and reveals the answer only once the
person has tried and is moving on. Hints come from `agents/hints.py` over the skill's own worked steps,
deterministic, no LLM.
"""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from cosr.agents.diagnostician import mistake_category
from cosr.agents.hints import MISTAKE_ADVICE, explanation, hint
from cosr.domain import Attempt, Task, Verdict
from cosr.graphs.context import Context
from cosr.graphs.state import TutorState

EXPLAIN_AFTER = 2  # wrong tries before the explanation comes unasked
MOVE_ON_AFTER = 3  # wrong tries before the answer is shown and the Curator picks another task


def shown_task(task: Task) -> dict[str, Any]:
    """What the person may see of a task: never the reference or the hidden tests."""
    return {"id": task.id, "skill": task.skill, "level": task.difficulty, "prompt": task.prompt,
            "answer_format": task.answer_format.value}


def ask_person(state: TutorState, runtime: Runtime[Context]) -> dict[str, Any]:
    ctx = runtime.context
    if not hasattr(ctx.student, "request"):
        raise TypeError(f"tutoring needs the human student backend, not {ctx.student.id!r}")
    new = state.get("task") is None
    task = state["batch"][0] if new else state["task"]
    hints = [] if new else list(state.get("hints") or [])
    tries = 0 if new else state.get("tries", 0)
    reply = ctx.student.request({
        "task": shown_task(task), "tries": tries, "hints": hints, "feedback": state.get("feedback", ""),
        "explanation": state.get("explanation", ""), "curator_note": state.get("curator_note", ""),
        "tasks_done": state.get("tasks_done", 0),
    })
    update: dict[str, Any] = {"task": task, "batch": [task], "tries": tries, "hints": hints, "command": reply.command,
                              "feedback": "", "explanation": "", "attempts": [], "verdicts": []}
    if reply.command == "answer":
        update["attempts"] = [Attempt(task_id=task.id, student_id=ctx.student.id, raw_output=reply.text)]
    return update


def feedback(task: Task, attempt: Attempt, verdict: Verdict) -> str:
    """What went wrong, from the verifier, without giving the answer away."""
    if verdict.status == "unparseable":
        return f"I could not read an answer there ({verdict.details}). {MISTAKE_ADVICE['wrong format']}"
    failed = next((t for t in verdict.tests if not t.passed), None)
    if failed is not None:
        lines = [f"Not yet: this check failed: {failed.test}"]
        if failed.error:
            lines.append(f"  {failed.error.strip().splitlines()[-1]}")
        if verdict.stderr.strip():
            lines.append("  stderr: " + verdict.stderr.strip().splitlines()[-1])
        return "\n".join(lines)
    category = mistake_category(task, attempt.adapted_answer, verdict) or "wrong value"
    return f"Not yet: {attempt.adapted_answer} is not right ({category}). {MISTAKE_ADVICE.get(category, '')}".strip()


def respond(state: TutorState, runtime: Runtime[Context]) -> dict[str, Any]:
    skills = runtime.context.skills
    task, command, tries = state["task"], state.get("command", "answer"), state.get("tries", 0)
    mistakes = (state.get("diagnosis") or {}).get("mistakes", {}).get(task.skill)
    hints = list(state.get("hints") or [])
    if command == "hint":
        return {"hints": [*hints, hint(skills, task, len(hints), mistakes)]}
    if command == "explain":  # on request: the worked steps, the answer only if the person has tried
        return {"explanation": explanation(skills, task, mistakes, reveal=tries > 0).render()}
    done = state.get("tasks_done", 0) + 1
    if command == "skip":
        reveal = f" The answer was {task.reference}." if tries else ""
        return {"feedback": f"Skipped.{reveal}", "task": None, "tasks_done": done}
    attempt, verdict = state["attempts"][0], state["verdicts"][0]
    if verdict.correct:
        return {"feedback": f"Correct! ({task.skill}, level {task.difficulty})", "task": None, "tasks_done": done}
    tries += 1
    update: dict[str, Any] = {"tries": tries, "feedback": feedback(task, attempt, verdict),
                              "hints": [*hints, hint(skills, task, len(hints), mistakes)]}
    if tries >= MOVE_ON_AFTER:
        update.update(task=None, tasks_done=done, explanation=explanation(skills, task, mistakes, reveal=True).render())
        update["feedback"] += f"\nThat was {tries} tries; the answer was {task.reference}. On to another task."
    elif tries >= EXPLAIN_AFTER:
        update["explanation"] = explanation(skills, task, mistakes).render()
    return update
