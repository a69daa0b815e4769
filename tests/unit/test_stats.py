"""The standard errors of a compare: over distinct tasks and over seeds, each measured, neither counted twice."""

from __future__ import annotations

import math
import random

import pytest

from cosr.training.stats import Estimate, over_seeds, two_way


def test_with_no_interaction_the_task_and_seed_errors_add():
    # cell = task effect + seed effect exactly: task means 0.25/1.25 (sd 0.577 over 4 tasks), seed means 0.5/1.0
    est = two_way([[0, 1, 0, 1], [0.5, 1.5, 0.5, 1.5]])
    assert est.mean == 0.75 and (est.tasks, est.seeds) == (4, 2)
    assert est.se_tasks == pytest.approx(math.sqrt(1 / 12)) and est.se_seeds == pytest.approx(math.sqrt(1 / 16))
    assert est.se == pytest.approx(math.sqrt(1 / 12 + 1 / 16))


def test_the_residual_is_counted_once_as_the_two_way_anova_says():
    rng = random.Random(7)
    S, T = 3, 60
    skill = [rng.random() for _ in range(T)]
    cells = [[float(rng.random() < 0.2 + 0.6 * skill[t] + 0.1 * k) for t in range(T)] for k in range(S)]
    x = [sum(c[t] for c in cells) / S for t in range(T)]
    d = [sum(c) / T for c in cells]
    m = sum(d) / S
    ms_t = S * sum((v - m) ** 2 for v in x) / (T - 1)
    ms_s = T * sum((v - m) ** 2 for v in d) / (S - 1)
    ms_e = sum((cells[k][t] - x[t] - d[k] + m) ** 2 for k in range(S) for t in range(T)) / ((S - 1) * (T - 1))
    assert ms_t > ms_e and ms_s > ms_e  # both variance components above zero: no clipping in this draw
    est = two_way(cells)
    assert est.se == pytest.approx(math.sqrt((ms_t + ms_s - ms_e) / (S * T)))
    # below the sum of the one-way errors, which counts the residual twice
    assert est.se < math.hypot(est.se_tasks, est.se_seeds)


def test_a_component_estimated_below_zero_counts_as_zero():
    # pure interaction: the seed means agree (no seed spread), the residual is all there is
    est = two_way([[1, 0, 1, 0], [1, 1, 0, 0]])
    assert est.mean == 0.5 and est.se_seeds == 0
    assert est.se == pytest.approx(math.sqrt(1 / 24))  # residual mean square 1/3 over 2 x 4 cells


def test_one_seed_has_the_error_over_tasks_alone():
    diffs = [0, 1, 0, 0, 1, 0, 0, 0]
    est = two_way([diffs])
    sd = math.sqrt(sum((v - 0.25) ** 2 for v in diffs) / 7)
    assert est.mean == 0.25 and est.se == pytest.approx(sd / math.sqrt(8)) and est.se_seeds is None
    assert est.as_dict()["seeds"] == 1


def test_weights_give_a_mean_over_groups():
    # skill A: 3 tasks (gain 1 each); skill B: 1 task (gain 0); each skill weighted alike -> 0.5, not 0.75
    est = two_way([[1, 1, 1, 0]], weights=[1 / 3, 1 / 3, 1 / 3, 1])
    assert est.mean == pytest.approx(0.5)


def test_per_run_figures_have_the_error_over_seeds():
    est = over_seeds([-2000.0, 0.0, -4000.0])
    assert est.mean == -2000 and est.se == pytest.approx(2000 / math.sqrt(3)) and est.tasks is None
    assert est.z == pytest.approx(-math.sqrt(3)) and est.noise
    one = over_seeds([-2000.0])
    assert one.se is None and one.z is None and one.noise  # one seed: no seed spread, nothing to judge by


def test_noise_is_under_three_standard_errors():
    assert Estimate(0.03, 0.01, 100, 3).noise is False  # exactly 3 s.e.: not below
    assert Estimate(0.029, 0.01, 100, 3).noise is True
    assert Estimate(0.0, 0.0, 100, 3).noise is True and Estimate(0.0, 0.0, 100, 3).z is None  # identical runs
    assert Estimate(0.01, 0.0, 100, 3).noise is False  # every task and seed moved alike
