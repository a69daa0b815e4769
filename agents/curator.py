"""Curator node: chooses skill and difficulty with the configured curriculum strategy, turns the
picks into tasks (never a held-out one), and steps back when the student is stuck on a skill.

A strategy that writes its own tasks (`llm`) hands back verified tasks plus picks it leaves to the
skill generators; its rejections are counted in `curator_note` and `curator_log`, never handed out."""

from __future__ import annotations

import random
from typing import Any

from langgraph.runtime import Runtime

from cosr.agents.curriculum import Pick, writes_tasks
from cosr.domain import Mastery, Provenance, Task
from cosr.graphs.context import Context
from cosr.graphs.state import SelfPlayState

MAX_REDRAWS = 20  # a held-out collision is redrawn with the next seed; small skills may run out


def is_stuck(m: Mastery | None, after: int) -> bool:
    return m is not None and len(m.recent) >= after and not any(m.recent[-after:])


def step_back(pick: Pick, skills, mastery: dict[str, Mastery], stuck_after: int) -> Pick:
    """Subtask decomposition at the level of skills: an easier level, else the weakest prerequisite."""
    if not is_stuck(mastery.get(pick.skill), stuck_after):
        return pick
    if pick.level > 1:
        return Pick(pick.skill, pick.level - 1, f"stuck on {pick.skill} ({stuck_after} failures in a row): easier level")
    prereqs = skills.prerequisites(pick.skill)
    if prereqs:
        weakest = min(prereqs, key=lambda p: mastery[p].ability if p in mastery else 0.0)
        return Pick(weakest, 1, f"stuck on {pick.skill}: back to its prerequisite {weakest}")
    return pick


def step_back_half(picks: list[Pick], skills, mastery: dict[str, Mastery], stuck_after: int) -> list[Pick]:
    """Every other pick of a stuck skill steps back; the rest keep probing it. Moving all of them was
    absorbing: a stuck skill was never attempted again, so it stayed stuck for the rest of the run
    (seen: chain_sum and code_synthesis locked out after their first batch)."""
    seen: dict[str, int] = {}
    out = []
    for pick in picks:
        seen[pick.skill] = seen.get(pick.skill, 0) + 1
        out.append(step_back(pick, skills, mastery, stuck_after) if seen[pick.skill] % 2 else pick)
    return out


def make_tasks(picks: list[Pick], ctx: Context, rng: random.Random, strategy: str) -> list[Task]:
    banned = {t.fingerprint for t in ctx.heldout}
    tasks = []
    for pick in picks:
        for _ in range(MAX_REDRAWS):
            task = ctx.skills.make_task(pick.skill, pick.level, rng.randrange(2**31),
                                        provenance=Provenance(strategy=strategy, reason=pick.reason))
            if task.fingerprint not in banned:
                tasks.append(task)
                break
    return tasks


def curate(state: SelfPlayState, runtime: Runtime[Context]) -> dict[str, Any]:
    ctx = runtime.context
    cfg = ctx.config.curator
    mastery = state.get("mastery") or {}
    # Seeded by run seed and step: a replayed step after a crash picks the very same tasks.
    rng = random.Random(f"{ctx.config.seed}:{state.get('step', 0)}")
    picks = ctx.strategy.choose(ctx.skills, mastery, cfg.batch_size, rng)
    picks = step_back_half(picks, ctx.skills, mastery, cfg.stuck_after)
    stepped = sorted({p.reason for p in picks if p.reason.startswith("stuck")})
    log: dict[str, Any] = {"stepped_back": stepped}
    if writes_tasks(ctx.strategy):
        written = ctx.strategy.write_tasks(picks, ctx, rng, state.get("step", 0))
        tasks = written.tasks + make_tasks(written.leftover, ctx, rng, ctx.strategy.name)
        log.update(written=len(written.tasks), rejected=written.rejected, notes=written.notes)
    else:
        tasks = make_tasks(picks, ctx, rng, ctx.strategy.name)
    counts: dict[str, int] = {}
    for t in tasks:
        counts[f"{t.skill}@L{t.difficulty}"] = counts.get(f"{t.skill}@L{t.difficulty}", 0) + 1
    note = f"{ctx.strategy.name}: " + ", ".join(f"{k}×{v}" for k, v in sorted(counts.items()))
    if stepped:
        note += " | " + "; ".join(stepped)
    if "written" in log:
        note += f" | LLM wrote {log['written']}, rejected {len(log['rejected'])}" + "".join(f"; {n}" for n in log["notes"])
    return {"batch": tasks, "curator_note": note, "curator_log": log, "step": 1}
