"""Print the README's headline table from result files, so every figure there is read from a JSON a command wrote."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

NOISE = 3.0  # standard errors a difference must exceed to count (cosr/stats.py)
Row = tuple[str, str, str, str, str]  # what, split, figure, s.e., reading


def pts(x: float, sign: bool = True) -> str:
    return f"{x * 100:+.1f} pts" if sign else f"{x * 100:.1f} pts"


def reading(mean: float, se: float | None) -> str:
    if se is None or se == 0:
        return "no s.e."
    return f"noise (z {mean / se:+.1f})" if abs(mean) < NOISE * se else f"beyond {NOISE:.0f} s.e. (z {mean / se:+.1f})"


def from_summary(d: dict[str, Any]) -> list[Row]:
    split, who = d.get("split", "not recorded"), f"{d.get('strategy', '?')} run {d.get('run_id', '?')}"
    rows: list[Row] = []
    overall = d.get("heldout_overall") or {}
    if overall:
        last = max(overall, key=int)
        before = f"{overall['0']:.1%} -> " if "0" in overall else ""
        rows.append((f"held-out accuracy, all skills, {who}, before -> round {last}", split,
                     f"{before}{overall[last]:.1%}", "", ""))
    band = d.get("frontier_band") or {}
    if band.get("pairs"):
        pairs = band["pairs"] if isinstance(band["pairs"], int) else len(band["pairs"])
        se = band.get("gain_stderr")
        rows.append((f"gain on the {pairs} levels at 10-80% before ({band.get('heldout_tasks', '?')} tasks), {who}",
                     split, pts(band["gain"]), "" if se is None else pts(se, False), reading(band["gain"], se)))
    audit = d.get("audit")
    if isinstance(audit, dict):
        student = audit.get("student")
        extra = (f"; student: {student['leaks']} leaks in {student['checked']}" if isinstance(student, dict)
                 else "; student not audited" if student else "")
        rows.append((f"audit: held-out problems in what {who} trained on", split,
                     f"{audit.get('leaks', '?')} leaks in {audit.get('checked', '?')} checked{extra}", "", ""))
    return rows


def from_compare(d: dict[str, Any]) -> list[Row]:
    split, rows = d.get("split", "not recorded"), []
    for s in d.get("strategies", []):
        est = s.get("frontier_gain_estimate")
        if est:
            rows.append((f"frontier gain, {s['strategy']} ({s.get('seeds', '?')} seeds)", split, pts(est["mean"]),
                         "" if est["se"] is None else pts(est["se"], False), reading(est["mean"], est["se"])))
    for p in d.get("paired", []):
        for key, what in (("frontier_gain", "frontier gain"), ("learning_gain", "all-skills gain"),
                          ("tasks_to_milestone", "tasks to milestone")):
            est = p.get(key)
            if not est:
                continue
            tasks = key == "tasks_to_milestone"
            fig = f"{est['mean']:+.0f} tasks" if tasks else pts(est["mean"])
            se = "" if est["se"] is None else (f"{est['se']:.0f} tasks" if tasks else pts(est["se"], False))
            # a seed that never reached the milestone counts as the budget plus a round: the difference is then a
            # bound, and a standard error of bounds reads nothing
            read = (f"a bound ({est['bounded_seeds']} of {len(p['seeds'])} seeds never reached it)"
                    if est.get("bounded_seeds") else reading(est["mean"], est["se"]))
            rows.append((f"{what}, {p['strategy']} - {p['baseline']} (paired, {len(p['seeds'])} seeds)", split, fig, se, read))
    return rows


def from_eval(d: dict[str, Any]) -> list[Row]:
    per = d.get("per_skill") or {}
    n = sum(v["tasks"] for v in per.values())
    p = d["overall"]
    se = math.sqrt(p * (1 - p) / n) if n else None  # binomial, over the distinct held-out tasks
    adapter = f", adapter {d['adapter']}" if d.get("adapter") else ""
    what = f"held-out {d.get('metric', 'accuracy')}, all skills, {Path(d.get('student', 'embedded')).name} ({n} tasks{adapter})"
    return [(what, d.get("split", "not recorded"), f"{p:.1%}", "" if se is None else pts(se, False), "")]


def from_audit(d: dict[str, Any]) -> list[Row]:
    what = ", ".join(f"{n} {source}" for source, n in d.get("sources", {}).items()) or "nothing"
    return [(f"audit: held-out problems (both splits, levels {d['levels']}, up to {d['per_skill']} a skill) in {what}",
             "both", f"{len(d['leaks'])} leaks in {d['checked']} checked", "", "")]


def rows_of(path: Path) -> list[Row]:
    d = json.loads(path.read_text())
    if isinstance(d, dict) and "paired" in d and "rows" in d:
        return from_compare(d)
    if isinstance(d, dict) and "heldout_overall" in d:
        return from_summary(d)
    if isinstance(d, dict) and "metric" in d and "overall" in d:
        return from_eval(d)
    if isinstance(d, dict) and "leaks" in d and "checked" in d:
        return from_audit(d)
    raise ValueError("not a summary.json, a compare.json, a `cosr eval --json` or a `cosr audit --json` file")


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: python scripts/headline.py RESULT.json [...]  (summary.json, compare.json, cosr eval --json)",
              file=sys.stderr)
        return 2
    lines = ["| measured | split | figure | ± s.e. | reading | from |", "| --- | --- | --- | --- | --- | --- |"]
    for name in argv:
        path = Path(name)
        try:
            data_rows = rows_of(path)
            command = json.loads(path.read_text()).get("command")
        except (OSError, ValueError, KeyError, TypeError) as e:
            print(f"error: {path}: {e}", file=sys.stderr)
            return 2
        command = " ".join(command) if isinstance(command, list) else command
        source = f"`{command or path}`"
        lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in (*r, source)) + " |" for r in data_rows]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
