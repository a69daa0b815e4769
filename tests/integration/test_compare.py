"""`cosr compare` end to end on the tiny student: the real program, real runs side by side, the JSON
rows, the plot, and a rerun that reuses finished runs instead of training again."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time

import pytest

from cosr.config import RunConfig

COSR = [sys.executable, "-m", "cosr.cli"]


def _base_toml(cfg, epochs: int = 1) -> str:
    return f"""
skills = "{cfg.skills}"
[student]
model = "{cfg.student.model}"
max_new_tokens = 6
batch_size = 16
[curator]
batch_size = 8
[training]
epochs = {epochs}
batch_size = 8
[eval]
per_skill = 4
levels = [1, 2]
[sandbox]
executor = "unsafe-process"
"""


def test_compare_writes_one_row_per_strategy_and_seed(tiny_run_config, tmp_path):
    (tmp_path / "base.toml").write_text(_base_toml(tiny_run_config))
    out, rows_file, png = tmp_path / "cmp", tmp_path / "rows.json", tmp_path / "curves.png"
    common = [*COSR, "compare", "--strategies", "random,zpd", "--seeds", "2", "--rounds", "2", "--tasks-per-round", "16",
              "--config", str(tmp_path / "base.toml"), "--out", str(out), "--json", str(rows_file), "--plot", str(png)]
    args = [*common, "--milestone", "0.5"]
    done = subprocess.run([*args, "--jobs", "3"], check=False, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    data = json.loads(rows_file.read_text())
    assert data == json.loads((out / "compare.json").read_text()) and data["split"] == "test"
    rows = data["rows"]
    assert sorted((r["strategy"], r["seed"]) for r in rows) == [("random", 0), ("random", 1), ("zpd", 0), ("zpd", 1)]
    for r in rows:
        assert r["verified_tasks"] == 32 and r["rounds"] == 2  # the same task budget for every run
        assert 0 <= r["verified_correct"] <= r["verified_tasks"]
        assert r["tasks_to_milestone"] is None or r["tasks_to_milestone"] in (0, 16, 32)
        assert set(r["final_accuracy"]) == {"addition", "subtraction", "chain_sum"}
        assert [p["tasks"] for p in r["curve"]] == [0, 16, 32]
        # the frontier: the (skill, level) pairs whose baseline lies in the band, the same for every run
        assert r["frontier_pairs"] == rows[0]["frontier_pairs"]
        assert r["frontier_gain"] == round(r["frontier_accuracy"] - r["frontier_accuracy_before"], 4)
        assert r["split"] == "test"
    # zpd against random, seed for seed on the same held-out tasks, computed by the compare itself
    (zpd,) = data["paired"]
    assert (zpd["strategy"], zpd["baseline"], zpd["seeds"]) == ("zpd", "random", [0, 1])
    assert (zpd["frontier_gain"] is None) == (not rows[0]["frontier_pairs"])  # no frontier, nothing to pair on
    every = zpd["learning_gain"]  # all skills: every held-out task, each counted once however often drawn
    assert every["seeds"] == 2 and 0 < every["tasks"] <= 3 * 4 and every["se"] is not None
    means = {a["strategy"]: a["learning_gain_estimate"]["mean"] for a in data["strategies"]}
    assert abs(every["mean"] - (means["zpd"] - means["random"])) < 1e-4
    assert "paired against random" in done.stdout and "tasks, 2 seeds" in done.stdout
    baselines = {json.dumps(json.loads((out / f"{r['strategy']}-s{r['seed']}" / "summary.json").read_text())
                            ["heldout_accuracy"]["0"], sort_keys=True) for r in rows}
    assert len(baselines) == 1  # one starting student, one held-out set: the same baseline everywhere
    assert png.stat().st_size > 10_000 and png.read_bytes()[:4] == b"\x89PNG"
    assert "curricula compared on the test split: tasks to" in done.stdout and "zpd" in done.stdout
    assert done.stdout.count("round 2: held-out") == 4  # three Ray tasks sharing the cores report every run's rounds
    again = subprocess.run(args, check=False, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0 and "round 1: held-out" not in again.stdout  # finished runs are reused
    assert json.loads(rows_file.read_text()) == data
    # Runs measured on test are no validation runs: refused, naming the setting; nor do they choose a milestone
    other_split = subprocess.run([*args, "--split", "validation"], capture_output=True, text=True, timeout=600, check=False)
    said = " ".join(other_split.stdout.split())
    assert other_split.returncode == 2 and "measured on the test split and this compare is on validation (eval.split)" in said
    chosen = subprocess.run([*common, "--milestone-from", str(out)], capture_output=True, text=True, timeout=600, check=False)
    assert chosen.returncode == 2 and "a milestone is chosen on validation runs" in " ".join(chosen.stdout.split())
    # Other settings into the same --out: refused before anything runs, not mixed with the stored runs
    (tmp_path / "base.toml").write_text(_base_toml(tiny_run_config, epochs=2))
    other = subprocess.run(args, capture_output=True, text=True, timeout=600, check=False)
    assert other.returncode == 2 and "other settings (training.epochs)" in " ".join(other.stdout.split())
    assert "held-out" not in other.stdout and json.loads(rows_file.read_text()) == data
    # The runs trained at the config's learning rate (the file names none); another is other settings too
    (tmp_path / "base.toml").write_text(_base_toml(tiny_run_config))
    stored = json.loads((out / "zpd-s1" / "config.json").read_text())["training"]["learning_rate"]
    assert stored == RunConfig().training.learning_rate != 2e-4
    slower = subprocess.run([*args, "--learning-rate", "2e-4"], capture_output=True, text=True, timeout=600, check=False)
    assert slower.returncode == 2 and "other settings (training.learning_rate)" in " ".join(slower.stdout.split())


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_run_that_fails_is_one_clear_error_naming_it(tiny_run_config, tmp_path, jobs):
    """A dead student endpoint: the compare stops with one line naming the run and the cause (no traceback on
    the terminal; it is in the run's folder), whether the run failed in this process (--jobs 1) or in a
    Ray task (two runs, --jobs 2). --first-seed names the seed the runs carry."""
    with socket.socket() as s:  # a port with nobody listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    (tmp_path / "dead.toml").write_text(f"""
skills = "{tiny_run_config.skills}"
[student]
backend = "openai"
base_url = "http://127.0.0.1:{port}/v1"
model = "student"
request_timeout_s = 2
server_wait_s = 1
[eval]
per_skill = 4
""")
    out = tmp_path / "cmp"
    done = subprocess.run([*COSR, "compare", "--strategies", "random,zpd", "--seeds", "1", "--first-seed", "4",
                           "--rounds", "1", "--tasks-per-round", "8", "--config", str(tmp_path / "dead.toml"), "--out", str(out),
                           "--jobs", jobs], capture_output=True, text=True, timeout=300, check=False)
    said = " ".join((done.stdout + done.stderr).split())
    assert done.returncode == 1, said
    failed = re.search(r"run (random|zpd)-s4 failed: StudentUnavailable: the student server at (\S+) ", said)
    assert failed and failed[2] == f"http://127.0.0.1:{port}/v1", said
    assert "Traceback" not in said and "same command resumes it" in said
    assert "StudentUnavailable" in (out / f"{failed[1]}-s4" / "error.txt").read_text()
    assert (out / f"{failed[1]}-s4" / "store.sqlite").exists()  # what it stored stays for the rerun to resume


def test_a_compare_stopped_with_sigterm_takes_its_ray_tasks_with_it(tiny_run_config, tmp_path):
    import psutil

    (tmp_path / "base.toml").write_text(_base_toml(tiny_run_config))
    compare = subprocess.Popen([*COSR, "compare", "--strategies", "random,zpd", "--seeds", "2", "--rounds", "50",
                                "--tasks-per-round", "64", "--config", str(tmp_path / "base.toml"),
                                "--out", str(tmp_path / "cmp"), "--jobs", "2"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    parent = psutil.Process(compare.pid)
    deadline = time.monotonic() + 120
    runs: list = []
    while len(runs) < 2 and time.monotonic() < deadline and compare.poll() is None:
        runs = [p for p in parent.children(recursive=True) if _title(p) == "ray::_run_task"]
        time.sleep(0.5)
    assert len(runs) == 2, "the compare did not start its two runs"
    ray = parent.children(recursive=True)  # the local Ray instance: its services and worker processes
    time.sleep(5)  # into their runs
    compare.terminate()
    assert compare.wait(timeout=60) != 0
    _, alive = psutil.wait_procs(ray, timeout=30)
    assert not alive, f"Ray processes still running after the compare was stopped: {[_title(p) for p in alive]}"


def _title(proc) -> str | None:
    """A process's name (a Ray worker's is its task, ray::<name>); None once it is gone."""
    import psutil

    try:
        return proc.name()
    except (psutil.ZombieProcess, psutil.NoSuchProcess):
        return None
