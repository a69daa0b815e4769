"""The tables of docs/teaching.md: what each part of the teacher adds, on against off, from the runs of a
`cosr compare` (scripts/teaching_ablation.sh, teaching_test.sh, teaching_levers.sh): paired differences seed for seed on the same held-out tasks,
with the standard error over tasks and seeds (training/stats.py); under 3 s.e. a difference reads as noise.

    python scripts/teaching_table.py runs/teaching-validation
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from cosr.training import leaderboard
from cosr.training.results import read_summary

# (part, its runs, the runs without it): each part against the configuration that lacks only it
PARTS = [("graded help", "zpd", "zpd-plain"), ("learning from mistakes (clipped RLOO)", "zpd-rloo", "zpd"),
         ("teacher of teachers (bandit over arms)", "teachers", "zpd"),
         ("helped answers trained on the bare task (form bare)", "zpd-bare", "zpd"),
         ("a hint rung first, picked by the RLT reward", "zpd-hint", "zpd"),
         ("zpd against the threshold rule", "zpd", "threshold"), ("zpd against random", "zpd", "random"),
         ("twice the learning rate, 2e-3 (scripts/teaching_levers.sh)", "zpd-lr2e-3", "zpd"),
         ("twice the epochs, 6 (scripts/teaching_levers.sh)", "zpd-epochs6", "zpd"),
         ("worked solution as a last rung, trained on the bare task (scripts/teaching_demo.sh)", "zpd-demo", "zpd-plain"),
         ("worked solution as the only rung, bare (scripts/teaching_demo.sh)", "zpd-demo-only", "zpd-plain"),
         ("2 worked examples a failure within reach (scripts/teaching_worked.sh)", "zpd-worked2", "zpd-plain"),
         ("6 worked examples a failure within reach (scripts/teaching_worked.sh)", "zpd-worked6", "zpd-plain"),
         ("6 worked examples, one epoch against three", "zpd-worked6-e1", "zpd-worked6"),
         ("18 worked examples at one epoch against 6 at three (the same compute)", "zpd-worked18-e1", "zpd-worked6")]
NOISE = 3.0


def pts(est: dict | None) -> str:
    if not est:
        return "n/a"
    z = est["mean"] / est["se"] if est.get("se") else None
    reading = "" if z is None else f" (z {z:+.1f}{', noise' if abs(z) < NOISE else ''})"
    return f"{est['mean'] * 100:+.1f} ± {est['se'] * 100:.1f}{reading}" if est.get("se") else f"{est['mean'] * 100:+.1f}"


def main(compare_dir: Path) -> None:
    data = json.loads((compare_dir / "compare.json").read_text())
    rows = data["rows"]
    outcomes = {(r["strategy"], r["seed"]): leaderboard.task_outcomes(read_summary(Path(r["run_dir"]) / "summary.json"))
                for r in rows}
    pairs = leaderboard.frontier_pairs(rows)
    seeds = sorted({r["seed"] for r in rows})
    print(f"split {data['split']}, {data['rounds']} rounds x {data['tasks_per_round']} tasks, seeds {seeds}, "
          f"{rows[0]['frontier_heldout_tasks']} frontier held-out tasks ({len(pairs)} levels)\n")
    summaries = {(r["strategy"], r["seed"]): read_summary(Path(r["run_dir"]) / "summary.json") for r in rows}
    print("| entry | frontier gain (pts) | all-skills gain (pts) | tasks to +{:.0f} pts (reached) | failed tasks solved "
          "with help, a round |".format(data["milestone"] * 100))
    print("|---|---|---|---|---|")
    for agg in data["strategies"]:
        t = agg["tasks_to_milestone_all"]
        helped = [rr.helped or 0 for (e, _), s in summaries.items() if e == agg["strategy"] for rr in s.rounds.values()]
        print(f"| {agg['strategy']} | {pts(agg['frontier_gain_estimate'])} | {pts(agg['learning_gain_estimate'])} | "
              f"{t[0]:.0f} ({agg['reached']}/{agg['seeds']}) | {min(helped)}-{max(helped)} |")
    print("\n| part | on | off | frontier, on - off (pts) | all skills, on - off (pts) |")
    print("|---|---|---|---|---|")
    for part, on, off in PARTS:
        if not any(r["strategy"] == on for r in rows) or not any(r["strategy"] == off for r in rows):
            continue
        mine, base = [outcomes[(on, s)] for s in seeds], [outcomes[(off, s)] for s in seeds]
        front = leaderboard.gain_estimate(mine, pairs, base)
        every = leaderboard.gain_estimate(mine, None, base)
        print(f"| {part} | {on} | {off} | {pts(front and front.as_dict())} | {pts(every and every.as_dict())} |")
    for (entry, seed), s in summaries.items():  # the bandit: what each arm's examples bought, and its share
        if entry != "teachers":
            continue
        print(f"\nteachers, seed {seed}: per round, each arm's validation gain (pts) and share of the round's samples")
        for rnd, rr in sorted(s.rounds.items()):
            own = {k: v for k, v in rr.examples_by_strategy.items() if k in (rr.teachers or {})}
            total = sum(own.values()) or 1
            print(f"  round {rnd}: " + ", ".join(f"{arm} {a['gain'] * 100:+.1f} ({own.get(arm, 0) / total:.2f})"
                                                 for arm, a in sorted((rr.teachers or {}).items())))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
