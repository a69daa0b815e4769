"""A full disk stops a run, it does not damage it: on a real small tmpfs (mounting one needs root), a run whose
disk fills mid-run stops with one line and exit code 5, its SQLite files pass their integrity check, and
`--resume` finishes it once space is freed, with no trajectory lost or written twice."""

from __future__ import annotations

import errno
import json
import os
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from cosr.agents.trainer import written_whole
from cosr.faults import DiskFull
from cosr.graphs.session import SelfPlayRun
from tests.support.runs import write_run_toml

COSR = [sys.executable, "-m", "cosr.cli"]
ENV = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "1000"}  # the stop line unwrapped


@pytest.fixture
def small_disk(tmp_path):
    """A 64 MB tmpfs: a run of the tiny config takes a few MB of it; a filler file takes the rest."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(mount)], capture_output=True, text=True,
                          check=False)
    if done.returncode:
        pytest.fail(f"this test mounts a small tmpfs, which needs root: {done.stderr.strip()}", pytrace=False)
    try:
        yield mount
    finally:
        # Lazily: a connection a failed test still holds there would make it "busy"; the memory goes with it.
        subprocess.run(["umount", "--lazy", str(mount)], check=True)


def fill(path: Path) -> None:
    """Write `path` until the file system has not one page left."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"\0" * 2**16)
    except OSError as e:
        assert e.errno == errno.ENOSPC, e
    finally:
        os.close(fd)


def integrity(db: Path) -> str:
    with sqlite3.connect(db) as conn:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]


def stored_steps(db: Path) -> int:
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            return conn.execute("SELECT COUNT(DISTINCT step) FROM trajectories").fetchone()[0]
    except sqlite3.OperationalError:  # not created yet, or the schema is not there yet
        return 0


def rounds_trained(db: Path) -> int:
    with sqlite3.connect(db, timeout=5) as conn:
        return conn.execute("SELECT COUNT(*) FROM rounds").fetchone()[0]


def assert_stopped_whole(out: str, returncode: int, run_dir: Path) -> None:
    """Exit code 5 and the one line, no traceback; both SQLite files whole; no adapter folder half-written."""
    assert returncode == 5, out
    stops = [line for line in out.splitlines() if line.startswith("stopped:")]
    assert stops == [(f"stopped: no space left on {run_dir} (the run directory: 0.0 MB free): free some space there, "
                      "or move the run folder to a disk with room and resume it from there with --resume FOLDER")], out
    assert "Traceback" not in out and "cosr selfplay --resume" in out
    for db in ("store.sqlite", "checkpoints.sqlite"):
        assert integrity(run_dir / db) == "ok", db
    assert not list(run_dir.glob("adapters/.partial-*"))  # a save cut short is given back, not left behind
    assert all((r / "adapter_model.safetensors").stat().st_size > 0 for r in run_dir.glob("adapters/round-*"))


def test_a_disk_that_fills_mid_run_stops_it_whole_and_resume_finishes_it(tmp_path, small_disk, tiny_run_config):
    """Filled twice: in the middle of a batch (a store or checkpoint write fails), then, on resume, as the
    second round trains (its adapter save fails). The second resume, with room, finishes the run."""
    config, run_dir, filler = tmp_path / "run.toml", small_disk / "run", small_disk / "filler"
    store = run_dir / "store.sqlite"
    write_run_toml(tiny_run_config, config, rounds=2)
    proc = subprocess.Popen([*COSR, "selfplay", "--config", str(config), "--run-dir", str(run_dir)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=ENV)
    deadline = time.monotonic() + 240
    while stored_steps(store) < 2:  # the middle of round 1 (or the start of round 2)
        assert proc.poll() is None, proc.stdout.read()
        assert time.monotonic() < deadline, "the run never got going"
        time.sleep(0.2)
    fill(filler)
    out, _ = proc.communicate(timeout=240)
    assert_stopped_whole(out, proc.returncode, run_dir)
    filler.unlink()

    resumed = subprocess.Popen([*COSR, "selfplay", "--resume", str(run_dir)], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, env=ENV)
    seen = []
    for line in resumed.stdout:  # the line a LoRA round starts with, once round 1 is trained: round 2's
        seen.append(line)
        if line.rstrip().endswith("training a LoRA round") and rounds_trained(store) == 1:
            fill(filler)
            break
    else:
        pytest.fail("the resumed run never started training round 2:\n" + "".join(seen))
    out, _ = resumed.communicate(timeout=240)
    assert_stopped_whole("".join(seen) + out, resumed.returncode, run_dir)
    assert rounds_trained(store) == 1
    filler.unlink()

    done = subprocess.run([*COSR, "selfplay", "--resume", str(run_dir)], capture_output=True, text=True, env=ENV,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["rounds_completed"] == 2
    assert sorted(p.name for p in (run_dir / "adapters").iterdir()) == ["round-001", "round-002"]
    for db in ("store.sqlite", "checkpoints.sqlite"):
        assert integrity(run_dir / db) == "ok", db

    with sqlite3.connect(store) as conn:
        rows = conn.execute("SELECT step, round, correct, json_extract(body, '$.task.id'),"
                            " json_extract(body, '$.attempt.raw_output') FROM trajectories").fetchall()
    per_step = Counter(row[0] for row in rows)
    # Every step, before and after each stop, holds exactly one whole batch (k samples of each task): none
    # lost, none twice.
    assert sorted(per_step) == list(range(1, summary["steps"] + 1))
    assert set(per_step.values()) == {tiny_run_config.curator.batch_size * tiny_run_config.student.samples_per_task}
    # What each round counted as verified is exactly what the store holds for it.
    verified = Counter(rnd for _, rnd, *_ in {(step, rnd, task, out) for step, rnd, correct, task, out in rows if correct})
    for rnd, info in summary["rounds"].items():
        assert info["verified"] == verified[int(rnd)]
    assert summary["verified_trajectories"] == sum(correct for _, _, correct, _, _ in rows)


def test_a_disk_full_from_the_start_is_the_same_stop(small_disk, tiny_run_config):
    fill(small_disk / "filler")
    cfg = tiny_run_config.model_copy(update={"run_dir": small_disk / "run"})
    with pytest.raises(DiskFull, match=r"no space left on .*/run \(the run directory: 0\.0 MB free\)"):
        SelfPlayRun(cfg)


def test_an_adapter_save_cut_short_leaves_no_adapter(small_disk):
    """A half-written folder is never under the round's name, and its space is given back at once."""
    out = small_disk / "adapters" / "round-001"
    out.mkdir(parents=True)
    (out / "adapter_model.safetensors").write_bytes(b"a whole adapter of an attempt never checkpointed")
    with pytest.raises(OSError) as caught, written_whole(out) as folder:
        folder.mkdir()
        (folder / "adapter_model.safetensors").write_bytes(bytes(128 * 2**20))  # twice what the disk holds
    assert caught.value.errno == errno.ENOSPC
    assert [p.name for p in (small_disk / "adapters").iterdir()] == ["round-001"]  # the whole one, untouched
    assert (out / "adapter_model.safetensors").read_bytes().startswith(b"a whole adapter")
    assert os.statvfs(small_disk).f_bfree > 0.9 * os.statvfs(small_disk).f_blocks


def test_a_tutor_session_whose_disk_fills_stops_whole_and_resumes_at_the_same_task(small_disk, math_graph_file):
    """A person's answer that cannot be stored is DiskFull, as a run's step is: the answers before it stay,
    and once space is freed the resumed session asks the same task again."""
    from cosr.config import load_config
    from cosr.graphs.session import TutorSession

    cfg = load_config(None, {"run_dir": small_disk / "tutor", "skills": math_graph_file, "seed": 0, "max_steps": 10})
    with TutorSession(cfg) as session:
        turn = session.advance()
        for _ in range(2):
            turn = session.advance({"command": "skip"})
        asked = turn["task"]["id"]
        fill(small_disk / "filler")
        with pytest.raises(DiskFull, match=r"no space left on .*/tutor \(the run directory: 0\.0 MB free\)"):
            session.advance({"text": "0"})
    assert integrity(small_disk / "tutor" / "checkpoints.sqlite") == "ok"
    (small_disk / "filler").unlink()
    with TutorSession(cfg, resume=str(small_disk / "tutor")) as again:
        turn = again.advance()
        assert turn["task"]["id"] == asked and again.state()["tasks_done"] == 2
