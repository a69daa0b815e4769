"""Curator node: chooses skill and difficulty with the configured curriculum strategy, turns the
picks into tasks (never a held-out one), and steps back when the student is stuck on a skill.

A strategy that writes its own tasks (`llm`) hands back verified tasks plus picks it leaves to the
skill generators; its rejections are counted in `curator_note` and `curator_log`, never handed out."""

from __future__ import annotations

import random
from typing import Any

from langgraph.runtime import Runtime

from cosr.agents.curriculum import Pick, writes_tasks
from cosr.agents.teaching_gain import history, measures_teachers
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
        return Pick(pick.skill, pick.level - 1, f"stuck on {pick.skill} ({stuck_after} failures in a row): easier level",
                    pick.arm)
    prereqs = skills.prerequisites(pick.skill)
    if prereqs:
        weakest = min(prereqs, key=lambda p: mastery[p].ability if p in mastery else 0.0)
        return Pick(weakest, 1, f"stuck on {pick.skill}: back to its prerequisite {weakest}", pick.arm)
    return pick


def within_reach(picks: list[Pick], mastery: dict[str, Mastery]) -> list[Pick]:
    """For a person: each pick at most one level above the highest level solved on its skill (level 1 before
    any). A strategy's draw alone jumps: zpd's Thompson draw over the band sent a person from a skipped
    level 2 to level 4, and from a first solved level 1 to level 4 (a level-4 pair's low success carries a
    weight like a small level 1's)."""
    out = []
    for pick in picks:
        m = mastery.get(pick.skill)
        reach = 1 + max((int(lv) for lv, (c, _) in (m.by_level.items() if m else ()) if c > 0), default=0)
        out.append(pick if pick.level <= reach else
                   Pick(pick.skill, reach, f"{pick.reason}; one level at a time: level {reach}, not {pick.level}", pick.arm))
    return out


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


def make_tasks(picks: list[Pick], ctx: Context, rng: random.Random, strategy: str,
               seen: set[str] | None = None) -> list[Task]:
    """One task per pick (a training problem: make_task draws only those) and, while the level has fresh
    ones, none this run has already handed out (`seen`: task identities, updated): repeats teach by heart. code_input level 2 holds ~1000
    tasks; a run drew it 5200 times, its success on training tasks rose 0.17 -> 0.23 while its held-out
    accuracy fell 14 -> 12 of 48."""
    seen = set() if seen is None else seen
    tasks = []
    for pick in picks:
        chosen = repeat = None
        for _ in range(MAX_REDRAWS):
            task = ctx.skills.make_task(pick.skill, pick.level, rng.randrange(2**31),
                                        provenance=Provenance(strategy=pick.arm or strategy, reason=pick.reason))
            if ctx.skills.identity(task) not in seen:
                chosen = task
                break
            repeat = repeat or task
        chosen = chosen or repeat  # a level used up: a repeat rather than nothing
        if chosen is not None:
            tasks.append(chosen)
            seen.add(ctx.skills.identity(chosen))
    return tasks


def handed_out(ctx: Context, step: int) -> set[str]:
    """Identities of the tasks this run handed out before this step. Rebuilt from the store after a
    restart, so a step replayed after a crash sees what the original saw and picks the same tasks."""
    cached = ctx.extras.get("handed_out")
    if cached is None or cached[0] != step:
        cached = (step, {ctx.skills.identity(t) for t in ctx.store.handed_out(ctx.run_id, max_step=step)})
    return cached[1]


def curate(state: SelfPlayState, runtime: Runtime[Context]) -> dict[str, Any]:
    return choose_tasks(state, runtime.context)


def curate_for_person(state: SelfPlayState, runtime: Runtime[Context]) -> dict[str, Any]:
    """The Curator of a tutoring session: the same choice, each pick `within_reach` of the person."""
    return choose_tasks(state, runtime.context, for_person=True)


def choose_tasks(state: SelfPlayState, ctx: Context, *, for_person: bool = False) -> dict[str, Any]:
    cfg = ctx.config.curator
    mastery = state.get("mastery") or {}
    # Seeded by run seed and step: a replayed step after a crash picks the very same tasks.
    step = state.get("step", 0)
    rng = random.Random(f"{ctx.config.seed}:{step}")
    seen = handed_out(ctx, step)
    if measures_teachers(ctx):  # the teacher of teachers shares the batch by what each arm's examples bought
        ctx.strategy.feedback(history(ctx))
    picks = ctx.strategy.choose(ctx.skills, mastery, cfg.batch_size, rng)
    if for_person:
        picks = within_reach(picks, mastery)
    picks = step_back_half(picks, ctx.skills, mastery, cfg.stuck_after)
    stepped = sorted({p.reason for p in picks if p.reason.startswith("stuck")})
    log: dict[str, Any] = {"stepped_back": stepped}
    if writes_tasks(ctx.strategy):
        written = ctx.strategy.write_tasks(picks, ctx, rng, step)
        seen.update(ctx.skills.identity(t) for t in written.tasks)
        tasks = written.tasks + make_tasks(written.leftover, ctx, rng, ctx.strategy.name, seen)
        log.update(written=len(written.tasks), rejected=written.rejected, notes=written.notes)
    else:
        tasks = make_tasks(picks, ctx, rng, ctx.strategy.name, seen)
    ctx.extras["handed_out"] = (step + 1, seen)  # make_tasks added this step's tasks
    counts: dict[str, int] = {}
    for t in tasks:
        counts[f"{t.skill}@L{t.difficulty}"] = counts.get(f"{t.skill}@L{t.difficulty}", 0) + 1
    note = f"{ctx.strategy.name}: " + ", ".join(f"{k}×{v}" for k, v in sorted(counts.items()))
    if stepped:
        note += " | " + "; ".join(stepped)
    if "written" in log:
        note += f" | LLM wrote {log['written']}, rejected {len(log['rejected'])}" + "".join(f"; {n}" for n in log["notes"])
    return {"batch": tasks, "curator_note": note, "curator_log": log, "step": 1}
