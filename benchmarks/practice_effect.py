"""What practice buys on held-out tasks, read off finished compares: for every frontier (skill, level) of
every run, its held-out gain against the samples the run spent on that level and on the skill's
prerequisites (any level). Pair fixed effects (each pair against its own mean over runs), least squares.

    python benchmarks/practice_effect.py runs/compare-A runs/compare-B ... [--round 3]

Prints points of held-out gain per 1000 samples, with standard errors. A curriculum can only beat random
where own practice pays; transfer along the skill graph is what would let a prerequisite-first order pay.
"""

from __future__ import annotations

import argparse
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from cosr.graphs.skills import SkillGraph
from cosr.store import TrajectoryStore
from cosr.training.evaluation import BAND, band_pairs


def readings(run: Path, rnd: int, prerequisites: dict[str, list[str]]) -> list[tuple[tuple[str, int], float, int, int]]:
    """((skill, level), gain in points, samples on the pair, samples on its prerequisites) per frontier pair."""
    store = TrajectoryStore(run / "store.sqlite")
    try:
        levels = store.evaluation_levels(run.name)
        own = Counter(store.practice(run.name, max_round=rnd))
    finally:
        store.close()
    if rnd not in levels:
        return []
    per_skill = Counter()
    for (s, _), n in own.items():
        per_skill[s] += n
    out = []
    for pair in band_pairs(levels[0], BAND):
        (c0, t), (c1, _) = levels[0][pair], levels[rnd][pair]
        out.append((pair, 100 * (c1 - c0) / t, own[pair], sum(per_skill[p] for p in prerequisites.get(pair[0], []))))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("compares", nargs="+", type=Path, help="compare folders (each holds <strategy>-s<seed>/store.sqlite)")
    ap.add_argument("--round", type=int, default=3, help="the round whose held-out gain is read")
    args = ap.parse_args()
    skills = SkillGraph.builtin()
    prerequisites = {s: skills.prerequisites(s) for s in skills.names()}
    groups: dict[tuple[Path, tuple[str, int]], list[tuple[float, int, int]]] = defaultdict(list)
    for compare in args.compares:
        for run in sorted(compare.glob("*-s*")):
            if (run / "store.sqlite").exists():
                for pair, gain, own, pre in readings(run, args.round, prerequisites):
                    groups[(compare, pair)].append((gain, own, pre))
    rows = []
    for obs in groups.values():
        if len(obs) > 1:  # a pair seen in one run says nothing within the pair
            mean = np.mean(obs, axis=0)
            rows += [np.subtract(o, mean) for o in obs]
    if not rows:
        raise SystemExit(f"no frontier level was read in two or more runs at round {args.round} under "
                         f"{', '.join(map(str, args.compares))} (finished compare folders expected)")
    data = np.array(rows)
    y, x = data[:, 0], data[:, 1:] / 1000
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    sigma2 = float(((y - x @ beta) ** 2).sum()) / (len(y) - x.shape[1])
    se = np.sqrt(np.diag(sigma2 * np.linalg.inv(x.T @ x)))
    print(f"{len(y)} (pair, run) readings, {len(groups)} pairs, held-out gain at round {args.round}")
    for name, b, e in zip(("own practice", "prerequisites' practice"), beta, se, strict=True):
        print(f"{name:24} {b:+.2f} ± {e:.2f} points per 1000 samples")


if __name__ == "__main__":
    main()
