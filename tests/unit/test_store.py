"""The trajectory store: WAL, idempotent writes, queries, JSONL export; each test on a SQLite file and on a
PostgreSQL database (marker postgres), which must behave the same."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from cosr.domain import AnswerFormat, Attempt, Task, Trajectory, Verdict, VerifierKind
from cosr.store import TrajectoryStore


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def where(request, tmp_path) -> Path | str:
    """Where a store lives: a SQLite file, or a fresh database on the session's PostgreSQL server."""
    return tmp_path / "s.sqlite" if request.param == "sqlite" else request.getfixturevalue("postgres_url")


def integrity_errors(where) -> tuple[type[Exception], ...]:
    if isinstance(where, str):
        import psycopg

        return (psycopg.IntegrityError,)
    return (sqlite3.IntegrityError,)


def traj(i: int, correct: bool, rnd: int = 1, run: str = "run") -> Trajectory:
    task = Task(id=f"train:addition:L1:s{i}", skill="addition", difficulty=1, prompt=f"What is {i} + 1?",
                answer_format=AnswerFormat.NUMBER, verifier=VerifierKind.MATH, reference=str(i + 1), seed=i)
    answer = str(i + 1) if correct else str(i)
    return Trajectory(id=f"{run}:{i}", run_id=run, round=rnd, step=i, task=task,
                      attempt=Attempt(task_id=task.id, student_id="s", raw_output=answer, adapted_answer=answer),
                      verdict=Verdict(correct=correct, score=float(correct), status="correct" if correct else "wrong"))


def test_sqlite_is_in_wal_mode(tmp_path):
    store = TrajectoryStore(tmp_path / "s.sqlite")
    assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_round_trip(where):
    store = TrajectoryStore(where)
    items = [traj(i, i % 2 == 0) for i in range(6)]
    assert store.add_trajectories(items) == 6
    assert store.trajectories("run") == items
    assert store.count("run", correct=True) == 3


def test_a_raw_output_with_a_nul_byte_is_stored_and_queried(where):
    """A small student at temperature 1 writes any byte; Postgres's jsonb refuses \\u0000, so the queries read json."""
    store = TrajectoryStore(where)
    odd = traj(0, False)
    odd = odd.model_copy(update={"attempt": odd.attempt.model_copy(update={"raw_output": "4\x00 2"})})
    store.add_trajectories([odd, traj(1, True)])
    assert store.trajectories("run")[0].attempt.raw_output == "4\x00 2"
    assert [t.id for t in store.handed_out("run")] == [odd.task.id, traj(1, True).task.id]
    assert [o.id for o in store.outcomes("run")] == ["run:0", "run:1"]


def test_replayed_writes_are_not_duplicated_and_nothing_is_lost(where):
    store = TrajectoryStore(where)
    store.add_trajectories([traj(i, True) for i in range(4)])
    assert store.add_trajectories([traj(i, True) for i in range(2, 6)]) == 2  # 2 and 3 already stored
    store.close()
    reopened = TrajectoryStore(where)
    assert [t.id for t in reopened.trajectories("run")] == [f"run:{i}" for i in range(6)]


def test_a_failing_batch_leaves_the_store_as_it_was(where):
    store = TrajectoryStore(where)
    store.add_trajectories([traj(0, True)])
    bad = traj(1, True).model_copy(update={"run_id": None})  # NOT NULL violated inside the transaction
    with pytest.raises(integrity_errors(where)):
        store.add_trajectories([traj(2, True), bad])
    assert [t.id for t in store.trajectories()] == ["run:0"]
    assert store.add_trajectories([traj(2, True)]) == 1  # the store goes on after a failed transaction


def test_queries_by_round_and_export(where, tmp_path):
    store = TrajectoryStore(where)
    store.add_trajectories([traj(i, i != 1, rnd=1 + i // 3) for i in range(6)])
    assert len(store.trajectories("run", correct=True, round=1)) == 2
    assert len(store.trajectories("run", correct=True, max_round=1)) == 2
    assert store.export_jsonl(tmp_path / "out.jsonl", "run") == 5
    lines = (tmp_path / "out.jsonl").read_text().splitlines()
    assert len(lines) == 5 and all(json.loads(line)["verdict"]["correct"] for line in lines)
    store.record_evaluation("run", 0, {"addition": (3, 4)}, None)
    store.record_evaluation("run", 0, {"addition": (4, 4)}, "round-001")  # replaces, never duplicates
    assert store.evaluations("run") == {0: {"addition": (4, 4)}}
    store.record_round("run", 1, {"examples": 5})
    assert store.rounds("run") == {1: {"examples": 5}}


def test_per_level_evaluations_and_the_frontier_they_give(where):
    from cosr.training import evaluation as frontier

    store = TrajectoryStore(where)
    before = {("addition", 1): (45, 48), ("addition", 2): (10, 48), ("gcd", 2): (20, 48)}
    after = {("addition", 1): (46, 48), ("addition", 2): (22, 48), ("gcd", 2): (18, 48)}
    for rnd, ev in ((0, before), (1, after)):
        store.record_evaluation("r", rnd, {"addition": (0, 0)}, None, per_level=ev)
    levels = store.evaluation_levels("r")
    assert levels == {0: before, 1: after}
    # practised: addition@L2 and gcd@L2 (addition@L1 is practised too, but mastered before the run)
    pairs = frontier.practised_pairs({("addition", 1): 50, ("addition", 2): 400, ("gcd", 2): 300, ("lcm", 1): 5},
                                     levels[0])
    assert pairs == [("addition", 2), ("gcd", 2)]
    # the band reading ignores practice: addition@L1 (94%) is above it, lcm@L1 was never evaluated
    assert frontier.band_pairs(levels[0], (0.1, 0.8)) == [("addition", 2), ("gcd", 2)]
    assert frontier.band_pairs(levels[0], (0.3, 0.8)) == [("gcd", 2)]
    rep = frontier.report(levels, pairs)
    assert rep.accuracy == {"0": round(30 / 96, 4), "1": round(40 / 96, 4)}
    assert rep.gain == round(10 / 96, 4) and 0.05 < rep.gain_stderr < 0.1


def test_per_task_outcomes_give_a_paired_gain(where):
    from cosr.training import evaluation as frontier

    store = TrajectoryStore(where)
    before, after = [1, 0, 0, 1, 0, 0, 1, 0], [1, 1, 0, 1, 1, 0, 1, 0]  # two tasks gained, none lost
    for rnd, outcome in ((0, before), (1, after)):
        store.record_evaluation("r", rnd, {"gcd": (sum(outcome), 8)}, None, per_level={("gcd", 2): (sum(outcome), 8)},
                                per_task=[(f"t{i}", "gcd", 2, bool(ok)) for i, ok in enumerate(outcome)])
    outcomes = store.evaluation_tasks("r")
    assert outcomes[1][("gcd", 2)]["t1"] is True and outcomes[0][("gcd", 2)]["t1"] is False
    rep = frontier.report(store.evaluation_levels("r"), [("gcd", 2)], outcomes=outcomes)
    assert rep.gain == 0.25 and rep.gain_stderr_kind == "paired"
    # differences [0, 1, 0, 0, 1, 0, 0, 0]: sd 0.463 over sqrt(8) tasks
    assert abs(rep.gain_stderr - 0.1637) < 1e-3
    assert rep.gain_stderr < frontier.report(store.evaluation_levels("r"), [("gcd", 2)]).gain_stderr


def fill(store: TrajectoryStore, run: str, n: int) -> None:
    """`n` trajectories of `run` and one row of every other kind."""
    store.add_trajectories([traj(i, i % 2 == 0, run=run) for i in range(n)])
    store.record_evaluation(run, 0, {"addition": (n, 10)}, None, per_level={("addition", 1): (n, 10)},
                            per_task=[(f"t{n}", "addition", 1, True)])
    store.record_round(run, 1, {"examples": n})
    store.add_rehearsal(run, [(f"r{n}", "addition", 1, "p", "o", True)])
    store.record_diagnosis(run, 1, 1, {"n": n})
    assert store.record_explanation(run, f"x{n}", 1, "t", {"n": n})
    assert not store.record_explanation(run, f"x{n}", 2, "t", {"n": 0})  # one explanation a task


def test_each_run_reads_only_its_own_rows(where):
    """Many runs share one PostgreSQL database (a compare on a cluster): every query of a run reads its rows alone."""
    store = TrajectoryStore(where)
    fill(store, "a", 3)
    fill(store, "b", 5)
    for run, n in (("a", 3), ("b", 5)):
        assert store.count(run) == len(store.trajectories(run)) == len(store.outcomes(run)) == n
        assert store.tasks(run) == len(store.handed_out(run)) == n and store.tasks(run, solved=True) == (n + 1) // 2
        assert sum(store.practice(run).values()) == n and store.by_strategy(run) == {"generator": (n, (n + 1) // 2)}
        assert store.verified_by_strategy(run) == {1: {"generator": {("addition", 1): (n + 1) // 2}}}
        assert store.evaluations(run) == {0: {"addition": (n, 10)}}
        assert store.evaluation_levels(run) == {0: {("addition", 1): (n, 10)}}
        assert store.evaluation_tasks(run) == {0: {("addition", 1): {f"t{n}": True}}}
        assert store.rounds(run) == {1: {"examples": n}} and store.diagnoses(run) == {1: {"round": 1, "n": n}}
        assert store.rehearsal(run) == [(f"r{n}", "addition", 1, "p", "o", True)]
        assert store.explanations(run) == {f"x{n}": {"teacher": "t", "n": n}}
    assert store.count() == 8 and store.trajectory("b:4").run_id == "b"


def test_text_sorts_as_bytes(where):
    """Ids sort as SQLite sorts them (by bytes: "B" before "a", "-" before letters) whatever the collation of a
    PostgreSQL database (the test server's is ICU English, where "aC" follows "ac")."""
    store = TrajectoryStore(where)
    ids = ["b", "B", "a-b", "ab", "aC", "ac"]
    store.add_rehearsal("run", [(i, "addition", 1, "p", "o", True) for i in ids])
    assert [row[0] for row in store.rehearsal("run")] == sorted(ids)
    store.add_trajectories([traj(0, True).model_copy(update={"id": i}) for i in ids])
    assert [t.id for t in store.trajectories("run")] == sorted(ids)
