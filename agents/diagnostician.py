"""Diagnostician node: keeps the student model, per-skill knowledge tracing from every verdict, the
missing-skill profile (STAT) and the student's mistakes clustered into named categories.

Knowledge tracing is an Elo/IRT-style ability per skill on the level scale, chosen over Bayesian
knowledge tracing because tasks come at several difficulties: one ability predicts success at every
level (sigmoid(ability - (level - 1))), which is exactly what the Curator needs to aim at a band.
BKT's binary learned/unlearned state would need one chain per (skill, level) and could not say how a
success at level 3 bears on level 1. One unit-slope ability is too smooth for real students, though
(the embedded student: 97% on addition level 1, 2% on level 2, and the fitted ability settled where
it predicted 41% on level 1, so addition never counted as mastered and zpd never left it). So each
level also keeps its own recency-weighted record, and the prediction at a level is that record shrunk
towards the ability model (agents/curriculum.predicted_success). The belief is kept in the graph state (`mastery`, `diagnosis`)
and, after every step, in the store's `diagnoses` table, so a run's teaching can be replayed.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import Any

from langgraph.runtime import Runtime

from cosr.agents.curriculum import predicted_success
from cosr.domain import Mastery, Task, Verdict, success_at
from cosr.graphs.context import Context
from cosr.graphs.state import SelfPlayState

RECENT = 12  # tasks kept per skill for the stuck rule and recent accuracy
LEVEL_DECAY = 0.9  # per update (one batch): the per-level record follows a student who is learning


def update_mastery(m: Mastery, results: list[tuple[int, float]], threshold: float, levels: int) -> Mastery:
    """Elo update of the ability from (level, score) results, one per task, the score being the share
    of its samples verified correct (Elo takes fractional outcomes; k samples of one task are one
    observation, not k independent ones). The step shrinks as evidence accumulates; the per-level
    record's older evidence decays by LEVEL_DECAY per update. `recent` keeps, per task, whether any
    sample was verified: the stuck rule asks whether the student still yields anything to learn from."""
    ability = m.ability
    for i, (level, correct) in enumerate(results):
        k = max(0.15, 1.2 / math.sqrt(1 + (m.attempts + i) / 4))
        ability += k * (float(correct) - success_at(ability, level))
    by_level = {lv: (c * LEVEL_DECAY, n * LEVEL_DECAY) for lv, (c, n) in m.by_level.items()}
    for level, correct in results:
        c, n = by_level.get(level, (0.0, 0.0))
        by_level[level] = (c + correct, n + 1)
    updated = m.model_copy(update={"ability": ability, "by_level": by_level})
    frontier = min(levels, 1 + sum(predicted_success(updated, lv) >= threshold for lv in range(1, levels)))
    return updated.model_copy(update={
        "level": frontier,
        "p_mastery": predicted_success(updated, frontier),
        "attempts": m.attempts + len(results),
        "correct": m.correct + sum(c for _, c in results),
        "recent": (m.recent + tuple(c > 0 for _, c in results))[-RECENT:],
    })


def mistake_category(task: Task, answer: str | None, verdict: Verdict) -> str | None:
    """A name for what went wrong, or None when nothing did."""
    if verdict.correct:
        return None
    if verdict.status in ("unparseable", "timeout"):
        return {"unparseable": "wrong format", "timeout": "timeout"}[verdict.status]
    if verdict.status == "error":
        return "memory" if "memory" in verdict.details else "sandbox error"
    if task.check is not None:  # code: the exception type of the first failing test, if any
        failed = next((t for t in verdict.tests if not t.passed), None)
        if failed and (m := re.match(r"(\w+(?:Error|Exception))", failed.error)):
            return "assertion failed" if m.group(1) == "AssertionError" else m.group(1)
        return "failed test"
    try:
        got, want = float(answer or ""), float(task.reference)
    except ValueError:
        return "wrong value"
    if got == -want:
        return "sign error"
    operands = task.metadata.get("operands")
    if isinstance(operands, list) and len(operands) == 2 and all(isinstance(x, int) for x in operands):
        a, b = operands
        if got in {a + b, a - b, b - a, a * b} | ({a // b} if b else set()):
            return "wrong operator"
    if abs(got - want) == 1:
        return "off by one"
    g, w = str(int(got)) if got.is_integer() else "", str(int(want)) if want.is_integer() else ""
    if g and len(g) == len(w) and sum(a != b for a, b in zip(g, w)) == 1:
        return "one digit wrong (carry or borrow)"
    return "wrong value"


def diagnose(state: SelfPlayState, runtime: Runtime[Context]) -> dict[str, Any]:
    ctx = runtime.context
    mastery = dict(state.get("mastery") or {s: Mastery(skill=s) for s in ctx.skills.names()})
    for name in ctx.skills.names():
        mastery.setdefault(name, Mastery(skill=name))
    by_skill: dict[str, list[tuple[int, float]]] = {}
    diagnosis = state.get("diagnosis") or {"failures": {}, "mistakes": {}}
    failures = Counter(diagnosis["failures"])
    mistakes = {k: Counter(v) for k, v in diagnosis["mistakes"].items()}
    tasks = {t.id: t for t in state.get("batch") or []}
    samples: dict[str, list[bool]] = {}  # task id -> its samples' verdicts
    for a, verdict in zip(state.get("attempts") or [], state.get("verdicts") or [], strict=False):
        task = tasks[a.task_id]
        samples.setdefault(task.id, []).append(verdict.correct)
        if (cat := mistake_category(task, a.adapted_answer, verdict)) is not None:
            failures[task.skill] += 1
            mistakes.setdefault(task.skill, Counter())[cat] += 1
    for task_id, verdicts in samples.items():
        task = tasks[task_id]
        by_skill.setdefault(task.skill, []).append((task.difficulty, sum(verdicts) / len(verdicts)))
    threshold = ctx.config.curator.mastery_threshold
    for skill, results in by_skill.items():
        mastery[skill] = update_mastery(mastery[skill], results, threshold, ctx.skills[skill].levels)
    total = sum(failures.values()) or 1
    diagnosis = {
        "failures": dict(failures),
        "missing_skill_profile": {s: round(n / total, 3) for s, n in failures.most_common()},
        "mistakes": {s: dict(c.most_common()) for s, c in mistakes.items()},
    }
    if by_skill:  # a step that saw verdicts: keep the belief in the store too (a replayed step overwrites)
        ctx.store.record_diagnosis(ctx.run_id, state.get("step", 0), state.get("round", 1), {
            "mastery": {s: m.model_dump(include={"ability", "level", "p_mastery", "attempts", "correct"})
                        for s, m in mastery.items()},
            **diagnosis,
        })
    return {"mastery": mastery, "diagnosis": diagnosis, "batch": [], "attempts": [], "verdicts": []}
