"""Held-out accuracy read where the teaching happened: counts per skill and level, pooled over (skill, level)
pairs, before and after, with standard errors. Every reader of an evaluation (the evaluate node, a run's
summary, `cosr compare`, the debugger page) counts and pools it here.

A skill's mean over levels 1-3 hides what a run taught (one level rises while the others, untouched,
stay or drift), so the frontier is read per (skill, level) pair:
- in a self-play run, the pairs the Curator practised (`share` of the run's tasks or more) that the
  student had not already mastered before the run (held-out accuracy below `mastered`);
- the pairs whose baseline accuracy lies in a band (`band_pairs`): the same for every run of one
  student, so `cosr compare` judges every strategy on them, and a self-play run reports them too, so
  what its rounds cost outside their practice shows.
Accuracy is pooled over the pairs' held-out tasks, with its binomial standard error.

The band is also read in two parts by the size of a level's task space (`by_space`). On a level with
a few dozen distinct tasks (one-digit multiplication, division, lcm), the held-out tasks are facts
that training never shows (the Curator bans them): the run can only keep or lose them. On an open
level every held-out task is a new problem, so a gain there is generalisation. The embedded
student's default runs gained on the open part and lost on the small part (docs/history.md, measured before the splits).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from cosr.domain import Task, accuracy
from cosr.training import stats
from cosr.training.results import FrontierReport

Pair = tuple[str, int]
Counts = tuple[int, int]  # (solved, total)
Outcomes = dict[int, dict[Pair, dict[str, bool]]]  # round -> (skill, level) -> task id -> solved (TrajectoryStore)
BAND = (0.1, 0.8)  # partly learned, room to grow: the frontier a run is judged on besides its own practice
OPEN = 200  # distinct tasks in 256 draws (SkillGraph.distinct_tasks) from which a level counts as open


def per_level(tasks: list[Task], solved: list[bool]) -> dict[Pair, Counts]:
    """(solved, total) per (skill, level)."""
    out: dict[Pair, Counts] = {}
    for t, ok in zip(tasks, solved, strict=True):
        c, n = out.get((t.skill, t.difficulty), (0, 0))
        out[(t.skill, t.difficulty)] = (c + ok, n + 1)
    return out


def per_skill(levels: dict[Pair, Counts]) -> dict[str, Counts]:
    out: dict[str, Counts] = {}
    for (skill, _), (c, n) in levels.items():
        c0, n0 = out.get(skill, (0, 0))
        out[skill] = (c0 + c, n0 + n)
    return out


def skill_accuracy(skills: dict[str, Counts]) -> dict[str, float]:
    """Accuracy per skill, to four places: what the graph state, the events and summary.json hold."""
    return {s: round(accuracy(c, n), 4) for s, (c, n) in skills.items()}


def overall(skills: dict[str, Counts]) -> float:
    """Accuracy over every task of an evaluation, to four places."""
    return round(accuracy(sum(c for c, _ in skills.values()), sum(n for _, n in skills.values())), 4)


def label(pair: Pair) -> str:
    """"skill@Llevel": a pair's key in summary.json (heldout_levels, pairs), which `cosr compare` reads back."""
    return f"{pair[0]}@L{pair[1]}"


def parse_label(key: str) -> Pair:
    skill, level = key.rsplit("@L", 1)
    return skill, int(level)


def pooled(evals: dict[Pair, Counts], pairs: list[Pair]) -> tuple[float, float, int]:
    """(accuracy, standard error, tasks) over the pairs' held-out tasks."""
    c = sum(evals[p][0] for p in pairs if p in evals)
    n = sum(evals[p][1] for p in pairs if p in evals)
    if not n:
        return 0.0, 0.0, 0
    acc = accuracy(c, n)
    return acc, math.sqrt(acc * (1 - acc) / n), n


def practised_pairs(practice: dict[Pair, int], baseline: dict[Pair, Counts], *,
                    share: float = 0.05, mastered: float = 0.9) -> list[Pair]:
    total = sum(practice.values()) or 1
    return sorted(p for p, n in practice.items()
                  if n / total >= share and p in baseline and baseline[p][0] < mastered * baseline[p][1])


def paired_gain(outcomes: Outcomes, pairs: list[Pair], first: int, last: int) -> tuple[float, float, int] | None:
    """(gain, its standard error, tasks) from each held-out task's outcome before and after: the same
    tasks at both rounds, so the error is that of the per-task differences, far below two independent
    samples' where most tasks keep their outcome. None when the outcomes were not kept (older stores)."""
    before, after = outcomes.get(first, {}), outcomes.get(last, {})
    diffs = [int(after[p][t]) - int(ok) for p in pairs for t, ok in before.get(p, {}).items() if t in after.get(p, {})]
    if not diffs:
        return None
    est = stats.two_way([diffs])  # one run: the error over its tasks
    return est.mean, est.se or 0.0, len(diffs)


def answers(outcomes: Outcomes, pairs: list[Pair] | None = None) -> dict[str, tuple[str, int, int]]:
    """task id -> (skill, solved at round 0, solved at the last round) over `pairs` (None: every pair), for the
    tasks answered at both: what a gain's standard error is over. A task id counts once however often it was drawn."""
    first, last = outcomes.get(0, {}), outcomes.get(max(outcomes, default=0), {})
    keep = first.keys() if pairs is None else pairs
    after = {t: ok for p in keep for t, ok in last.get(p, {}).items()}
    return {t: (p[0], int(ok), int(after[t])) for p in keep for t, ok in first.get(p, {}).items() if t in after}


def band_pairs(baseline: dict[Pair, Counts], band: tuple[float, float] = BAND) -> list[Pair]:
    """Pairs whose baseline held-out accuracy lies in the band: the student's frontier whatever a run practised."""
    lo, hi = band
    return sorted(p for p, (c, n) in baseline.items() if n and lo <= accuracy(c, n) <= hi)


def by_space(pairs: list[Pair], distinct_tasks: Callable[[str, int], int]) -> tuple[list[Pair], list[Pair]]:
    """(open levels, small levels): `distinct_tasks(skill, level)` at least OPEN, or below."""
    open_ = [p for p in pairs if distinct_tasks(*p) >= OPEN]
    return open_, [p for p in pairs if p not in open_]


def holds(evals: dict[Pair, Counts], pairs: list[Pair]) -> bool:
    """Whether a round's evaluation answered every one of `pairs` (one evaluated in part,
    `eval.between_rounds`, may lack some): only then is its pooled accuracy over them comparable."""
    return all(p in evals for p in pairs)


def report(levels: dict[int, dict[Pair, Counts]], pairs: list[Pair], outcomes: Outcomes | None = None) -> FrontierReport:
    """Pooled accuracy over `pairs` at every round that evaluated them all (a round evaluated in part,
    `eval.between_rounds`, may lack some), and the gain from round 0 to the last."""
    curve = {str(r): pooled(ev, pairs) for r, ev in sorted(levels.items()) if holds(ev, pairs)}
    first, last = (curve[min(curve, key=int)], curve[max(curve, key=int)]) if curve else ((0, 0, 0), (0, 0, 0))
    paired = paired_gain(outcomes, pairs, int(min(curve, key=int)), int(max(curve, key=int))) if outcomes and curve else None
    return FrontierReport(
        pairs=[label(p) for p in pairs],
        heldout_tasks=first[2],
        accuracy={r: round(a, 4) for r, (a, _, _) in curve.items()},
        stderr={r: round(e, 4) for r, (_, e, _) in curve.items()},
        gain=round(last[0] - first[0], 4),
        # paired over the same held-out tasks when their outcomes were kept; else as independent samples
        gain_stderr=round(paired[1] if paired else math.hypot(first[1], last[1]), 4),
        gain_stderr_kind="paired" if paired else "independent",
    )


def frontiers(levels: dict[int, dict[Pair, Counts]], practice: dict[Pair, int], outcomes: Outcomes,
              distinct_tasks: Callable[[str, int], int]) -> dict[str, FrontierReport | None]:
    """A run's frontier reports: on the (skill, level) pairs it practised ("frontier"), and on the pairs whose
    baseline lies in BAND, whatever it practised ("frontier_band"), the latter also split into open and small
    levels (by_space). None before a baseline."""
    if 0 not in levels:
        return {"frontier": None, "frontier_band": None, "frontier_band_open": None, "frontier_band_small": None}
    band = band_pairs(levels[0])
    open_, small = by_space(band, distinct_tasks)
    return {"frontier": report(levels, practised_pairs(practice, levels[0]), outcomes=outcomes),
            "frontier_band": report(levels, band, outcomes=outcomes),
            "frontier_band_open": report(levels, open_, outcomes=outcomes),
            "frontier_band_small": report(levels, small, outcomes=outcomes)}


def attribute_gains(levels: dict[int, dict[Pair, Counts]],
                    examples: dict[int, dict[str, dict[Pair, int]]]) -> dict[str, float]:
    """What each strategy's own examples bought: over the rounds, the mean held-out change (this round's
    evaluation against the last) at the (skill, level) pairs its verified samples of the round sit at,
    summed over rounds. Pairs not evaluated both times (a round evaluated in part) are left out. Not the
    overall gain split by example counts, which credits a strategy with what another's examples did."""
    credit: dict[str, float] = {}
    for rnd, by_strategy in examples.items():
        before, after = levels.get(rnd - 1, {}), levels.get(rnd, {})
        delta = {p: accuracy(*after[p]) - accuracy(*before[p]) for p in before.keys() & after.keys()}
        for strategy, pairs in by_strategy.items():
            n = sum(c for p, c in pairs.items() if p in delta)
            if n:
                gain = sum(c * delta[p] for p, c in pairs.items() if p in delta) / n
                credit[strategy] = round(credit.get(strategy, 0.0) + gain, 4)
    return credit
