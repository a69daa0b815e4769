"""A run interrupted at any moment (Ctrl-C or kill -9) resumes with no verified trajectory lost or
written twice: the real `cosr` program, a real SQLite store, counted afterwards."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.runs import assert_whole, write_run_toml

COSR = [sys.executable, "-m", "cosr.cli"]


def stored_steps(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            return conn.execute("SELECT COUNT(DISTINCT step) FROM trajectories").fetchone()[0]
    except sqlite3.OperationalError:  # the schema is not there yet
        return 0


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "kill-9"])
def test_interrupted_run_resumes_without_losing_or_duplicating(tmp_path, tiny_run_config, sig):
    config, run_dir = tmp_path / "run.toml", tmp_path / "run"
    write_run_toml(tiny_run_config, config)
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "120"}
    # A shell that starts a job in the background (`cmd &`, no job control) ignores SIGINT in it, and an
    # ignored signal stays ignored across exec. Handled here for the moment of the spawn, it reaches the run
    # at its default, as a terminal's Ctrl-C finds it (no preexec_fn: this process has threads).
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        proc = subprocess.Popen([*COSR, "selfplay", "--config", str(config), "--run-dir", str(run_dir)],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    finally:
        signal.signal(signal.SIGINT, previous)
    deadline = time.monotonic() + 300
    while stored_steps(run_dir / "store.sqlite") < 3:  # interrupt in the middle of round 1 or 2
        assert proc.poll() is None, proc.stdout.read()
        assert time.monotonic() < deadline, "the run never got going"
        time.sleep(0.2)
    proc.send_signal(sig)
    out, _ = proc.communicate(timeout=120)
    if sig == signal.SIGINT:
        assert proc.returncode == 130, out
        assert "cosr selfplay --resume" in out
    else:
        assert proc.returncode == -signal.SIGKILL
    before = stored_steps(run_dir / "store.sqlite")
    assert before >= 3
    run_id = json.loads((run_dir / "config.json").read_text())["run_id"]

    done = subprocess.run([*COSR, "selfplay", "--resume", str(run_dir)], capture_output=True, text=True,
                          env=env, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["run_id"] == run_id and summary["rounds_completed"] == 3

    with sqlite3.connect(run_dir / "store.sqlite") as conn:
        rows = conn.execute("SELECT step, round, correct, json_extract(body, '$.task.id'),"
                            " json_extract(body, '$.attempt.raw_output') FROM trajectories").fetchall()
    assert_whole(rows, summary, tiny_run_config.curator.batch_size * tiny_run_config.student.samples_per_task)


def test_a_dead_student_server_stops_selfplay_with_a_clear_error(tmp_path, tiny_run_config):
    """After student.server_wait_s of retries, one line without a traceback: what is down, for how long, how to
    start it again, and the command that goes on once it answers; exit code 4 (cosr/faults.py, StudentDown)."""
    import socket

    with socket.socket() as s:  # a port with nobody listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = tmp_path / "dead.toml"
    config.write_text(f'skills = "{tiny_run_config.skills}"\n[student]\nbackend = "openai"\n'
                      f'base_url = "http://127.0.0.1:{port}/v1"\nmodel = "student"\nrequest_timeout_s = 2\n'
                      'server_wait_s = 2\n')
    run_dir = tmp_path / "run"
    done = subprocess.run([*COSR, "selfplay", "--config", str(config), "--run-dir", str(run_dir), "--rounds", "1"],
                          capture_output=True, text=True, timeout=300, check=False)
    said = " ".join((done.stdout + done.stderr).split())
    assert done.returncode == 4, said
    assert f"stopped: the student server at http://127.0.0.1:{port}/v1 did not answer for 2 s" in said
    assert "python -m cosr.training.serving" in said
    assert "Traceback" not in said and "--resume" in said and (run_dir / "config.json").exists()
