"""The learning-curve picture of a run: held-out accuracy per skill and overall after every round."""

from __future__ import annotations

from pathlib import Path


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
