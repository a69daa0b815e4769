"""`cosr selfplay --workers 2 --ray ADDRESS` on a real Ray cluster of two nodes on this machine: the student's
replicas answer on both nodes, code is checked in a docker sandbox on each node, every replica is probed with each
round's adapter, and a run killed with SIGKILL mid-round resumes from Postgres with no trajectory lost or written
twice; a replica serving another adapter is caught by the probe, and one whose process dies is restarted, given
the adapter again and checked."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import psycopg
import pytest

from cosr.config import SandboxConfig, StudentConfig, TrainingConfig
from cosr.sandbox import ExecutionRequest
from cosr.training.adapter_probe import StaleAdapter
from cosr.training.data import Example
from tests.conftest import DATA
from tests.integration.test_postgres import COSR, stored_steps
from tests.support.runs import assert_whole, two_nodes, write_run_toml

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def cluster():
    """A head and a worker node, one CPU each: the two replicas go one to a node."""
    yield from two_nodes()


def _adapter(student: Path, out: Path, answer: str) -> Path:
    """A LoRA round that taught the student to answer every sum with `answer`."""
    from cosr.training.lora import train_lora

    examples = [Example(f"What is {a} + {b}?\nAnswer:", f" {answer}") for a in range(6) for b in range(6)]
    train_lora(student, examples, TrainingConfig(lora_r=4, lora_alpha=8, epochs=2, batch_size=8, learning_rate=5e-3,
                                                 device="cpu"), out, seed=0)
    return out


def test_a_replica_serving_another_adapter_is_caught_and_a_dead_one_comes_back_checked(cluster, tiny_student,
                                                                                        tmp_path):
    import ray

    from cosr.graphs.workers import StudentPool, folder_files

    right, wrong = _adapter(tiny_student, tmp_path / "round-001", "7"), _adapter(tiny_student, tmp_path / "other", "3")
    ray.init(cluster[0].address, include_dashboard=False, log_to_driver=False)
    pool = StudentPool(StudentConfig(model=str(tiny_student), max_new_tokens=4), 2, seed=0, owns_ray=True,
                       log_path=tmp_path / "workers.jsonl")
    try:
        assert {w["node"] for w in pool.where.values()} == {cluster[0].head_node.node_id, cluster[1].node_id}
        pool.load_adapter(right, right.name)
        assert sorted(pool.probes) == [0, 1]  # every replica checked against this process's own reading
        assert all(p.adapter == "round-001" and p.served_error <= p.tolerance < p.effect for p in pool.probes.values())
        prompts = [f"What is {a} + {a}?" for a in range(8)]
        greedy = [g.text for g in pool.generate(prompts, temperature=0.0, max_new_tokens=4)]
        assert pool.served == {0: 4, 1: 4}  # the batch cut in two, in order

        # Replica 1 is handed another adapter under the round's name: it says it serves round-001, and the probe
        # finds it does not.
        ray.get(pool.replicas[1].load.remote("round-001", [ray.put(folder_files(wrong))]))
        with pytest.raises(StaleAdapter, match=r"student replica 1 \(node .*says it serves 'round-001'\).*did not take"):
            pool.check()
        pool.check([0])  # the other still serves it

        # Its process dies: Ray starts it again, the next batch gives it the adapter before it answers, and the
        # probe checks it again; greedy answers are what they were.
        pid, probe, checks = pool.where[1]["pid"], pool.probes[1], (tmp_path / "workers.jsonl").read_text()
        ray.kill(pool.replicas[1], no_restart=False)
        deadline = time.monotonic() + 60  # the kill is asynchronous: a call sent at once may still reach the old process
        while _pid(pool.replicas[1]) in (pid, None):
            assert time.monotonic() < deadline, "the replica was not restarted"
            time.sleep(0.2)
        assert [g.text for g in pool.generate(prompts, temperature=0.0, max_new_tokens=4)] == greedy
        assert pool.where[1]["pid"] != pid and pool.where[1]["adapter"] == "round-001"
        assert pool.probes[1] is not probe and pool.probes[1].served_error <= pool.probes[1].tolerance
        new = (tmp_path / "workers.jsonl").read_text().removeprefix(checks).splitlines()
        assert len(new) == 1  # one check: the restarted replica's
        assert [(r["replica"], r["adapter"], r["pid"] != pid) for r in json.loads(new[0])["replicas"]] == \
            [(0, "round-001", True), (1, "round-001", True)]
    finally:
        pool.close()
    assert not ray.is_initialized()


def _pid(replica) -> int | None:
    import ray

    try:
        return ray.get(replica.where.remote(), timeout=10)["pid"]
    except Exception:  # noqa: BLE001 - dying or restarting: not the old one, not yet the new one
        return None


@pytest.mark.docker
def test_the_sandbox_pool_runs_a_sandbox_on_each_node_and_answers_in_order(cluster):
    import ray

    from cosr.graphs.workers import SandboxPool

    ray.init(cluster[0].address, include_dashboard=False, log_to_driver=False)
    try:
        pool = SandboxPool(SandboxConfig(pool_size=1))
        try:
            assert len(pool.sandboxes) == 2  # both nodes see this machine's engine
            results = pool.run_many([ExecutionRequest(code=f"print({i} * {i})") for i in range(5)])
            assert [r.stdout.strip() for r in results] == [str(i * i) for i in range(5)]
        finally:
            pool.close()
    finally:
        ray.shutdown()


@pytest.mark.docker
def test_selfplay_on_two_workers_killed_mid_round_resumes_from_postgres(cluster, tiny_run_config, postgres_url,
                                                                         tmp_path):
    head, worker = cluster
    config, run_dir, run_id = tmp_path / "run.toml", tmp_path / "run", "workers-run"
    # The code graph: its code tasks are checked in the docker sandbox of each node (sandbox.executor's default)
    write_run_toml(tiny_run_config.model_copy(update={"skills": DATA / "code_skills.yaml"}), config,
                   top=f'run_id = "{run_id}"\ndatabase_url = "{postgres_url}"')
    # Greedy: at temperature 1 the tiny student now and then writes a NUL byte, which the store's jsonb queries
    # on Postgres refuse (cosr/store.py); what this test counts does not depend on sampling.
    config.write_text(config.read_text().replace("[student]\n", "[student]\ntemperature = 0.0\n"))
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "120"}
    proc = subprocess.Popen([*COSR, "selfplay", "--config", str(config), "--run-dir", str(run_dir), "--workers", "2",
                             "--ray", head.address], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        deadline = time.monotonic() + 300
        while stored_steps(postgres_url, run_id) < 5:  # kill it in the middle of round 2 (3 steps a round)
            assert proc.poll() is None, proc.stdout.read()
            assert time.monotonic() < deadline, "the run never got going"
            time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=120)
    assert proc.returncode == -signal.SIGKILL

    # The run's own config.json holds its workers and cluster: a plain --resume finds them.
    done = subprocess.run([*COSR, "selfplay", "--resume", str(run_dir)], capture_output=True, text=True, env=env,
                          timeout=600, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["run_id"] == run_id and summary["rounds_completed"] == 3
    assert set(summary["heldout_accuracy"]["3"]) == {"addition", "multiplication", "code_output"}  # code: in the sandboxes

    # Counted as the resume test counts: every step, before and after the kill, holds exactly one whole batch.
    with psycopg.connect(postgres_url) as conn:
        rows = conn.execute("SELECT step, round, correct, body::jsonb #>> '{task,id}', body::jsonb #>> "
                            "'{attempt,raw_output}' FROM trajectories WHERE run_id = %s", (run_id,)).fetchall()
    assert_whole(rows, summary, tiny_run_config.curator.batch_size * tiny_run_config.student.samples_per_task)
    assert sorted(p.name for p in (run_dir / "adapters").iterdir()) == ["round-001", "round-002", "round-003"]

    # Both replicas answered, one on each node; after every round each held that round's adapter and passed its
    # probe (a line a check, from the killed process and from the resumed one).
    checks = [json.loads(line) for line in (run_dir / "workers.jsonl").read_text().splitlines()]
    last = checks[-1]["replicas"]
    assert {r["node"] for r in last} == {head.head_node.node_id, worker.node_id}
    assert all(r["served"] > 0 for r in last)
    for rnd in (1, 2, 3):
        probed = [c["replicas"] for c in checks if c["adapter"] == f"round-{rnd:03d}"]
        assert probed and all(r["adapter"] == f"round-{rnd:03d}" and r["probe"] for rs in probed for r in rs)
