"""The pictures of held-out accuracy: a run's learning curve per skill and overall after every round, and a
compare's curves per strategy (matplotlib is imported when a picture is drawn)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def learning_curve(accuracy: dict[str, dict[str, float]], out: Path, title: str = "held-out accuracy") -> Path:
    """accuracy: str(round) -> skill -> accuracy, round "0" the baseline. Writes a PNG."""
    import matplotlib

    matplotlib.use("Agg")  # files only; no display here or in CI
    import matplotlib.pyplot as plt

    rounds = sorted(accuracy, key=int)
    xs = [int(r) for r in rounds]
    skills = sorted({s for per in accuracy.values() for s in per})
    fig, ax = plt.subplots(figsize=(8, 5), dpi=100)
    for s in skills:
        ax.plot(xs, [accuracy[r].get(s, float("nan")) for r in rounds], alpha=0.45, linewidth=1, label=s)
    overall = [sum(accuracy[r].values()) / max(1, len(accuracy[r])) for r in rounds]
    ax.plot(xs, overall, color="black", linewidth=2.5, marker="o", label="mean")
    ax.set(xlabel="training round (0 = before)", ylabel="held-out accuracy", title=title, ylim=(0, 1), xticks=xs)
    ax.legend(fontsize=7, ncol=2, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
    return out


def compare_curves(rows: list[dict[str, Any]], path: Path) -> Path:
    """A compare's learning curves (its leaderboard rows): mean over seeds (line) and min-max (band), the
    frontier pairs pooled and all skills, with the milestone."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharex=True)
    for ax, key, title in ((axes[0], "frontier", "frontier levels"), (axes[1], "overall", "all skills")):
        for strategy in dict.fromkeys(r["strategy"] for r in rows):
            curves = [r["curve"] for r in rows if r["strategy"] == strategy]
            n = min(len(c) for c in curves)
            # "overall" is None after a round evaluated in part (eval.between_rounds): no point there
            at = [i for i in range(n) if all(c[i][key] is not None for c in curves)]
            xs = [curves[0][i]["tasks"] for i in at]
            ys = [[c[i][key] for c in curves] for i in at]
            line, = ax.plot(xs, [sum(y) / len(y) for y in ys], marker="o", label=strategy)
            ax.fill_between(xs, [min(y) for y in ys], [max(y) for y in ys], alpha=0.15, color=line.get_color())
        if key == "frontier":
            ax.axhline(rows[0]["milestone"], ls="--", c="grey", lw=1)
        ax.set(title=f"held-out accuracy, {title}", xlabel="tasks verified", ylabel="accuracy")
        ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
