"""The leaderboard's reading of a run: the frontier pairs from the baseline band, the milestone as a gain."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from cosr.agents.rehearsal import rehearsal_rows, rehearsal_tasks
from cosr.cli_compare import parse_milestone
from cosr.config import RunConfig
from cosr.graphs.compare import _share_from_siblings, run_all
from cosr.store import TrajectoryStore
from cosr.training.leaderboard import CompareSpec, aggregate, never_reached, row, run_config, task_outcomes
from cosr.training.plots import compare_curves
from cosr.training.results import AuditSummary, LastSession, RoundResult, RunSummary, read_summary, write_summary
from tests.unit.test_rehearsal import context


def run_summary(**given) -> RunSummary:
    """A summary.json with what a test gives and neutral values for the rest."""
    fields = dict(run_id="zpd-s1", run_dir="x", rounds_completed=0, rounds_requested=0, steps=0, tasks=0, tasks_solved=0,
                  attempts=0, verified_trajectories=0, heldout_accuracy={}, heldout_overall={}, heldout_levels={},
                  frontier=None, frontier_band=None, frontier_band_open=None, frontier_band_small=None, learning_gain={},
                  rounds={}, attribution={}, adapter=None, student="hf:x", strategy="zpd",
                  last_session=LastSession(seconds=0, graph_steps=0, tasks=0, tasks_per_second=None),
                  audit=AuditSummary(checked=0, leaks=0, sources={}, per_skill=0, levels=[], student="not audited"),
                  split="test", files={})
    return RunSummary(**{**fields, **given})


def _summary(levels_by_round: list[dict[str, list[int]]]) -> RunSummary:
    acc = {str(r): {"addition": 0.5, "gcd": 0.5} for r in range(len(levels_by_round))}
    return run_summary(rounds_completed=len(levels_by_round) - 1, tasks=200, tasks_solved=90, heldout_accuracy=acc,
                       heldout_levels={str(r): lv for r, lv in enumerate(levels_by_round)},
                       rounds={r: RoundResult(round=r, tasks=100, verified=40, examples=40, examples_by_strategy={})
                               for r in range(1, len(levels_by_round))})


def test_the_frontier_is_the_pairs_in_the_band_and_the_milestone_a_gain():
    base = {"addition@L1": [78, 80], "addition@L2": [16, 80], "gcd@L1": [40, 80], "gcd@L2": [0, 80]}
    # addition@L1 is mastered (97%) and gcd@L2 hopeless (0%): neither is frontier
    later = [dict(base, **{"addition@L2": [20, 80], "gcd@L1": [40, 80]}),
             dict(base, **{"addition@L2": [28, 80], "gcd@L1": [44, 80]})]
    spec = CompareSpec(strategies=["zpd"], seeds=[1], out_dir=Path("x"), milestone=0.1, milestone_gain=True,
                       frontier=(0.1, 0.8))
    r = row(_summary([base, *later]), spec)
    assert r["frontier_pairs"] == ["addition@L2", "gcd@L1"] and r["frontier_heldout_tasks"] == 160
    assert r["frontier_accuracy_before"] == 0.35 and r["frontier_accuracy"] == 0.45
    # +2.5 points after round 1, +10 after round 2: the +10 milestone is reached at 200 tasks
    assert r["milestone"] == 0.45 and r["tasks_to_milestone"] == 200
    assert row(_summary([base, *later]), CompareSpec(strategies=["zpd"], seeds=[1], out_dir=Path("x"), milestone=0.5,
                                                     milestone_gain=False))["tasks_to_milestone"] is None
    # split by task space: addition@L2 open (+12 points), gcd@L1 small (+5)
    split = row(_summary([base, *later]), spec, lambda skill, level: 256 if skill == "addition" else 40)
    assert split["frontier_open_pairs"] == split["frontier_small_pairs"] == 1
    assert split["frontier_open_gain"] == 0.15 and split["frontier_small_gain"] == 0.05
    assert "frontier_open_gain" not in r


def test_a_round_evaluated_in_part_counts_where_it_holds_every_frontier_pair(tmp_path):
    base = {"addition@L1": [78, 80], "addition@L2": [16, 80], "gcd@L1": [40, 80], "gcd@L2": [0, 80]}
    middle = {"addition@L2": [28, 80], "gcd@L1": [44, 80]}  # eval.between_rounds: the band levels only
    last = dict(base, **{"addition@L2": [24, 80], "gcd@L1": [40, 80]})
    summary = _summary([base, middle, last])
    del summary.heldout_accuracy["1"]  # no per-skill accuracy after a round evaluated in part
    spec = CompareSpec(strategies=["zpd"], seeds=[1], out_dir=tmp_path, milestone=0.1, frontier=(0.1, 0.8))
    r = row(summary, spec)
    assert r["tasks_to_milestone"] == 100  # +10 points read at round 1 (gone again at round 2)
    assert [(p["tasks"], p["frontier"], p["overall"]) for p in r["curve"]] == [(0, 0.35, 0.5), (100, 0.45, None), (200, 0.4, 0.5)]
    assert compare_curves([r], tmp_path / "curves.png").stat().st_size > 0
    # Another --frontier re-reading these runs: round 1 lacks gcd@L2 (0%, now in the band), so it is not read
    wide = row(summary, CompareSpec(strategies=["zpd"], seeds=[1], out_dir=tmp_path, milestone=0.05, frontier=(0.0, 0.8)))
    assert [p["tasks"] for p in wide["curve"]] == [0, 200] and wide["tasks_to_milestone"] is None


def test_a_seed_that_never_reaches_the_milestone_counts_as_the_budget_plus_a_round():
    spec = CompareSpec(strategies=["random", "progress"], seeds=[0, 1], out_dir=Path("x"), rounds=3, tasks_per_round=2000)
    never = never_reached(spec)
    assert never == 8000
    base = {"tasks_to_milestone": None, "heldout_accuracy": 0.5, "frontier_accuracy": 0.4, "frontier_gain": 0.0,
            "learning_gain": 0.0, "verified_correct": 10, "verified_tasks": 20, "final_accuracy": {"gcd": 0.5}}
    rows = [dict(base, strategy="random", seed=0, tasks_to_milestone=2000), dict(base, strategy="random", seed=1),
            dict(base, strategy="progress", seed=0, tasks_to_milestone=4000),
            dict(base, strategy="progress", seed=1, tasks_to_milestone=6000)]
    random, progress = aggregate(rows, never)
    # over the seeds that reached it random looks faster (2000 against 5000); over every seed it is not
    assert random["reached"] == 1 and random["tasks_to_milestone"] == (2000, 0.0)
    assert random["tasks_to_milestone_all"][0] == 5000 and progress["tasks_to_milestone_all"][0] == 5000
    rows[1]["tasks_to_milestone"] = 6000
    assert aggregate(rows, never)[0]["tasks_to_milestone_all"][0] == 4000


def test_milestone_text():
    assert parse_milestone("0.8") == (0.8, False)
    assert parse_milestone("+0.05") == (0.05, True)
    with pytest.raises(ValueError):
        parse_milestone("1.5")


def test_a_run_from_an_older_cosr_is_a_clear_error(tmp_path):
    old = _summary([{"gcd@L1": [40, 80]}]).model_dump(mode="json")
    del old["heldout_levels"]
    (tmp_path / "summary.json").write_text(json.dumps(old))
    with pytest.raises(ValueError, match="summary.json: written by an older cosr"):
        read_summary(tmp_path)
    write_summary(tmp_path, _summary([{"gcd@L1": [40, 80]}]))
    assert read_summary(tmp_path).heldout_levels == {"0": {"gcd@L1": (40, 80)}}


def test_a_new_run_starts_from_its_siblings_baseline_and_rehearsal_set_whatever_their_seed(tmp_path):
    spec = CompareSpec(strategies=["random", "zpd"], seeds=[0, 1], out_dir=tmp_path)

    def stored(run_id: str, solved: bool, prompt: str, settings: bool = True) -> None:
        (tmp_path / run_id).mkdir()
        if settings:  # a run's config.json: a folder without one (settings unknown) is not shared from
            strategy, seed = run_id.rsplit("-s", 1)
            (tmp_path / run_id / "config.json").write_text(run_config(RunConfig(), spec, strategy, int(seed)).model_dump_json())
        store = TrajectoryStore(tmp_path / run_id / "store.sqlite")
        store.record_evaluation(run_id, 0, {"addition": (int(solved), 1)}, None, per_level={("addition", 1): (int(solved), 1)},
                                per_task=[("t1", "addition", 1, solved)])
        store.add_rehearsal(run_id, [("q1", "addition", 1, prompt, " 2", True)])
        store.close()

    stored("ladder-s0", False, "1 + 1 (unknown settings)", settings=False)
    stored("random-s0", True, "1 + 1 (random-s0)")
    _share_from_siblings(run_config(RunConfig(), spec, "zpd", 1), spec)  # another seed: the same rehearsal draw
    store = TrajectoryStore(tmp_path / "zpd-s1" / "store.sqlite")
    assert store.evaluation_tasks("zpd-s1") == {0: {("addition", 1): {"t1": True}}}
    assert store.evaluations("zpd-s1") == {0: {"addition": (1, 1)}}
    assert [row[3] for row in store.rehearsal("zpd-s1")] == ["1 + 1 (random-s0)"]
    store.close()


def test_an_unreadable_run_config_in_out_is_a_clear_error_before_any_run(tmp_path):
    (tmp_path / "random-s0").mkdir()
    (tmp_path / "random-s0" / "config.json").write_text('{"rounds": ')  # cut off mid-write
    spec = CompareSpec(strategies=["random"], seeds=[0], out_dir=tmp_path)
    with pytest.raises(ValueError, match="random-s0/config.json is not a run configuration cosr can read"):
        run_all(RunConfig(), spec)
    assert sorted(p.name for p in (tmp_path / "random-s0").iterdir()) == ["config.json"]  # nothing started


def test_parallel_runs_find_the_baseline_and_rehearsal_set_made_once_before_they_start(tiny_run_config, tmp_path):
    from cosr.graphs.compare import _prepare_shared, _shared_source, ray_session

    spec = CompareSpec(strategies=["random", "zpd", "ladder"], seeds=[0], out_dir=tmp_path / "cmp", rounds=1, tasks_per_round=8)
    pending = [("random", 0), ("zpd", 0), ("ladder", 0)]
    with ray_session(None):  # a local Ray instance, as a compare of parallel runs starts
        _prepare_shared(tiny_run_config, spec, pending, chunk=7)  # the set in chunks, both tasks taking them
    assert _shared_source(spec) == spec.out_dir / "random-s0"
    # Two Ray tasks, in the contexts of the first two runs; both parts end in the first run's store
    assert sorted(p.name for p in spec.out_dir.iterdir()) == ["random-s0", "zpd-s0"]
    first, second = (TrajectoryStore(spec.out_dir / name / "store.sqlite") for name in ("random-s0", "zpd-s0"))
    baseline, rehearsal = first.evaluation_tasks("random-s0")[0], first.rehearsal("random-s0")
    assert second.rehearsal("zpd-s0") is None and not second.evaluation_tasks("zpd-s0")
    first.close()
    second.close()
    n_heldout = sum(len(tasks) for tasks in baseline.values())
    assert n_heldout == 3 * tiny_run_config.eval.per_skill  # every held-out task
    # the set answered in parts is the set answered whole, every task in it once
    ctx = context(run_config(tiny_run_config, spec, "ladder", 0), tmp_path / "whole")
    whole = rehearsal_rows(ctx, rehearsal_tasks(ctx))
    ctx.store.close()
    assert len(whole) > 7 * 3 and rehearsal == sorted(whole) and any(ok for *_, ok in whole)
    # What every run starts from, fresh or resumed (these two were): the part it lacks, without making it again
    for strategy in ("random", "zpd", "ladder"):
        _share_from_siblings(run_config(tiny_run_config, spec, strategy, 0), spec)
        store = TrajectoryStore(spec.out_dir / f"{strategy}-s0" / "store.sqlite")
        assert store.evaluation_tasks(f"{strategy}-s0")[0] == baseline and store.rehearsal(f"{strategy}-s0") == rehearsal
        store.close()
    # More seeds into the same compare: two fresh runs, but the baseline is there already, nothing to do
    _prepare_shared(tiny_run_config, CompareSpec(strategies=spec.strategies, seeds=[0, 1], out_dir=spec.out_dir,
                                                 rounds=1, tasks_per_round=8), [("random", 1), ("zpd", 1)])
    assert sorted(p.name for p in spec.out_dir.iterdir()) == ["ladder-s0", "random-s0", "zpd-s0"]


def test_a_run_keeps_its_own_baseline_and_rehearsal_set(tmp_path):
    spec = CompareSpec(strategies=["random", "zpd"], seeds=[0], out_dir=tmp_path)
    for run_id, solved in (("random-s0", True), ("zpd-s0", False)):
        (tmp_path / run_id).mkdir()
        (tmp_path / run_id / "config.json").write_text(run_config(RunConfig(), spec, run_id.split("-")[0], 0).model_dump_json())
        store = TrajectoryStore(tmp_path / run_id / "store.sqlite")
        store.record_evaluation(run_id, 0, {"addition": (int(solved), 1)}, None, per_level={("addition", 1): (int(solved), 1)},
                                per_task=[("t1", "addition", 1, solved)])
        store.add_rehearsal(run_id, [("q1", "addition", 1, f"1 + 1 ({run_id})", " 2", True)])
        store.close()
    _share_from_siblings(run_config(RunConfig(), spec, "zpd", 0), spec)
    store = TrajectoryStore(tmp_path / "zpd-s0" / "store.sqlite")
    assert store.evaluation_tasks("zpd-s0") == {0: {("addition", 1): {"t1": False}}}
    assert [row[3] for row in store.rehearsal("zpd-s0")] == ["1 + 1 (zpd-s0)"]
    store.close()


def test_the_leaderboard_prints_a_long_strategy_name_whole_on_a_narrow_terminal():
    from rich.console import Console

    from cosr.cli_compare import leaderboard

    base = {"tasks_to_milestone": None, "heldout_accuracy": 0.5, "frontier_accuracy": 0.4, "frontier_gain": 0.0,
            "learning_gain": 0.0, "verified_correct": 10, "verified_tasks": 20, "final_accuracy": {"gcd": 0.5}}
    spec = CompareSpec(strategies=["random", "learnability"], seeds=[0], out_dir=Path("x"))
    agg = aggregate([dict(base, strategy="random", seed=0), dict(base, strategy="learnability", seed=0)], never_reached(spec))
    console = Console(width=90, record=True)
    console.print(leaderboard(agg, spec, 0.415, never_reached(spec)))
    assert "│ learnability │" in console.export_text()


# Paired statistics from the runs' stores: gcd@L1 is the frontier (4 held-out tasks), addition@L1 is not.
BEFORE = {("gcd", 1): {"t0": False, "t1": False, "t2": True, "t3": False}, ("addition", 1): {"a0": True, "a1": True}}
FINAL = {  # gcd@L1 outcomes at the last round per (strategy, seed); addition keeps its two tasks
    ("random", 0): [1, 0, 1, 0], ("random", 1): [0, 0, 1, 0],  # frontier gains [1,0,0,0] and [0,0,0,0]
    ("zpd", 0): [1, 1, 1, 0], ("zpd", 1): [1, 0, 1, 1],  # [1,1,0,0] and [1,0,0,1]
}
REACHED = {("random", 0): None, ("random", 1): 4000, ("zpd", 0): 2000, ("zpd", 1): 2000}


def _stored_runs(tmp_path: Path, final: dict, reached: dict, drawn_twice: str | None = None) -> tuple[list[dict], dict]:
    """Rows and per-task outcomes read back from a store per run (a task `drawn_twice` recorded twice)."""
    base = {"heldout_accuracy": 0.5, "frontier_accuracy": 0.4, "frontier_gain": 0.0155, "learning_gain": 0.0,
            "verified_correct": 10, "verified_tasks": 20, "final_accuracy": {"gcd": 0.5}, "frontier_pairs": ["gcd@L1"]}
    rows, outcomes = [], {}
    for (strategy, seed), solved in final.items():
        run_id = f"{strategy}-s{seed}"
        store = TrajectoryStore(tmp_path / run_id / "store.sqlite")
        last = {("gcd", 1): {f"t{i}": bool(ok) for i, ok in enumerate(solved)}, ("addition", 1): BEFORE[("addition", 1)]}
        for rnd, levels in ((0, BEFORE), (3, last)):
            tasks = [(t, s, lv, ok) for (s, lv), ts in levels.items() for t, ok in ts.items()]
            tasks += [(t, s, lv, ok) for t, s, lv, ok in tasks if t == drawn_twice]
            store.record_evaluation(run_id, rnd, {}, None, per_task=tasks)
        store.close()
        outcomes[(strategy, seed)] = task_outcomes(run_summary(run_dir=str(tmp_path / run_id), run_id=run_id))
        rows.append(dict(base, strategy=strategy, seed=seed, tasks_to_milestone=reached[(strategy, seed)]))
    return rows, outcomes


def test_paired_differences_against_the_baseline_seed_for_seed_on_the_same_tasks(tmp_path):
    from cosr.training.leaderboard import paired

    rows, outcomes = _stored_runs(tmp_path, FINAL, REACHED, drawn_twice="t1")
    (zpd,) = paired(rows, 8000, outcomes)
    assert (zpd["strategy"], zpd["baseline"], zpd["seeds"]) == ("zpd", "random", [0, 1])
    front = zpd["frontier_gain"]
    # differences [0,1,0,0] and [1,0,0,1]: mean 3/8; the residual mean square (11/8 over 3) over 2 x 4 cells is
    # the whole error here (task and seed components estimated below it)
    assert front["mean"] == 0.375 and front["tasks"] == 4 and front["seeds"] == 2  # t1, drawn twice, counted once
    assert front["se"] == round(math.sqrt(11 / 192), 5) and front["z"] == round(0.375 / math.sqrt(11 / 192), 2)
    assert front["se_tasks"] == 0.125 and front["se_seeds"] == 0.125 and front["noise"]
    # all skills: gcd and addition weigh alike, and addition did not move: half the frontier's difference
    assert zpd["learning_gain"]["mean"] == 0.1875 and zpd["learning_gain"]["tasks"] == 6
    # tasks to the milestone: 2000 - 8000 (random seed 0 never reached it) and 2000 - 4000
    steps = zpd["tasks_to_milestone"]
    assert steps["mean"] == -4000 and steps["se"] == 2000 and steps["z"] == -2.0 and steps["tasks"] is None
    assert steps["bounded_seeds"] == 1


def test_a_strategy_identical_to_the_baseline_differs_by_nothing(tmp_path):
    from cosr.training.leaderboard import paired

    final = {**FINAL, ("same", 0): FINAL[("random", 0)], ("same", 1): FINAL[("random", 1)]}
    reached = {**REACHED, ("same", 0): None, ("same", 1): 4000}
    rows, outcomes = _stored_runs(tmp_path, final, reached)
    same = paired(rows, 8000, outcomes)[1]
    assert same["strategy"] == "same"
    for key in ("frontier_gain", "learning_gain", "tasks_to_milestone"):
        assert (same[key]["mean"], same[key]["se"], same[key]["z"], same[key]["noise"]) == (0, 0, None, True)


def test_each_strategys_gain_has_its_error_over_tasks_and_seeds_and_one_seed_says_so(tmp_path):
    rows, outcomes = _stored_runs(tmp_path, FINAL, REACHED)
    random, zpd = aggregate(rows, 8000, outcomes)
    # zpd's gains [1,1,0,0] and [1,0,0,1]: mean 0.5; the seeds agree (0.5 each), the residual 1/3 over 8 cells
    est = zpd["frontier_gain_estimate"]
    assert (est["mean"], est["seeds"], est["se_seeds"]) == (0.5, 2, 0) and est["se"] == round(math.sqrt(1 / 24), 5)
    assert random["frontier_gain_estimate"]["mean"] == 0.125
    assert zpd["learning_gain_estimate"]["mean"] == 0.25  # gcd +0.5, addition 0, a mean over the two skills
    one = aggregate([r for r in rows if r["seed"] == 0], 8000, outcomes)[1]["frontier_gain_estimate"]
    assert one["seeds"] == 1 and one["se_seeds"] is None  # gains [1,1,0,0]: sd over 4 tasks, over sqrt(4)
    assert one["se"] == one["se_tasks"] == round(math.sqrt(1 / 3) / 2, 5)


def test_the_paired_table_says_noise_under_three_standard_errors_and_one_seed_outright(tmp_path):
    from rich.console import Console

    from cosr.cli_compare import paired_table
    from cosr.training.leaderboard import paired

    rows, outcomes = _stored_runs(tmp_path, FINAL, REACHED)
    console = Console(width=200, record=True)
    console.print(paired_table(paired(rows, 8000, outcomes)))
    console.print(paired_table(paired([r for r in rows if r["seed"] == 0], 8000, outcomes)))
    lines = console.export_text().splitlines()
    frontier = [line for line in lines if "frontier gain" in line]
    assert "+37.50%" in frontier[0] and "4 tasks, 2 seeds" in frontier[0] and "noise (under 3 s.e.)" in frontier[0]
    assert "4 tasks, 1 seed: no seed spread" in frontier[1]
    milestone = [line for line in lines if "tasks to milestone" in line]
    assert "-4000" in milestone[0] and "a bound: 1 of 2 seeds never reached" in milestone[0] and "s.e." not in milestone[0].split("│")[-2]
    assert "a bound: 1 of 1 seeds never reached" in milestone[1]  # seed 0 is the one that never reached it


def test_a_compare_on_one_split_refuses_runs_measured_on_the_other(tmp_path):
    validation = CompareSpec(strategies=["random"], seeds=[0], out_dir=tmp_path, split="validation")
    cfg = run_config(RunConfig(), validation, "random", 0)
    assert cfg.eval.split == "validation"
    (tmp_path / "random-s0").mkdir()
    (tmp_path / "random-s0" / "config.json").write_text(cfg.model_dump_json())
    with pytest.raises(ValueError, match=r"random-s0 was measured on the validation split and this compare is on "
                                         r"test \(eval.split\): compare into a new --out, or rerun with --split validation"):
        run_all(RunConfig(), CompareSpec(strategies=["random"], seeds=[0], out_dir=tmp_path))
    assert sorted(p.name for p in (tmp_path / "random-s0").iterdir()) == ["config.json"]  # nothing started


def test_the_milestone_is_chosen_on_a_validation_compare_and_applied_on_test(tmp_path):
    from cosr.training.leaderboard import milestone_from, results

    def compare_dir(name: str, split: str, rounds: int = 3) -> Path:
        spec = CompareSpec(strategies=["random", "zpd"], seeds=[0, 1], out_dir=tmp_path / name, split=split, rounds=rounds)
        rows, outcomes = _stored_runs(spec.out_dir, FINAL, REACHED)  # random's frontier gain 0.0155 on both seeds
        (spec.out_dir / "random-s0" / "config.json").write_text(run_config(RunConfig(), spec, "random", 0).model_dump_json())
        (spec.out_dir / "compare.json").write_text(json.dumps(results(rows, spec, 8000, outcomes)))
        return spec.out_dir

    test = CompareSpec(strategies=["random", "zpd"], seeds=[3], out_dir=tmp_path / "test")
    value, note = milestone_from(compare_dir("val", "validation"), RunConfig(), test)
    assert value == 0.015 and "random's mean frontier gain on validation (+1.55%, 2 seeds" in note
    with pytest.raises(ValueError, match="measured on the test split; a milestone is chosen on validation runs"):
        milestone_from(compare_dir("test-0", "test"), RunConfig(), test)
    with pytest.raises(ValueError, match=r"other settings \(rounds\)"):
        milestone_from(compare_dir("val-4", "validation", rounds=4), RunConfig(), test)
    faster = RunConfig.model_validate({"training": {"learning_rate": 5e-3}})
    with pytest.raises(ValueError, match=r"other settings \(training.learning_rate\)"):
        milestone_from(tmp_path / "val", faster, test)
