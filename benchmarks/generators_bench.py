"""Milliseconds per task for every registered skill generator and level: self-play draws thousands.

    python benchmarks/generators_bench.py [--tasks 300]

The first task of a generator pays one-time costs (reasoning-gym's import, dataset construction);
it is timed separately as "first" and left out of the per-task figures.
"""

from __future__ import annotations

import argparse
import time

from cosr.graphs.skills.catalog import GENERATORS, generate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=300, help="tasks per generator and level")
    args = parser.parse_args()
    print(f"{'generator':<24} {'first ms':>9} " + " ".join(f"{'L' + str(n) + ' ms':>8}" for n in range(1, 6)))
    for name in GENERATORS:
        start = time.perf_counter()
        generate(name, 1, -1)
        first = (time.perf_counter() - start) * 1e3
        per_level = []
        for level in range(1, GENERATORS.get(name).levels + 1):
            generate(name, level, -1)  # builds any per-level cache
            start = time.perf_counter()
            for seed in range(args.tasks):
                generate(name, level, seed)
            per_level.append((time.perf_counter() - start) * 1e3 / args.tasks)
        print(f"{name:<24} {first:>9.1f} " + " ".join(f"{ms:>8.3f}" for ms in per_level))


if __name__ == "__main__":
    main()
