"""Faults of a served student, for real (vLLM's CPU build): the server killed and restarted on its port while
a student generates with a loaded adapter, an adapter the server forgot, a server that stays down, and a round
whose adapter barely moves the base, which the probe must still tell from the base and from another round's
adapter. One server for the module; the test that leaves it down comes last."""

from __future__ import annotations

import json
import logging
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from cosr.training.adapter_probe import PROBE_FILE, TOLERANCE_FLOOR, StaleAdapter, local_probe, probe_adapter
from cosr.training.backends.openai_compat import StudentUnavailable
from tests.integration.test_vllm_serving import (
    local_answers,
    served_answers,
    served_student,
    start_server,
    train_adapter,
)
from tests.support.runs import assert_whole

pytestmark = pytest.mark.vllm
PROBE_PROMPT = "What is 2 + 3?\nAnswer:"  # the configured probe prompt, rendered
COSR = [sys.executable, "-m", "cosr.cli"]
ENV = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "160"}
GRAPH = Path(__file__).parents[1] / "data" / "math_skills.yaml"
BATCH, K = 8, 2


@pytest.fixture(scope="module")
def student_dir() -> Path:
    from cosr.graphs.collaborators import ensure_embedded_student

    return ensure_embedded_student(log=lambda m: None)


@pytest.fixture(scope="module")
def server(student_dir, tmp_path_factory):
    srv = start_server(student_dir, tmp_path_factory.mktemp("vllm"))
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def adapter(student_dir, tmp_path_factory) -> Path:
    return train_adapter(student_dir, tmp_path_factory.mktemp("adapters") / "a", "42", 0)


@pytest.fixture(scope="module")
def faint(student_dir, tmp_path_factory) -> tuple[Path, Path]:
    """Two rounds that barely moved the base: 4 steps at a learning rate of 1e-5 (answers " 42", " 96")."""
    root = tmp_path_factory.mktemp("faint")
    return tuple(train_adapter(student_dir, root / name, answer, seed, learning_rate=1e-5, epochs=1)
                 for name, answer, seed in [("a", "42", 0), ("b", "96", 1)])


def test_a_student_heals_when_its_server_is_killed_and_restarted(server, student_dir, adapter, caplog):
    """Self-play's batches go on across the crash: the batch in flight and those after it wait for the server,
    which comes back without the adapter; it is loaded and probed again before any of them uses it."""
    caplog.set_level(logging.WARNING)
    student = served_student(server, student_dir, server_wait_s=300)
    student.load_adapter(adapter, "round-001")
    first_probe, expected = student.last_probe, local_answers(student_dir, adapter)
    answers: list[list[str]] = []
    errors: list[BaseException] = []
    done = threading.Event()

    def batches() -> None:
        try:
            while not done.is_set():
                answers.append(served_answers(student))
        except BaseException as e:  # noqa: BLE001 - reported by the assertion below
            errors.append(e)

    worker = threading.Thread(target=batches)
    worker.start()
    try:
        _until(lambda: answers, 60)
        server.stop(grace_s=0)  # killed, with batches in flight or about to be sent
        killed_at = len(answers)
        time.sleep(2)  # nobody listens for a while
        server.start()  # the same port, a fresh process: no adapter loaded
        _until(lambda: len(answers) >= killed_at + 3 or errors, 120)
    finally:
        done.set()
        worker.join(120)
    assert not errors, errors
    assert all(a == expected for a in answers) and expected != local_answers(student_dir, None)
    assert student.reloads == 1 and student.model_name == "round-001"
    assert student.last_probe is not first_probe and student.last_probe.conclusive
    said = [r.getMessage() for r in caplog.records]
    assert any("is not answering" in m for m in said) and any("answers again" in m for m in said), said
    assert not any(r.exc_info for r in caplog.records)  # retries are lines, never tracebacks


def test_an_adapter_the_server_forgot_is_loaded_again_before_it_is_used(server, student_dir, adapter):
    student = served_student(server, student_dir, server_wait_s=30)
    student.load_adapter(adapter, "round-002")
    r = httpx.post(f"{server.base_url}/unload_lora_adapter", json={"lora_name": "round-002"})
    assert r.status_code == 200, r.text  # as a restart between two batches leaves it: "does not exist" (404)
    assert served_answers(student) == local_answers(student_dir, adapter)
    assert student.reloads == 1 and student.last_probe.conclusive


def test_a_faint_round_is_told_from_the_base_and_from_another_round(server, student_dir, faint, tmp_path):
    a, b = faint
    older = shutil.copytree(a, tmp_path / "older", ignore=shutil.ignore_patterns(PROBE_FILE))
    assert local_probe(student_dir, older, PROBE_PROMPT).effect < 0.01  # the prompt's continuation alone: no verdict
    student = served_student(server, student_dir)
    student.load_adapter(a, "faint-a")
    probe = student.last_probe  # on the text of its round that it moves most
    assert probe.conclusive and probe.tolerance == TOLERANCE_FLOOR and probe.effect < 0.05
    assert probe.served_error < probe.tolerance

    for name, files in [("faint-zero", _zeroed(a, tmp_path / "zero")), ("faint-swapped", b)]:
        r = httpx.post(f"{server.base_url}/load_lora_adapter", json={"lora_name": name, "lora_path": str(files)})
        assert r.status_code == 200, r.text
    checks = [("student", "the base model's"),  # the name served by the base weights
              ("faint-zero", "the base model's"),  # an adapter that changes nothing
              ("faint-swapped", "neither the adapter's nor the base's")]  # another round's adapter
    for served_as, expected in checks:  # at the default bound (0.1): the fitted tolerance decides
        with pytest.raises(StaleAdapter, match=expected):
            probe_adapter(base_url=server.base_url, base_model="student", adapter_name=served_as, adapter_dir=a,
                          weights=student_dir, prompt=PROBE_PROMPT, tolerance=0.1)


def test_selfplay_rides_out_a_student_server_restart(server, student_dir, tmp_path):
    """`cosr selfplay` served by the vLLM server, which is killed in round 2 (its round-1 adapter in use) and
    started again: the run finishes without a restart of cosr, the adapter loaded again and probed, and its
    store holds every step whole, as the resume test counts it."""
    config, run_dir = tmp_path / "served.toml", tmp_path / "run"
    config.write_text(f"""
seed = 7
rounds = 2
skills = "{GRAPH}"
[student]
backend = "openai"
base_url = "{server.base_url}"
model = "student"
weights = "{student_dir}"
max_new_tokens = 24
samples_per_task = {K}
server_wait_s = 300
[curator]
batch_size = {BATCH}
[training]
every_verified = 400
max_tasks_per_round = 48
epochs = 1
batch_size = 8
[eval]
per_skill = 4
levels = [1, 2]
""")
    proc = subprocess.Popen([*COSR, "selfplay", "--config", str(config), "--run-dir", str(run_dir)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=ENV)
    try:
        _until(lambda: proc.poll() is not None or _rows(run_dir, "SELECT COUNT(*) FROM trajectories WHERE round = 2"), 600)
        assert proc.poll() is None, proc.stdout.read()
        server.stop(grace_s=0)  # killed mid-round, the round-1 adapter loaded in it
        time.sleep(2)
        server.start()
        out, _ = proc.communicate(timeout=900)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out
    assert "Traceback" not in out and "loaded again into the student server" in out, out
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["rounds_completed"] == 2
    assert_whole(_rows(run_dir, "SELECT step, round, correct, json_extract(body, '$.task.id'), "
                                "json_extract(body, '$.attempt.raw_output') FROM trajectories"), summary, BATCH * K)


def _rows(run_dir: Path, sql: str) -> list[tuple]:
    try:
        with sqlite3.connect(run_dir / "store.sqlite", timeout=5) as db:
            rows = db.execute(sql).fetchall()
    except sqlite3.OperationalError:  # not there yet
        return []
    return rows if not (len(rows) == 1 and rows[0] == (0,)) else []


def test_a_server_that_stays_down_stops_the_student_with_one_line(server, student_dir, adapter):
    student = served_student(server, student_dir, server_wait_s=3)
    student.load_adapter(adapter, "round-003")
    server.stop(grace_s=0)
    t0 = time.monotonic()
    with pytest.raises(StudentUnavailable) as e:
        served_answers(student)
    said = str(e.value)
    assert 3 <= time.monotonic() - t0 < 3 + 10
    assert said.startswith(f"the student server at {server.base_url} did not answer for 3 s")
    assert "python -m cosr.training.serving" in said and f"--port {server.port}" in said
    assert "\n" not in said and "Traceback" not in said and e.value.exit_code == 4


def _until(condition, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"still waiting after {timeout_s} s"
        time.sleep(0.2)


def _zeroed(adapter: Path, out: Path) -> Path:
    """The adapter's files with every B matrix zero: served, it is the base model."""
    from safetensors.torch import load_file, save_file

    shutil.copytree(adapter, out)
    tensors = load_file(adapter / "adapter_model.safetensors")
    save_file({k: v * 0 if ".lora_B." in k else v for k, v in tensors.items()}, out / "adapter_model.safetensors",
              metadata={"format": "pt"})
    return out
