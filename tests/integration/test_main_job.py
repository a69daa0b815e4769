"""The main job as a user runs it: `cosr selfplay` on the embedded default, no flags but where to write."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from cosr.training.embedded import SPEC_VERSION


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.timeout(1800)  # two rounds of worked answers; the whole suite, this test in it, took 13:24 in CI
def test_cosr_selfplay_on_the_embedded_default(tmp_path):
    run_dir = tmp_path / "run"
    env = {**os.environ, "COLUMNS": "120"}
    done = subprocess.run([sys.executable, "-m", "cosr.cli", "selfplay", "--run-dir", str(run_dir), "--rounds", "2"],
                          check=False, capture_output=True, text=True, env=env, timeout=1800)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "held-out accuracy per skill" in done.stdout
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["rounds_completed"] == 2
    assert summary["verified_trajectories"] > 0
    assert sorted(summary["heldout_accuracy"], key=int) == ["0", "1", "2"]
    skills = set(summary["heldout_accuracy"]["0"])
    assert len(skills) >= 12 and {"code_output", "code_input", "code_synthesis"} <= skills
    assert summary["student"] == f"hf:{SPEC_VERSION}"  # the shipped copy, not a rebuild
    # measured on the test split, and no held-out problem of either split among what it trained on
    assert summary["split"] == "test" and summary["audit"]["leaks"] == 0 and summary["audit"]["checked"] > 4000
    assert summary["audit"]["sources"]["trajectory"] == summary["tasks"]
    for r in ("1", "2"):
        info = summary["rounds"][r]
        assert "skipped" in info or (run_dir / "adapters" / info["adapter"] / "adapter_model.safetensors").exists()
    for name in ("store.sqlite", "checkpoints.sqlite", "config.json"):
        assert (run_dir / name).exists()
