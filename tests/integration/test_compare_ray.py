"""`cosr compare --ray` on a real Ray cluster of two nodes on this machine: the same rows and trajectories as the
runs one after another in one process, and a run whose node's worker processes are killed mid-run is retried,
resumes from its checkpoint, and ends with no trajectory lost or written twice."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import time
from collections import Counter
from pathlib import Path

import psutil
import pytest

from tests.integration.test_compare import COSR, _base_toml
from tests.integration.test_resume import stored_steps
from tests.support.runs import two_nodes


@pytest.fixture(scope="module")
def cluster():
    """A head and a worker node, one CPU each: a compare's two runs go one to a node."""
    yield from two_nodes()


def _compare(config: Path, out: Path, *args: str) -> list[str]:
    return [*COSR, "compare", "--strategies", "random,zpd", "--seeds", "1", "--config", str(config), "--out", str(out),
            "--milestone", "0.5", *args]


def _trajectories(run_dir: Path) -> list[tuple]:
    with sqlite3.connect(run_dir / "store.sqlite") as conn:
        return sorted(conn.execute("SELECT step, round, correct, json_extract(body, '$.task.id'),"
                                   " json_extract(body, '$.attempt.raw_output') FROM trajectories").fetchall())


def _rows(out: Path) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "run_dir"} for r in json.loads((out / "compare.json").read_text())["rows"]]


def test_runs_on_two_nodes_give_the_rows_of_runs_in_one_process(cluster, tiny_run_config, tmp_path):
    (tmp_path / "base.toml").write_text(_base_toml(tiny_run_config))
    size = ["--rounds", "2", "--tasks-per-round", "16"]
    on_ray = subprocess.run(_compare(tmp_path / "base.toml", tmp_path / "ray", *size, "--ray", cluster[0].address),
                            capture_output=True, text=True, timeout=600, check=False)
    assert on_ray.returncode == 0, on_ray.stdout + on_ray.stderr
    # one run a node: each asked for one CPU, and each node has one
    nodes = {json.loads((tmp_path / "ray" / run / "attempt.json").read_text())["node"] for run in ("random-s0", "zpd-s0")}
    assert nodes == {cluster[0].head_node.node_id, cluster[1].node_id}
    assert on_ray.stdout.count("round 2: held-out") == 2  # events came back from both nodes
    assert "Ray" not in on_ray.stdout + on_ray.stderr  # no banners or worker logs in the user's output
    here = subprocess.run(_compare(tmp_path / "base.toml", tmp_path / "here", *size, "--jobs", "1"),
                          capture_output=True, text=True, timeout=600, check=False)
    assert here.returncode == 0, here.stdout + here.stderr
    assert _rows(tmp_path / "ray") == _rows(tmp_path / "here")
    for run in ("random-s0", "zpd-s0"):  # sample for sample, through two LoRA rounds
        assert _trajectories(tmp_path / "ray" / run) == _trajectories(tmp_path / "here" / run)
        assert len(_trajectories(tmp_path / "ray" / run)) == 2 * 16 * tiny_run_config.student.samples_per_task


def test_a_run_whose_node_loses_its_workers_is_retried_from_its_checkpoint(cluster, tiny_run_config, tmp_path):
    head, worker = cluster
    (tmp_path / "base.toml").write_text(_base_toml(tiny_run_config))
    out = tmp_path / "cmp"
    compare = subprocess.Popen(_compare(tmp_path / "base.toml", out, "--rounds", "3", "--tasks-per-round", "200",
                                        "--ray", head.address), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    # the run on the worker node, once it is under way (its store holds ten steps of its 75)
    deadline, victim = time.monotonic() + 240, None
    while victim is None:
        assert compare.poll() is None, compare.stdout.read()
        assert time.monotonic() < deadline, "the runs never got going"
        for run in ("random-s0", "zpd-s0"):
            attempt = out / run / "attempt.json"
            if attempt.exists() and stored_steps(out / run / "store.sqlite") >= 10:
                started = json.loads(attempt.read_text())
                if started["node"] == worker.node_id:
                    victim = run, started["pid"]
        time.sleep(0.2)
    run, pid = victim
    # Every worker process of the worker node: its raylet's children titled ray::<task> or ray::IDLE; not its
    # agents (ray::DashboardAgent, ray::RuntimeEnvAgent), whose death would take the node down with them
    raylet = psutil.Process(pid).parent()
    killed = [p for p in raylet.children() if p.name().startswith("ray::") and not p.name().endswith("Agent")]
    assert pid in {p.pid for p in killed}
    for p in killed:
        p.send_signal(signal.SIGKILL)
    said, _ = compare.communicate(timeout=480)
    assert compare.returncode == 0, said
    resumed = " ".join(said.split())
    assert f"run {run} was retried after its worker died; it resumed from its checkpoint at step" in resumed, said
    assert json.loads((out / run / "attempt.json").read_text())["attempt"] == 2
    rows = {r["strategy"]: r for r in json.loads((out / "compare.json").read_text())["rows"]}
    k = tiny_run_config.student.samples_per_task
    for name in ("random-s0", "zpd-s0"):
        summary = json.loads((out / name / "summary.json").read_text())
        assert summary["rounds_completed"] == 3 and rows[name.split("-")[0]]["verified_tasks"] == 600
        # as the resume test counts: every step, before and after the kill, holds one whole batch, none twice
        per_step = Counter(step for step, *_ in _trajectories(out / name))
        assert sorted(per_step) == list(range(1, summary["steps"] + 1))
        assert set(per_step.values()) == {tiny_run_config.curator.batch_size * k}
