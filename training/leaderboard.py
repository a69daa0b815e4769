"""The leaderboard of teaching strategies: how `cosr compare` sets up its runs (CompareSpec, run_config) and
reads them back, several self-play runs side by side from the same starting student, seeds, held-out set
and task budget, reduced to learning curves, learning gain and the number of tasks each strategy needed
to reach a milestone. Running them is graphs/compare.py's business.

Held-out accuracy can only change when the student's weights change, i.e. after a LoRA round, so a
curve has one point per round; finer milestones come from smaller rounds (`tasks_per_round`). Every
round of every run is exactly `tasks_per_round` tasks (the round closes on tasks, not on verified
count), so the x axis, "tasks verified", is the same budget for every strategy.

The *frontier* is the set of (skill, level) pairs whose baseline (round 0) held-out accuracy lies in
`frontier = (low, high)`: partly learned, room to grow. A skill's mean over its levels hides where a
run taught (one level rises while the others stay), so the frontier is read per level, pooled over
the pairs' held-out tasks (training/evaluation.py). The baseline is the same for every run (one student,
one held-out set, greedy evaluation), so every strategy is judged on the same pairs.
`tasks_to_milestone` is the number of tasks verified before the pooled frontier accuracy first
reached the milestone (None if it never did): an absolute accuracy, or a gain over the baseline
(`milestone_gain=True`; the embedded student starts its frontier at 10-60%, where 80% is out of
reach of a CPU-sized budget and every strategy would read "never").

Runs are measured on one held-out split (`split`, eval.split): settings and the milestone are chosen on
`validation` runs (`milestone_from`), results reported on `test` runs. Gains carry a standard error over
the distinct held-out tasks and the seeds (training/stats.py), and every strategy is set against the first
one listed, the baseline, seed for seed on the same tasks (`paired`).

An entry of the compare is a strategy or a *variant*, a label for a strategy under other settings (an ablation:
`CompareSpec.variants`); its runs, rows and aggregates go by the label.
"""

from __future__ import annotations

import json
import math
import statistics
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from cosr.config import RunConfig, _merge, _nest
from cosr.store import TrajectoryStore
from cosr.training import evaluation, stats
from cosr.training.evaluation import BAND
from cosr.training.results import RunSummary


@dataclass(frozen=True)
class CompareSpec:
    strategies: list[str]
    seeds: list[int]
    out_dir: Path
    rounds: int = 3
    tasks_per_round: int = 2000
    # A gain over the baseline frontier accuracy: what the baseline strategy reaches with the whole budget,
    # rounded down to half a point, so "tasks to milestone" reads how much sooner a curriculum gets where the
    # baseline ends. This default was chosen on the held-out set of before the validation/test splits
    # (docs/history.md); `milestone_from` applies the same rule to a validation compare, which is how a
    # test result's milestone is to be chosen.
    milestone: float = 0.015
    milestone_gain: bool = True  # milestone is a gain over the baseline frontier accuracy, not an accuracy
    frontier: tuple[float, float] = BAND
    split: Literal["validation", "test"] = "test"  # the held-out split every run is measured on (eval.split)
    # Ablations (`--variant`): label -> (strategy, {dotted setting: value}), the strategy under other settings. A
    # label stands in `strategies` like a strategy name, and names its runs, rows and aggregates.
    variants: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)

    def curriculum(self, entry: str) -> str:
        """The registered strategy an entry of `strategies` runs: a variant's, or the entry itself."""
        return self.variants[entry][0] if entry in self.variants else entry


# What tells the runs of one compare apart, and how long they run (a compare may be taken on to more rounds);
# everything else must match for a stored run to be reused, resumed or shared. Which levels a round in the
# middle evaluates changes nothing a run learns: runs of another --frontier (or of an older cosr, which
# evaluated all) are read where they evaluated every frontier pair (`row`).
NOT_COMPARED = {"run_id", "run_dir", "seed", "curator.strategy", "rounds", "max_steps", "eval.between_rounds"}
# What a variant may not set: what the compare sets itself (above, and each round's budget), and what every run is
# measured on, one held-out set of one skill graph (paired differences are read task for task).
SET_BY_COMPARE = NOT_COMPARED | {"runs_root", "eval", "skills", "training.max_tasks_per_round", "training.every_verified"}


def under(key: str, names: set[str] | tuple[str, ...]) -> bool:
    """Whether dotted setting `key` is one of `names` or inside one of them (a section)."""
    return any(key == n or key.startswith(n + ".") for n in names)


# What a run's baseline evaluation and rehearsal set depend on: the student's greedy answers to held-out and
# training tasks in the sandbox. Runs share them (graphs/compare.py) only where they agree on it: a variant of
# other curriculum or training settings shares them, one of another student makes its own.
SHARED = ("student", "sandbox", "skills", "eval", "training.rehearsal_per_level", "training.rehearsal_seed",
          "training.device")
NOT_SHARED = ("student.temperature", "student.samples_per_task")  # self-play's sampling, not the greedy answers'


def same_start(a: RunConfig, b: RunConfig | None) -> bool:
    """Whether runs of configurations `a` and `b` (None: unknown) have the same baseline and rehearsal set."""
    return b is not None and not any(under(k, SHARED) and not under(k, NOT_SHARED) for k in config_differences(a, b))


def run_config(base: RunConfig, spec: CompareSpec, entry: str, seed: int) -> RunConfig:
    """The configuration of run `{entry}-s{seed}`: the base, a variant's settings on it, then what the compare
    sets. ValueError naming the variant where its settings are not valid."""
    cfg = base.model_copy(deep=True)
    if entry in spec.variants:
        overrides = spec.variants[entry][1]
        if fixed := sorted(k for k in overrides if under(k, SET_BY_COMPARE)):
            raise ValueError(f"--variant {entry}: {', '.join(fixed)} cannot differ between the runs of a compare "
                             "(set by the compare itself, or what every run is measured on)")
        try:
            cfg = RunConfig.model_validate(_merge(base.model_dump(), _nest(overrides)))
        except ValidationError as e:
            problems = "; ".join(f"{'.'.join(map(str, err['loc']))}: {err['msg']}" for err in e.errors())
            raise ValueError(f"--variant {entry}: invalid setting ({problems})") from None
    run_id = f"{entry}-s{seed}"
    cfg.run_id, cfg.run_dir, cfg.seed, cfg.rounds = run_id, spec.out_dir / run_id, seed, spec.rounds
    cfg.curator.strategy = spec.curriculum(entry)
    cfg.eval.split = spec.split
    # Between rounds only the frontier levels, what the milestone is read on; every task at round 0 and the last.
    cfg.eval.between_rounds = spec.frontier
    # A round closes after exactly tasks_per_round tasks whatever the strategy (verified <= tasks).
    cfg.training.max_tasks_per_round = spec.tasks_per_round
    cfg.training.every_verified = spec.tasks_per_round + 1
    cfg.max_steps = max(cfg.max_steps, spec.rounds * cfg.steps_per_round() + 2)
    return RunConfig.model_validate(cfg.model_dump())


def config_differences(a: RunConfig, b: RunConfig) -> list[str]:
    """Dotted names of the settings two run configurations disagree on, leaving out what tells runs apart."""
    def flat(d: dict, pre: str = "") -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in d.items():
            out.update(flat(v, f"{pre}{k}.") if isinstance(v, dict) else {f"{pre}{k}": v})
        return out
    x, y = flat(a.model_dump(mode="json")), flat(b.model_dump(mode="json"))
    return sorted(k for k in x.keys() | y.keys() if k not in NOT_COMPARED and x.get(k) != y.get(k))


def curve(summary: RunSummary) -> list[dict[str, Any]]:
    """One point per evaluation: tasks and tasks solved so far, held-out accuracy per skill (None after a
    round evaluated in part, `eval.between_rounds`), and (solved, total) per (skill, level) pair."""
    points, tasks, correct = [], 0, 0
    for r in sorted(summary.heldout_levels, key=int):
        if r != "0" and (info := summary.rounds.get(int(r))) is not None:
            tasks += info.tasks
            correct += info.verified
        points.append({"round": int(r), "tasks": tasks, "correct": correct, "accuracy": summary.heldout_accuracy.get(r),
                       "levels": {evaluation.parse_label(k): v for k, v in summary.heldout_levels[r].items()}})
    return points


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs) if xs else 0.0


def row(summary: RunSummary, spec: CompareSpec, distinct_tasks: Callable[[str, int], int] | None = None) -> dict[str, Any]:
    """One leaderboard row; with `distinct_tasks` (SkillGraph.distinct_tasks) also the frontier gain on its
    open and its small levels (evaluation.by_space)."""
    points = curve(summary)
    pairs = evaluation.band_pairs(points[0]["levels"], spec.frontier)
    # A round evaluated in part (eval.between_rounds) counts where it holds every frontier pair (another
    # --frontier re-reading the runs may ask for pairs it skipped) and nowhere else.
    points = [p for i, p in enumerate(points) if i in (0, len(points) - 1) or evaluation.holds(p["levels"], pairs)]
    first, last = points[0]["accuracy"], points[-1]["accuracy"]
    front = [evaluation.pooled(p["levels"], pairs)[0] for p in points]
    target = front[0] + spec.milestone if spec.milestone_gain else spec.milestone
    reached = next((p["tasks"] for p, f in zip(points, front, strict=True) if pairs and f >= target - 1e-9), None)
    split = {}
    if distinct_tasks is not None:
        for name, part in zip(("open", "small"), evaluation.by_space(pairs, distinct_tasks), strict=True):
            acc = [evaluation.pooled(p["levels"], part)[0] for p in points]
            split[f"frontier_{name}_pairs"] = len(part)
            split[f"frontier_{name}_gain"] = round(acc[-1] - acc[0], 4)
    entry, seed = summary.run_id.rsplit("-s", 1)  # a variant's label, not its strategy (summary.strategy)
    return {
        "strategy": entry,
        "seed": int(seed),
        "split": spec.split,
        "run_dir": summary.run_dir,
        "rounds": summary.rounds_completed,
        "verified_tasks": summary.tasks,  # every task the verifier judged (each with samples_per_task samples)
        "verified_correct": summary.tasks_solved,  # tasks with a sample verified correct
        "tasks_to_milestone": reached,
        "milestone": round(target, 4),
        "frontier_pairs": [evaluation.label(p) for p in pairs],
        "frontier_heldout_tasks": evaluation.pooled(points[0]["levels"], pairs)[2],
        "frontier_accuracy_before": round(front[0], 4),
        "frontier_accuracy": round(front[-1], 4),
        "frontier_gain": round(front[-1] - front[0], 4),
        **split,
        "heldout_accuracy_before": round(_mean(list(first.values())), 4),
        "heldout_accuracy": round(_mean(list(last.values())), 4),
        "learning_gain": round(_mean(list(last.values())) - _mean(list(first.values())), 4),
        "final_accuracy": last,
        "curve": [{"tasks": p["tasks"], "correct": p["correct"], "frontier": round(f, 4),
                   "overall": None if p["accuracy"] is None else round(_mean(list(p["accuracy"].values())), 4)}
                  for p, f in zip(points, front, strict=True)],
    }


def never_reached(spec: CompareSpec) -> int:
    """What a run that never reached the milestone counts as in the mean over seeds: the earliest it could
    still reach it, one round past the budget. A lower bound, so the mean understates (never overstates)
    the lead of a strategy that reaches the milestone where another does not."""
    return (spec.rounds + 1) * spec.tasks_per_round


RunKey = tuple[str, int]  # (entry: a strategy or a variant's label, seed)


def task_outcomes(summary: RunSummary) -> evaluation.Outcomes:
    """Each held-out task's outcome at every round, from the run's store: what the standard errors are over."""
    store = TrajectoryStore(Path(summary.run_dir) / "store.sqlite")
    try:
        return store.evaluation_tasks(summary.run_id)
    finally:
        store.close()


def gain_estimate(runs: list[evaluation.Outcomes], pairs: list[evaluation.Pair] | None,
          baseline: list[evaluation.Outcomes] | None = None) -> stats.Estimate | None:
    """Gain (last round minus round 0) per held-out task and seed, less the baseline's on the same seed and task
    when given, over the tasks every run answered: its mean with the two-way error (stats.two_way). Over
    `pairs`, pooled (the frontier); over every pair (None), each skill weighted alike, as `learning_gain` is a
    mean over skills. None where there is no task to read (no frontier level, or stores of an older cosr
    without per-task outcomes)."""
    tables = [evaluation.answers(o, pairs) for o in runs + (baseline or [])]
    tasks = sorted(set.intersection(*(set(t) for t in tables)))
    if not tasks:
        return None
    gains = [[a[t][2] - a[t][1] for t in tasks] for a in tables]
    if baseline:  # the strategy's runs first, then the baseline's, seed for seed
        k = len(runs)
        gains = [[g - b for g, b in zip(mine, base, strict=True)]
                 for mine, base in zip(gains[:k], gains[k:], strict=True)]
    weights = None
    if pairs is None:  # a mean over skills: each skill weighs alike, whatever its count of distinct tasks
        n = Counter(tables[0][t][0] for t in tasks)
        weights = [1 / n[tables[0][t][0]] for t in tasks]
    return stats.two_way(gains, weights)


def frontier_pairs(rows: list[dict[str, Any]]) -> list[evaluation.Pair]:
    return [evaluation.parse_label(p) for p in rows[0]["frontier_pairs"]]  # one baseline, the same for every run


def _dict(est: stats.Estimate | None) -> dict[str, Any] | None:
    return None if est is None else est.as_dict()


def aggregate(rows: list[dict[str, Any]], never: int,
              outcomes: dict[RunKey, evaluation.Outcomes] | None = None) -> list[dict[str, Any]]:
    """Per strategy over seeds: mean and spread (sample sd) of the headline figures. `tasks_to_milestone` is
    over the seeds that reached it, `tasks_to_milestone_all` over every seed with `never` for those that did not.
    From the runs' per-task `outcomes` (None without), the frontier and all-skills gains with their standard
    error over distinct tasks and seeds (`frontier_gain_estimate`, `learning_gain_estimate`: stats.Estimate.as_dict)."""
    out = []
    for strategy in dict.fromkeys(r["strategy"] for r in rows):
        mine = [r for r in rows if r["strategy"] == strategy]
        runs = [outcomes[(strategy, r["seed"])] for r in mine] if outcomes else []
        reached = [r["tasks_to_milestone"] for r in mine if r["tasks_to_milestone"] is not None]
        every = [never if r["tasks_to_milestone"] is None else r["tasks_to_milestone"] for r in mine]

        def ms(key: str, rs: list = mine) -> tuple[float, float]:
            xs = [r[key] for r in rs]
            return _mean(xs), statistics.stdev(xs) if len(xs) > 1 else 0.0

        out.append({"strategy": strategy, "seeds": len(mine), "reached": len(reached),
                    "tasks_to_milestone": (_mean(reached), statistics.stdev(reached) if len(reached) > 1 else 0.0)
                    if reached else None,
                    "tasks_to_milestone_all": (_mean(every), statistics.stdev(every) if len(every) > 1 else 0.0),
                    "heldout_accuracy": ms("heldout_accuracy"), "frontier_accuracy": ms("frontier_accuracy"),
                    "frontier_gain": ms("frontier_gain"),
                    **{k: ms(k) for k in ("frontier_open_gain", "frontier_small_gain") if k in mine[0]},
                    "learning_gain": ms("learning_gain"), "verified_correct": ms("verified_correct"),
                    "verified_tasks": ms("verified_tasks"),
                    "final_accuracy": {s: _mean([r["final_accuracy"][s] for r in mine]) for s in mine[0]["final_accuracy"]},
                    "frontier_gain_estimate": _dict(gain_estimate(runs, frontier_pairs(rows))) if runs else None,
                    "learning_gain_estimate": _dict(gain_estimate(runs, None)) if runs else None})
    return out


def paired(rows: list[dict[str, Any]], never: int, outcomes: dict[RunKey, evaluation.Outcomes]) -> list[dict[str, Any]]:
    """Every strategy against the first one listed (the baseline: random by default), seed for seed on the
    same held-out tasks: the difference in frontier gain (the baseline's round 0 is every run's, so this is
    also the difference in final frontier accuracy) and in all-skills gain, with the two-way error over tasks
    and seeds; and in tasks to the milestone, one figure per run, with the error over seeds (a seed that never
    reached it counted as `never`, as in `aggregate`: where either run did not, a difference of bounds,
    counted in `bounded_seeds`). A strategy identical to the baseline differs by 0 everywhere."""
    names = list(dict.fromkeys(r["strategy"] for r in rows))
    by = {(r["strategy"], r["seed"]): r for r in rows}
    out = []
    for name in names[1:]:
        seeds = sorted(s for n, s in by if n == name and (names[0], s) in by)
        mine, base = [outcomes[(name, s)] for s in seeds], [outcomes[(names[0], s)] for s in seeds]
        steps = [[never if by[(n, s)]["tasks_to_milestone"] is None else by[(n, s)]["tasks_to_milestone"]
                  for n in (name, names[0])] for s in seeds]
        out.append({"strategy": name, "baseline": names[0], "seeds": seeds,
                    "frontier_gain": _dict(gain_estimate(mine, frontier_pairs(rows), base)),
                    "learning_gain": _dict(gain_estimate(mine, None, base)),
                    "tasks_to_milestone": {**stats.over_seeds([a - b for a, b in steps]).as_dict(),
                                           "bounded_seeds": sum(never in s for s in steps)}})
    return out


def results(rows: list[dict[str, Any]], spec: CompareSpec, never: int, outcomes: dict[RunKey, evaluation.Outcomes],
            milestone_note: str | None = None) -> dict[str, Any]:
    """compare.json: the settings its figures depend on (the split first) and what each variant is, one row per
    run, the aggregate per strategy (or variant) and the paired differences against the baseline."""
    return {"split": spec.split, "rounds": spec.rounds, "tasks_per_round": spec.tasks_per_round,
            "frontier": list(spec.frontier), "milestone": spec.milestone, "milestone_gain": spec.milestone_gain,
            "milestone_from": milestone_note, "never_counts_as": never,
            "variants": {label: {"strategy": strategy, "overrides": overrides}
                         for label, (strategy, overrides) in spec.variants.items()},
            "rows": rows, "strategies": aggregate(rows, never, outcomes), "paired": paired(rows, never, outcomes)}


def milestone_from(compare_dir: Path, base: RunConfig, spec: CompareSpec) -> tuple[float, str]:
    """The milestone chosen on a `validation` compare, to judge `test` runs by: the frontier gain its baseline
    (this compare's first strategy) reached with the whole budget, mean over its seeds, rounded down to half a
    point. Refused where that compare was not on validation or not of this compare's settings and budget (the
    gain of another budget is another milestone). Returns (gain, a line saying where it came from)."""
    path = compare_dir / "compare.json"
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise ValueError(f"--milestone-from: cannot read {path} ({e})") from None
    if not isinstance(data, dict) or "split" not in data:
        raise ValueError(f"--milestone-from: {path} was written by an older cosr (no split recorded): "
                         "rerun that compare")
    if data["split"] != "validation":
        raise ValueError(f"--milestone-from: {compare_dir} was measured on the {data['split']} split; a milestone "
                         "is chosen on validation runs (cosr compare --split validation)")
    baseline = spec.strategies[0]
    mine = next((a for a in data["strategies"] if a["strategy"] == baseline), None)
    configs = sorted(compare_dir.glob(f"{baseline}-s*/config.json"))
    if mine is None or not configs:
        raise ValueError(f"--milestone-from: {compare_dir} has no {baseline} runs (this compare's baseline)")
    stored = RunConfig.stored(configs[0].read_text())
    diff = [k for k in config_differences(run_config(base, spec, baseline, 0), stored) if k != "eval.split"]
    diff += [k for k, ours in (("rounds", spec.rounds), ("frontier", list(spec.frontier))) if data[k] != ours]
    if diff:
        raise ValueError(f"--milestone-from: {compare_dir} was run with other settings ({', '.join(diff)}): "
                         "choose the milestone on a validation compare of the same settings")
    gain = mine["frontier_gain"][0]
    value = math.floor(gain * 200 + 1e-9) / 200  # down to half a point; the 1e-9 keeps 0.015 from reading 0.01499..
    if value <= 0:
        raise ValueError(f"--milestone-from: {baseline} gained {gain:+.2%} on the frontier in {compare_dir}: "
                         "no milestone above the baseline to choose")
    return value, (f"milestone +{value:.1%}: {baseline}'s mean frontier gain on validation ({gain:+.2%}, "
                   f"{mine['seeds']} seeds, {compare_dir}) rounded down to half a point")
