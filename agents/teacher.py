"""Teacher node: graded help on the tasks the student failed, the least help first (scaffolding).

On a task every sample of which the Verifier rejected, the teacher helps in steps: a hint shown with the
task (`curator.help.hint`), then a prefix of the task's worked solution of growing length; the student
writes the rest. The hint is the candidate with the highest RLT reward (how much likelier the student
finds the worked solution after reading it: training/teacher_signals.py) among the skill's fundamentals,
its worked steps short of the answer, and, when [curator.llm] names a server, an LLM teacher's
TeacherLM-style explanation (agents/llm_teacher.py). A task climbs the ladder until an answer is verified; those answers are training data (agents/
trainer.py, `curator.help.form` says how). BREAD inserts an expert prefix only where every rollout fails;
QuestA shrinks the partial solution as the student improves; here the highest rung a level gets shrinks
with the Diagnostician's predicted success there (`top_rung`), and a level the student mostly solves gets
none.

The help passes call the Student, Answer-Adapter and Verifier functions directly rather than going round
the graph again: the Diagnostician reads one batch's unhelped verdicts, and the Recorder stores both.
"""

from __future__ import annotations

import math
from typing import Any

from langgraph.runtime import Runtime

from cosr.agents.answer_adapter import extract_answer
from cosr.agents.curriculum import predicted_success
from cosr.agents.curriculum.teachers import arm_option
from cosr.agents.hints import shown_steps
from cosr.agents.llm_teacher import configured
from cosr.agents.llm_teacher import hint_candidates as llm_hints
from cosr.agents.verifiers import verify_batch
from cosr.config import HelpConfig
from cosr.domain import Attempt, Help, Mastery, Task, Verdict
from cosr.graphs.context import Context
from cosr.graphs.skills import SkillGraph
from cosr.graphs.state import SelfPlayState
from cosr.training.backends import render_prompt
from cosr.training.teacher_signals import best_explanation

HELP = "help"  # the option of a `teachers` arm whose tasks get help, "zpd+help" (agents/curriculum/teachers.py)
ANSWER = ". So the answer is"  # how a worked solution states its answer (SkillSpec.worked_answer, catalog/__init__.py)


def worked_body(skills: SkillGraph, task: Task) -> str | None:
    """The worked solution without the sentence that states the answer; a code task's reference program;
    None where there are no steps to give part of (a bare number)."""
    worked = skills.worked_answer(task)
    body, sep, _ = worked.rpartition(ANSWER)
    if sep:
        return body
    return task.reference if "\n" in task.reference.strip() else None


def cut(text: str, share: float) -> str:
    """The first `share` of `text`, ending at the end of a line (a program) or of a word (worked steps)."""
    if share >= 1.0:
        return text
    if "\n" in text.strip():
        lines = text.splitlines(keepends=True)
        return "".join(lines[:math.ceil(len(lines) * share)])
    head = text[:int(len(text) * share)]
    return head[:head.rfind(" ")] if " " in head else ""


def top_rung(success: float, rungs: int, fade_at: float) -> int:
    """How far up the ladder a level's tasks may climb: all of it where the student solves nothing, less
    as its predicted success rises, none from `fade_at` on (help fades as the student succeeds)."""
    if success >= fade_at or rungs == 0:
        return 0
    return math.ceil(rungs * (1.0 - success / fade_at))


def hint_candidates(skills: SkillGraph, task: Task) -> list[str]:
    """TeacherLM's parts as short hints: the skill's fundamentals, and its worked steps kept short of the answer."""
    steps = shown_steps(skills, task)
    return [skills.fundamentals(task)] + (["Steps: " + "; ".join(steps)] if steps else [])


def hinted_prompt(task: Task, hint: str) -> str:
    return f"{task.prompt}\nHint: {hint}" if hint else task.prompt


def choose_hint(ctx: Context, task: Task, candidates: list[str]) -> tuple[str, list[float]]:
    """The candidate with the highest RLT reward: how much likelier the student finds the worked solution
    after reading it (training/teacher_signals.py). A student without local weights gets the first."""
    model, tokenizer = getattr(ctx.student, "model", None), getattr(ctx.student, "tokenizer", None)
    if model is None or tokenizer is None or len(candidates) < 2:
        return candidates[0], []
    render = ctx.config.student
    best, rewards = best_explanation(model, tokenizer, render_prompt(render, task.prompt),
                                     [render_prompt(render, hinted_prompt(task, c)) for c in candidates],
                                     " " + ctx.skills.worked_answer(task))
    return candidates[best], rewards


def ladder(ctx: Context, task: Task, cfg: HelpConfig, top: int, written: list[str] = ()) -> list[Help]:
    """The rungs of help for `task`, the least first, at most `top` of them; `written`: an LLM teacher's
    candidate hints, ranked with the skill's own."""
    rungs: list[Help] = []
    if cfg.hint:
        hint, _ = choose_hint(ctx, task, [*hint_candidates(ctx.skills, task), *written])
        rungs.append(Help(rung=1, hint=hint, teacher="llm" if hint in written else "worked"))
    body = worked_body(ctx.skills, task)
    for share in cfg.prefixes if body else ():
        prefix = cut(body, share)
        if prefix and all(prefix != r.prefix.strip() for r in rungs):
            rungs.append(Help(rung=len(rungs) + 1, prefix=" " + prefix))
    return rungs[:top]


def wants_help(task: Task, strategy: str, cfg: HelpConfig) -> bool:
    """A task of the `teachers` strategy gets help only from an arm that asks for it (`zpd+help`); any other
    task where its strategy is one of `help.strategies` (cosr's teachers; random and the threshold rule
    stay the plain baselines people use)."""
    arm = task.provenance.strategy
    return arm_option(arm) == HELP if strategy == "teachers" else arm in cfg.strategies


def needing_help(state: SelfPlayState, ctx: Context) -> list[tuple[Task, int]]:
    """The batch's tasks that no sample solved, each with the highest rung its level may get."""
    cfg = ctx.config.curator.help
    solved = {a.task_id for a, v in zip(state["attempts"], state["verdicts"], strict=True) if v.correct}
    mastery: dict[str, Mastery] = state.get("mastery") or {}
    out = []
    for task in state["batch"]:
        if task.id in solved or not wants_help(task, ctx.strategy.name, cfg):
            continue
        rungs = len(cfg.prefixes) + cfg.hint
        top = top_rung(predicted_success(mastery.get(task.skill), task.difficulty), rungs, cfg.fade_at)
        if top:
            out.append((task, top))
    return out


def help_round(ctx: Context, items: list[tuple[Task, Help]]) -> list[tuple[Attempt, Verdict]]:
    """The student answers each task with its help, `samples` times; every answer adapted and verified."""
    cfg, student_cfg = ctx.config.curator.help, ctx.config.student
    rows = [(t, h) for t, h in items for _ in range(cfg.samples)]
    outs = ctx.student.generate([hinted_prompt(t, h.hint) for t, h in rows], temperature=student_cfg.temperature,
                                max_new_tokens=student_cfg.max_new_tokens, starts=[h.prefix for _, h in rows])
    attempts = []
    for (task, h), g in zip(rows, outs, strict=True):
        ex = extract_answer(h.prefix + g.text, task.answer_format)
        attempts.append(Attempt(task_id=task.id, student_id=ctx.student.id, adapter_version=ctx.student.adapter_version,
                                raw_output=g.text, adapted_answer=ex.answer, adapter_note=ex.note,
                                duration_s=round(g.duration_s, 4), completion_tokens=g.completion_tokens, help=h))
    verdicts = verify_batch([t for t, _ in rows], [a.adapted_answer for a in attempts], ctx.executor,
                            notes=[a.adapter_note for a in attempts])
    return list(zip(attempts, verdicts, strict=True))


def teach(state: SelfPlayState, runtime: Runtime[Context]) -> dict[str, Any]:
    ctx = runtime.context
    cfg = ctx.config.curator.help
    if not cfg.enabled or not getattr(ctx.student, "continues_answers", False):
        return {"help_attempts": [], "help_verdicts": [], "help_log": {}}
    needing = needing_help(state, ctx)
    written: dict[str, list[str]] = {}
    if cfg.hint and configured(ctx.config.curator.llm):  # an LLM teacher writes candidate hints too
        wrong = {a.task_id: a.adapted_answer for a in state["attempts"]}
        written = llm_hints(ctx, [(task, wrong.get(task.id)) for task, _ in needing], state.get("step", 0))
    todo = [(task, ladder(ctx, task, cfg, top, written.get(task.id, []))) for task, top in needing]
    done: list[tuple[Attempt, Verdict]] = []
    log: dict[str, Any] = {"failed": len(todo), "solved_at": {}, "llm_hints": len(written)}
    for rung in range(1, 1 + max((len(rungs) for _, rungs in todo), default=0)):
        step = [(task, rungs[rung - 1]) for task, rungs in todo if len(rungs) >= rung]
        results = help_round(ctx, step)
        done += results
        solved = {a.task_id for a, v in results if v.correct}
        log["solved_at"][str(rung)] = len(solved)
        todo = [(task, rungs) for task, rungs in todo if task.id not in solved]
    return {"help_attempts": [a for a, _ in done], "help_verdicts": [v for _, v in done], "help_log": log}
