"""`cosr compare --variant`: a strategy under other settings beside it (an ablation), its runs, stored runs, rows
and aggregates named by its label."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console

from cosr.cli_compare import leaderboard, parse_variant, parse_variants, variants_note
from cosr.config import RunConfig
from cosr.graphs.compare import _check_stored_runs, _share_from_siblings, run_all
from cosr.store import TrajectoryStore
from cosr.training.leaderboard import CompareSpec, aggregate, never_reached, results, row, run_config
from tests.unit.test_compare_rows import _summary

FAST = ("zpd", {"training.learning_rate": 5e-3, "curator.batch_size": 64})


def _spec(tmp_path: Path, strategies: list[str] | None = None, **variants) -> CompareSpec:
    return CompareSpec(strategies=strategies or ["zpd", *variants], seeds=[0, 1], out_dir=tmp_path, variants=variants)


def test_a_variant_is_a_label_a_strategy_and_settings_read_as_toml():
    assert parse_variant("zpd-nohelp=zpd:curator.help.enabled=false") == ("zpd-nohelp", "zpd", {"curator.help.enabled": False})
    assert parse_variant("zpd-rloo=zpd:training.objective=rloo,curator.help.enabled=false") == (
        "zpd-rloo", "zpd", {"training.objective": "rloo", "curator.help.enabled": False})
    # numbers, a list and a quoted string with commas in them, spaces around the parts
    label, strategy, settings = parse_variant(' x_1 = random : training.learning_rate=5e-4, curator.batch_size=64,'
                                              'curator.help.prefixes=[0.3, 0.6],student.prompt_template="{prompt}, A:"')
    assert (label, strategy) == ("x_1", "random")
    assert settings == {"training.learning_rate": 5e-4, "curator.batch_size": 64, "curator.help.prefixes": [0.3, 0.6],
                        "student.prompt_template": "{prompt}, A:"}
    assert parse_variant("a=zpd:student.prompt_template='{prompt} =?'")[2] == {"student.prompt_template": "{prompt} =?"}


@pytest.mark.parametrize(("text", "says"), [
    ("zpd-nohelp", "expected LABEL=STRATEGY:KEY=VALUE"),
    ("zpd-nohelp=zpd", "expected LABEL=STRATEGY:KEY=VALUE"),
    ("zpd-nohelp=zpd:", "expected LABEL=STRATEGY:KEY=VALUE"),
    ("=zpd:curator.batch_size=2", "expected LABEL=STRATEGY:KEY=VALUE"),
    ("a/b=zpd:curator.batch_size=2", "expected LABEL=STRATEGY:KEY=VALUE"),  # a label names run folders
    ("v=zpd:curator.batch_size", "'curator.batch_size' is not KEY=VALUE"),
    ("v=zpd:curator.batch_size=", "'curator.batch_size=' is not KEY=VALUE"),
    ("v=zpd:curator..batch_size=2", "is not KEY=VALUE"),
    ("v=zpd:curator.batch_size=2,curator.batch_size=3", "v: curator.batch_size set twice"),
    ("v=zpd:student.model=null", "v: student.model=null: a variant sets a value"),
])
def test_a_malformed_variant_is_a_clear_error(text, says):
    with pytest.raises(ValueError, match=says):
        parse_variant(text)


def test_each_variant_is_defined_once_and_run_from_strategies():
    assert parse_variants(["v=zpd:curator.batch_size=2"], ["zpd", "v"]) == {"v": ("zpd", {"curator.batch_size": 2})}
    with pytest.raises(ValueError, match="--variant v is not in --strategies"):
        parse_variants(["v=zpd:curator.batch_size=2"], ["zpd"])
    with pytest.raises(ValueError, match="--variant v given twice"):
        parse_variants(["v=zpd:curator.batch_size=2", "v=random:curator.batch_size=4"], ["v"])


def test_a_variants_run_is_its_strategy_under_its_settings_named_by_its_label(tmp_path):
    spec = _spec(tmp_path, fast=FAST)
    base = RunConfig()
    cfg = run_config(base, spec, "fast", 1)
    assert (cfg.run_id, cfg.run_dir, cfg.seed, cfg.curator.strategy) == ("fast-s1", tmp_path / "fast-s1", 1, "zpd")
    assert cfg.training.learning_rate == 5e-3 and cfg.curator.batch_size == 64
    # what the compare sets is set over the variant's settings too, and the base is left as it was
    assert cfg.training.max_tasks_per_round == spec.tasks_per_round and cfg.eval.split == spec.split
    assert cfg.max_steps >= spec.rounds * cfg.steps_per_round() + 2  # steps of its own (smaller) batches
    assert base.training.learning_rate != 5e-3 and base.curator.batch_size != 64
    plain = run_config(base, spec, "zpd", 1)
    assert plain.run_id == "zpd-s1" and plain.training.learning_rate == base.training.learning_rate


@pytest.mark.parametrize(("settings", "says"), [
    ({"curator.batch_sise": 64}, r"--variant v: invalid setting \(curator.batch_sise: Extra inputs"),
    ({"curator.batch_size": 0}, r"--variant v: invalid setting \(curator.batch_size: Input should be greater"),
    ({"training.objective": "ppo"}, r"--variant v: invalid setting \(training.objective"),
    ({"student.model.x": 1}, r"--variant v: invalid setting \(student.model"),
    ({"eval.split": "validation"}, "--variant v: eval.split cannot differ between the runs of a compare"),
    ({"curator.strategy": "random", "rounds": 9}, "--variant v: curator.strategy, rounds cannot differ"),
])
def test_a_variants_bad_setting_fails_before_any_run_naming_it(tmp_path, settings, says):
    spec = _spec(tmp_path / "out", v=("zpd", settings))
    with pytest.raises(ValueError, match=says):
        run_all(RunConfig(), spec)
    assert not spec.out_dir.exists()  # nothing started


def test_an_unknown_name_or_strategy_fails_before_any_run(tmp_path):
    with pytest.raises(KeyError, match="unknown curriculum strategy 'fats'.*nor a --variant label \\(fast\\)"):
        run_all(RunConfig(), _spec(tmp_path, ["zpd", "fats"], fast=FAST))
    with pytest.raises(ValueError, match="--variant fast: unknown curriculum strategy 'zdp'"):
        run_all(RunConfig(), _spec(tmp_path, fast=("zdp", FAST[1])))
    with pytest.raises(ValueError, match="--variant random: a strategy of that name is registered"):
        run_all(RunConfig(), _spec(tmp_path, random=FAST))
    assert not any(tmp_path.iterdir())


def _store_config(cfg: RunConfig) -> None:
    cfg.run_dir.mkdir(parents=True)
    (cfg.run_dir / "config.json").write_text(cfg.model_dump_json())


def test_a_stored_run_is_held_to_its_own_entrys_settings(tmp_path):
    spec = _spec(tmp_path, fast=FAST)
    for entry, seed in (("zpd", 0), ("fast", 0), ("fast", 1)):
        _store_config(run_config(RunConfig(), spec, entry, seed))
    _check_stored_runs(RunConfig(), spec)  # each matches its own entry: reused or resumed
    # the variant's runs under other settings than its own now: refused, nothing started
    slower = _spec(tmp_path, fast=("zpd", {"training.learning_rate": 2e-3, "curator.batch_size": 64}))
    with pytest.raises(ValueError, match=r"fast-s0 was run with other settings \(training.learning_rate\)"):
        run_all(RunConfig(), slower)
    # the label now given to another strategy
    with pytest.raises(ValueError, match="fast-s0 is a run of zpd, which this compare's fast is not"):
        run_all(RunConfig(), _spec(tmp_path, fast=("random", FAST[1])))
    # a compare that does not define the variant: its runs are of other settings than the base
    with pytest.raises(ValueError, match="fast-s0 is a run of zpd, which this compare's fast is not: give its --variant"):
        run_all(RunConfig(), _spec(tmp_path, ["zpd"]))
    assert sorted(p.name for p in (tmp_path / "fast-s0").iterdir()) == ["config.json"]


def test_a_plain_run_of_other_settings_is_still_refused(tmp_path):
    spec = _spec(tmp_path, fast=FAST)
    _store_config(run_config(RunConfig.model_validate({"training": {"learning_rate": 5e-3}}), spec, "zpd", 0))
    with pytest.raises(ValueError, match=r"zpd-s0 was run with other settings \(training.learning_rate\)"):
        run_all(RunConfig(), spec)


def test_a_variant_shares_the_baseline_only_with_runs_of_the_same_student(tmp_path):
    spec = _spec(tmp_path, fast=FAST, short=("zpd", {"student.max_new_tokens": 16}))
    zpd = run_config(RunConfig(), spec, "zpd", 0)
    _store_config(zpd)
    store = TrajectoryStore(zpd.run_dir / "store.sqlite")
    store.record_evaluation("zpd-s0", 0, {"addition": (1, 1)}, None, per_level={("addition", 1): (1, 1)},
                            per_task=[("t1", "addition", 1, True)])
    store.close()
    for entry, shared in (("fast", True), ("short", False)):  # other training settings; another student's answers
        cfg = run_config(RunConfig(), spec, entry, 0)
        _share_from_siblings(cfg, spec)
        assert (cfg.run_dir / "store.sqlite").exists() == shared
        if shared:
            store = TrajectoryStore(cfg.run_dir / "store.sqlite")
            assert store.evaluation_tasks(cfg.run_id) == {0: {("addition", 1): {"t1": True}}}
            store.close()


def test_rows_and_aggregates_go_by_the_label_and_compare_json_says_what_it_is(tmp_path):
    spec = _spec(tmp_path, fast=FAST)
    levels = [{"gcd@L1": [40, 80]}, {"gcd@L1": [48, 80]}]
    summaries = [_summary(levels).model_copy(update={"run_id": f"{e}-s{s}", "strategy": "zpd"})
                 for s in spec.seeds for e in spec.strategies]
    rows = [row(s, spec) for s in summaries]
    assert [(r["strategy"], r["seed"]) for r in rows] == [("zpd", 0), ("fast", 0), ("zpd", 1), ("fast", 1)]
    never = never_reached(spec)
    agg = aggregate(rows, never)
    assert [(a["strategy"], a["seeds"]) for a in agg] == [("zpd", 2), ("fast", 2)]
    data = json.loads(json.dumps(results(rows, spec, never, {(r["strategy"], r["seed"]): {} for r in rows})))
    assert data["variants"] == {"fast": {"strategy": "zpd", "overrides": {"training.learning_rate": 5e-3,
                                                                          "curator.batch_size": 64}}}
    assert [p["strategy"] for p in data["paired"]] == ["fast"] and data["paired"][0]["baseline"] == "zpd"
    assert variants_note(spec) == "fast = zpd with training.learning_rate=0.005, curator.batch_size=64"
    console = Console(width=200, record=True)
    console.print(leaderboard(agg, spec, 0.515, never))
    assert "│ fast " in console.export_text()
    plain = [r for r in rows if r["strategy"] == "zpd"]
    assert results(plain, _spec(tmp_path), never, {})["variants"] == {}


@pytest.mark.parametrize(("args", "says"), [
    (["--strategies", "zpd,v", "--variant", "v=zpd:curator.batch_sise=3"],
     "error: --variant v: invalid setting (curator.batch_sise: Extra inputs are not permitted)"),
    (["--strategies", "zpd", "--variant", "v=zpd:curator.batch_size=3"], "error: --variant v is not in --strategies"),
    (["--strategies", "zpd,v", "--variant", "v=zpd"], "error: --variant 'v=zpd': expected LABEL=STRATEGY:KEY=VALUE"),
])
def test_the_command_refuses_a_bad_variant_before_any_run(tmp_path, args, says):
    from tests.unit.test_plugin_names import assert_fails_fast_and_clean, run_cosr

    ran = run_cosr(tmp_path, "compare", *args)
    assert ran[0].returncode == 2
    assert_fails_fast_and_clean(ran, tmp_path, says)
