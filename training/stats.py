"""Standard errors of a compare's figures over the two things that make them noisy: which held-out tasks
were drawn and which seeds were run. A difference under `NOISE` standard errors is read as noise."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

NOISE = 3.0  # standard errors a difference must exceed before the compare calls it more than noise


@dataclass(frozen=True)
class Estimate:
    """A mean with its standard error. `se_tasks` / `se_seeds` are the one-way parts (the spread of the task
    means over tasks, of the seed means over seeds); None where that dimension is absent or has one member:
    one seed has no seed spread, so its `se` is that of the tasks alone (or None for a per-run figure)."""

    mean: float
    se: float | None
    tasks: int | None  # distinct held-out tasks; None for a figure with one value per run (tasks to milestone)
    seeds: int
    se_tasks: float | None = None
    se_seeds: float | None = None

    @property
    def z(self) -> float | None:
        return self.mean / self.se if self.se else None

    @property
    def noise(self) -> bool:
        """Under NOISE standard errors, no difference at all, or no error to judge it by (one seed)."""
        return self.se is None or self.mean == 0 or abs(self.mean) < NOISE * self.se

    def as_dict(self) -> dict[str, Any]:
        def r(x: float | None) -> float | None:
            return None if x is None else round(x, 5)
        return {"mean": r(self.mean), "se": r(self.se), "z": None if self.z is None else round(self.z, 2),
                "noise": self.noise, "tasks": self.tasks, "seeds": self.seeds,
                "se_tasks": r(self.se_tasks), "se_seeds": r(self.se_seeds)}


def two_way(cells: list[list[float]], weights: list[float] | None = None) -> Estimate:
    """Mean of `cells[seed][task]` (every seed on the same distinct tasks; `weights` per task, default equal)
    and its standard error over tasks and seeds.

    Model: cell = mean + a_task + b_seed + e. Every run answers the same held-out tasks, so a task's effect is
    shared by every seed, and a seed's by every task: neither the spread over tasks nor that over seeds alone
    measures the error. Var(mean) = sum(w^2) sa^2 + sb^2 / S + sum(w^2) se^2 / S. The spread of the task
    means measures the first and third terms, the spread of the seed means the second and third, so adding
    the two one-way errors (se_tasks^2 + se_seeds^2) counts the residual twice; its mean square, measured from
    the cells' interaction, is taken off once. This is the ANOVA estimator of a two-way crossed design (for a
    mean, the same sum as Cameron, Gelbach & Miller's two-way cluster-robust variance), with each variance
    component kept at zero or above. A pigeonhole bootstrap over tasks and seeds (Owen 2007) also counts the
    residual more than once, and three seeds give it ten distinct resamples; the closed form is unbiased
    under the model and needs no random draws. With one seed only the task term is measured."""
    S, T = len(cells), len(cells[0])
    total = sum(weights) if weights else T
    w = [x / total for x in weights] if weights else [1 / T] * T
    x = [sum(row[t] for row in cells) / S for t in range(T)]  # per task, over seeds
    d = [sum(wt * v for wt, v in zip(w, row, strict=True)) for row in cells]  # per seed, over tasks
    mean = sum(d) / S
    k = T / (T - 1) if T > 1 else 0.0  # the small-sample factor of a weighted mean's variance; none from one task
    v_tasks = k * sum(wt * wt * (xt - mean) ** 2 for wt, xt in zip(w, x, strict=True))
    if S == 1:
        return Estimate(mean, math.sqrt(v_tasks), T, 1, se_tasks=math.sqrt(v_tasks))
    v_seeds = sum((ds - mean) ** 2 for ds in d) / (S - 1) / S
    v_cells = k * sum(w[t] ** 2 * sum((row[t] - x[t] - ds + mean) ** 2 for row, ds in zip(cells, d, strict=True))
                      for t in range(T)) / (S * (S - 1))
    var = max(v_tasks - v_cells, 0.0) + max(v_seeds - v_cells, 0.0) + v_cells
    return Estimate(mean, math.sqrt(var), T, S, se_tasks=math.sqrt(v_tasks), se_seeds=math.sqrt(v_seeds))


def over_seeds(values: list[float]) -> Estimate:
    """Mean of one figure per seed and its standard error over seeds (None from one seed: no seed spread)."""
    S = len(values)
    mean = sum(values) / S
    if S == 1:
        return Estimate(mean, None, None, 1)
    se = math.sqrt(sum((v - mean) ** 2 for v in values) / (S - 1) / S)
    return Estimate(mean, se, None, S, se_seeds=se)
