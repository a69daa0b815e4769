"""`cosr eval` and `cosr export --merged` on a finished tiny run: the merged student scores exactly what
base + the delivered (interpolated) adapter scores, and the learning-curve picture and attribution are written."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from cosr.cli import app
from cosr.graphs.session import SelfPlayRun


def test_merged_export_scores_like_base_plus_adapter(tiny_run_config, tmp_path):
    with SelfPlayRun(tiny_run_config) as run:
        list(run.events())
    run_dir = tiny_run_config.run_dir
    summary = json.loads((run_dir / "summary.json").read_text())
    assert (run_dir / "learning_curve.png").stat().st_size > 1000
    trained = [r for r in summary["rounds"].values() if "adapter" in r]
    assert trained, "the tiny run should train at least one adapter"
    assert set(summary["attribution"]) <= {"zpd", "rehearsal"}  # the curriculum and the rehearsal set
    # the student the last round delivered: its adapter interpolated towards the base (training.interpolation)
    adapter = run_dir / "adapters" / trained[-1]["adapter"] / "interpolated"
    assert (adapter / "adapter_config.json").exists()

    config = tmp_path / "eval.toml"
    config.write_text(f'skills = "{tiny_run_config.skills}"\n[eval]\nper_skill = 6\nlevels = [1, 2]\n'
                      f'[student]\nmax_new_tokens = 6\n')
    runner = CliRunner()
    merged = tmp_path / "merged"
    res = runner.invoke(app, ["export", str(run_dir), "--merged", str(merged)])
    assert res.exit_code == 0, res.output
    assert (merged / "config.json").exists() and not (merged / "adapter_config.json").exists()

    def score(*args: str) -> dict:
        out = tmp_path / f"eval{len(list(tmp_path.glob('eval*.json')))}.json"
        res = runner.invoke(app, ["eval", "--config", str(config), *args, "--json", str(out)])
        assert res.exit_code == 0, res.output
        return json.loads(out.read_text())

    with_adapter = score("--student-model", str(tiny_run_config.student.model), "--adapter", str(adapter))
    from_merged = score("--student-model", str(merged))
    assert with_adapter["per_skill"] == from_merged["per_skill"]
    assert sum(v["tasks"] for v in from_merged["per_skill"].values()) == 18
    at3 = score("--student-model", str(merged), "-k", "3")
    assert at3["metric"] == "pass@3" and at3["overall"] >= 0


def test_merge_without_adapters_is_a_clear_error(tmp_path, tiny_run_config):
    run_dir = tmp_path / "empty-run"
    run_dir.mkdir()
    (run_dir / "config.json").write_text(tiny_run_config.model_copy(update={"run_id": "x"}).model_dump_json())
    res = CliRunner().invoke(app, ["export", str(run_dir), "--merged", str(tmp_path / "m")])
    assert res.exit_code == 2 and "no adapters" in res.output
