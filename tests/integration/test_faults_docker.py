"""The Docker engine goes away mid-run, and hostile code storms the sandbox while self-play runs: the real
engine, stopped and started the way an upgrade or a crash does, and the real `cosr` program, its store
counted afterwards as the resume test counts it."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from cosr.config import SandboxConfig
from cosr.sandbox import ExecutionRequest, SandboxUnavailable, make_executor
from tests.support.docker_engine import start_engine, stop_engine
from tests.support.runs import assert_whole

pytestmark = pytest.mark.docker
COSR = [sys.executable, "-m", "cosr.cli"]
ENV = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "160"}
CODE_GRAPH = Path(__file__).parents[1] / "data" / "code_skills.yaml"
BATCH, K = 8, 4


@pytest.fixture
def engine():
    """The engine is up before and after each test, whatever the test did to it."""
    start_engine()
    yield
    start_engine()


def code_run_toml(tiny_student: Path, path: Path, engine_wait_s: float, seed: int = 5, tasks: int = 160) -> Path:
    """A two-round code run of `tasks` tasks a round. The engine tests give it 640: stopping dockerd takes
    it up to ~15 s (its containers' grace), and a shorter run can finish before the engine is gone."""
    path.write_text(f"""
seed = {seed}
rounds = 2
skills = "{CODE_GRAPH}"
[student]
model = "{tiny_student}"
max_new_tokens = 6
batch_size = 16
samples_per_task = {K}
[curator]
strategy = "random"
batch_size = {BATCH}
[training]
every_verified = 400
max_tasks_per_round = {tasks}
epochs = 1
batch_size = 8
[eval]
per_skill = 4
levels = [1, 2]
[sandbox]
engine_wait_s = {engine_wait_s}
""")
    return path


def stored(run_dir: Path) -> list[tuple]:
    db = run_dir / "store.sqlite"
    if not db.exists():
        return []
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            return conn.execute("SELECT step, round, skill, correct, status, json_extract(body, '$.task.id'), "
                                "json_extract(body, '$.attempt.raw_output'), json_extract(body, '$.verdict.details') "
                                "FROM trajectories ORDER BY id").fetchall()
    except sqlite3.OperationalError:  # no schema yet
        return []


def assert_stored_whole(run_dir: Path) -> list[tuple]:
    """Counted as the resume test counts (tests/support/runs.py), and no verdict blames the student for the sandbox."""
    rows = stored(run_dir)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert_whole([(step, rnd, correct, task, out) for step, rnd, _, correct, _, task, out, _ in rows], summary, BATCH * K)
    blamed = [r for r in rows if "sandbox workers" in (r[7] or "") or "not run:" in (r[7] or "")]
    assert not blamed, blamed[:3]
    assert summary["rounds_completed"] == 2
    return rows


def wait_for_steps(proc: subprocess.Popen, run_dir: Path, steps: int) -> int:
    """Wait until the run has stored `steps` steps; the last step stored."""
    deadline = time.monotonic() + 300
    while len(done := {r[0] for r in stored(run_dir)}) < steps:
        assert proc.poll() is None, proc.stdout.read()
        assert time.monotonic() < deadline, "the run never got going"
        time.sleep(0.2)
    return max(done)


def ran_code_after(rows: list[tuple], step: int) -> int:
    """Code answers the sandbox ran (a literal's tests, passed or not) at steps after `step`."""
    return sum(1 for r in rows if r[0] > step and r[2] == "code_output" and "tests passed" in (r[7] or ""))


def selfplay(config: Path, run_dir: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([*COSR, "selfplay", "--config", str(config), "--run-dir", str(run_dir), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=ENV)


def test_the_pool_heals_when_the_engine_comes_back(engine):
    pool = make_executor(SandboxConfig(pool_size=2, engine_wait_s=90))
    try:
        assert pool.run(ExecutionRequest(code="print(6 * 7)")).stdout.strip() == "42"
        stop_engine()
        threading.Timer(5, start_engine).start()
        results = pool.run_many([ExecutionRequest(code=f"print({i} * 7)", tests=(f"assert {i} * 7 == {7 * i}",))
                                 for i in range(6)])  # in flight while the engine is away
        assert [r.stdout.strip() for r in results] == [str(7 * i) for i in range(6)], results
        assert all(r.passed for r in results) and pool.retried >= 1
    finally:
        pool.close()


def test_an_engine_that_stays_away_stops_the_pool_with_what_to_do(engine):
    pool = make_executor(SandboxConfig(pool_size=2, engine_wait_s=4))
    try:
        stop_engine()
        t0 = time.monotonic()
        with pytest.raises(SandboxUnavailable) as caught:
            pool.run(ExecutionRequest(code="print(1)"))
        assert time.monotonic() - t0 < 4 + 60  # the configured wait, plus one start attempt's timeout
        said = str(caught.value)
        assert "did not come back within" in said and "dockerd" in said and "\n" not in said
        assert caught.value.exit_code == 3
    finally:
        pool.close()


def test_selfplay_rides_out_an_engine_restart(engine, tmp_path, tiny_student):
    config, run_dir = code_run_toml(tiny_student, tmp_path / "run.toml", engine_wait_s=120, tasks=640), tmp_path / "run"
    proc = selfplay(config, run_dir)
    at = wait_for_steps(proc, run_dir, 2)
    stop_engine()
    time.sleep(3)
    start_engine()
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, out
    assert "Traceback" not in out
    rows = assert_stored_whole(run_dir)
    assert ran_code_after(rows, at + 2) > 10, "no code ran after the restart: the fault was not exercised"


def test_selfplay_stops_with_one_line_when_the_engine_stays_away_and_resumes(engine, tmp_path, tiny_student):
    config, run_dir = code_run_toml(tiny_student, tmp_path / "run.toml", engine_wait_s=5, tasks=640), tmp_path / "run"
    proc = selfplay(config, run_dir)
    at = wait_for_steps(proc, run_dir, 2)
    stop_engine()
    out, _ = proc.communicate(timeout=600)
    said = " ".join(out.split())
    assert proc.returncode == 3, out
    assert "stopped: the docker sandbox engine" in said and "dockerd" in said and "--resume" in said, said
    assert "Traceback" not in out
    start_engine()
    done = subprocess.run([*COSR, "selfplay", "--resume", str(run_dir)], capture_output=True, text=True, env=ENV,
                          timeout=600, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert ran_code_after(assert_stored_whole(run_dir), at + 2) > 10


# Hostile programs (tests/integration/test_sandbox_hostile.py), each with what must become of it. On a loaded
# host a bomb may reach the time limit before its own: either limit is the verdict it deserves.
STORM = [
    ("import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n", lambda r: r.timed_out),
    ("x = []\nwhile True:\n    x.append(bytearray(1 << 20))\n", lambda r: r.memory_exceeded or r.timed_out),
    ("while True:\n    pass\n", lambda r: r.timed_out),
    ("import sys\nsys.stdout.write('x' * (1 << 24))\n", lambda r: r.output_truncated or r.timed_out),
    ("import os, signal\nos.kill(1, signal.SIGKILL)\nprint('runner survived')\n",  # PID 1 ignores it
     lambda r: r.stdout.strip() == "runner survived" or r.timed_out),
    ("open('/tmp/big', 'wb').write(b'0' * (64 << 20))\n", lambda r: r.status == "failed" or r.timed_out),
]


def test_a_storm_of_hostile_code_leaves_the_pool_whole_and_selfplay_unchanged(engine, tmp_path, tiny_student):
    """The same seeded run twice, once with 100 hostile executions hitting the engine in the middle: the
    same verdicts, and the storm's own pool still runs code afterwards."""
    calm_dir, storm_dir = tmp_path / "calm", tmp_path / "storm"
    calm = selfplay(code_run_toml(tiny_student, tmp_path / "calm.toml", engine_wait_s=120), calm_dir)
    out, _ = calm.communicate(timeout=600)
    assert calm.returncode == 0, out

    proc = selfplay(code_run_toml(tiny_student, tmp_path / "storm.toml", engine_wait_s=120), storm_dir)
    wait_for_steps(proc, storm_dir, 1)
    pool = make_executor(SandboxConfig(pool_size=4, timeout_s=2))
    try:
        attacks = [STORM[i % len(STORM)] for i in range(100)]
        results = pool.run_many([ExecutionRequest(code=code) for code, _ in attacks])
        wrong = [(code, r.status, r.error) for (code, expected), r in zip(attacks, results, strict=True) if not expected(r)]
        assert not wrong, wrong[:3]
        assert pool.run(ExecutionRequest(code="print(6 * 7)")).stdout.strip() == "42"
    finally:
        pool.close()
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, out
    def verdicts(rows: list[tuple]) -> list[tuple]:  # (task, answer, correct, status)
        return [(r[5], r[6], r[3], r[4]) for r in rows]
    assert verdicts(assert_stored_whole(storm_dir)) == verdicts(assert_stored_whole(calm_dir))
