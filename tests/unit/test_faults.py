"""What counts as a full disk, from real failures: /dev/full for the OS, a size-capped SQLite file for the
store (its transaction leaves the file whole, and the same batch written again lands once)."""

from __future__ import annotations

import errno
import shutil
import sqlite3

import pytest

from cosr.domain import AnswerFormat, Attempt, Task, Trajectory, Verdict, VerifierKind
from cosr.faults import NEARLY_FULL, is_disk_full
from cosr.store import TrajectoryStore


def dev_full_error() -> OSError:
    with pytest.raises(OSError) as caught, open("/dev/full", "w") as f:
        f.write("x")
    return caught.value


def test_no_space_from_the_os_is_a_full_disk_through_its_causes():
    error = dev_full_error()
    assert error.errno == errno.ENOSPC and is_disk_full(error)
    try:
        try:
            raise error
        except OSError as e:
            raise RuntimeError("saving the adapter failed") from e
    except RuntimeError as wrapped:
        assert is_disk_full(wrapped)


def test_other_errors_are_not_a_full_disk(tmp_path):
    # SQLite's bare I/O error is a full disk only where the disk is nearly full; here it has room
    assert shutil.disk_usage(tmp_path).free > NEARLY_FULL
    assert not is_disk_full(sqlite3.OperationalError("disk I/O error"), tmp_path)
    assert not is_disk_full(sqlite3.OperationalError("disk I/O error"))  # nowhere to look: not taken for full
    assert not is_disk_full(PermissionError(errno.EACCES, "Permission denied", "/root/x"))
    assert not is_disk_full(sqlite3.OperationalError("no such table: trajectories"))
    assert not is_disk_full(ValueError("bad value"))


def trajectories(n: int) -> list[Trajectory]:
    """`n` attempts of one step, each a page or so in the store."""
    out = []
    for i in range(n):
        task = Task(id=f"train:addition:L1:s{i}", skill="addition", difficulty=1, prompt=f"What is {i} + 1?",
                    answer_format=AnswerFormat.NUMBER, verifier=VerifierKind.MATH, reference=str(i + 1), seed=i)
        out.append(Trajectory(id=f"run:1:{i}:{task.id}", run_id="run", round=1, step=1, task=task,
                              attempt=Attempt(task_id=task.id, student_id="s", raw_output=str(i + 1) + " " * 4000),
                              verdict=Verdict(correct=True, score=1.0, status="correct")))
    return out


def test_a_store_write_that_finds_the_disk_full_leaves_the_store_whole(tmp_path):
    store = TrajectoryStore(tmp_path / "store.sqlite")
    assert store.add_trajectories(trajectories(2)) == 2
    # SQLite's own cap on the file's size fails a write as a full disk does (SQLITE_FULL), and rolls back.
    pages = store._db.execute("PRAGMA page_count").fetchone()[0]
    store._db.execute(f"PRAGMA max_page_count = {pages + 1}")
    batch = trajectories(40)
    with pytest.raises(sqlite3.OperationalError) as caught:
        store.add_trajectories(batch)
    assert is_disk_full(caught.value) and "disk is full" in str(caught.value)
    assert store.count("run") == 2
    assert store._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    store._db.execute("PRAGMA max_page_count = 1000000")  # space freed: the step is done again
    assert store.add_trajectories(batch) == 38
    assert store.count("run") == 40
