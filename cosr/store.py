"""The trajectory store: one SQLite file (WAL) per run; every task, attempt and verdict lands here
before the graph moves on, keyed so that a step replayed after a crash writes nothing twice."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

from cosr.domain import Task, Trajectory

SCHEMA = """
CREATE TABLE IF NOT EXISTS trajectories (
    id TEXT PRIMARY KEY,
    run_id TEXT NOT NULL,
    round INTEGER NOT NULL,
    step INTEGER NOT NULL,
    skill TEXT NOT NULL,
    difficulty INTEGER NOT NULL,
    strategy TEXT NOT NULL,
    correct INTEGER NOT NULL,
    status TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX IF NOT EXISTS trajectories_round ON trajectories (run_id, round, correct);
CREATE TABLE IF NOT EXISTS evaluations (
    run_id TEXT NOT NULL,
    round INTEGER NOT NULL,
    skill TEXT NOT NULL,
    correct INTEGER NOT NULL,
    total INTEGER NOT NULL,
    adapter TEXT,
    PRIMARY KEY (run_id, round, skill)
);
CREATE TABLE IF NOT EXISTS evaluation_levels (
    run_id TEXT NOT NULL,
    round INTEGER NOT NULL,
    skill TEXT NOT NULL,
    level INTEGER NOT NULL,
    correct INTEGER NOT NULL,
    total INTEGER NOT NULL,
    PRIMARY KEY (run_id, round, skill, level)
);
CREATE TABLE IF NOT EXISTS evaluation_tasks (
    run_id TEXT NOT NULL,
    round INTEGER NOT NULL,
    task_id TEXT NOT NULL,
    skill TEXT NOT NULL,
    level INTEGER NOT NULL,
    correct INTEGER NOT NULL,
    PRIMARY KEY (run_id, round, task_id)
);
CREATE TABLE IF NOT EXISTS rounds (
    run_id TEXT NOT NULL,
    round INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (run_id, round)
);
CREATE TABLE IF NOT EXISTS rehearsal (
    run_id TEXT NOT NULL,
    task_id TEXT NOT NULL,
    skill TEXT NOT NULL,
    level INTEGER NOT NULL,
    prompt TEXT NOT NULL,
    output TEXT NOT NULL,
    correct INTEGER NOT NULL,
    PRIMARY KEY (run_id, task_id)
);
CREATE TABLE IF NOT EXISTS diagnoses (
    run_id TEXT NOT NULL,
    step INTEGER NOT NULL,
    round INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (run_id, step)
);
CREATE TABLE IF NOT EXISTS explanations (
    run_id TEXT NOT NULL,
    task_id TEXT NOT NULL,
    step INTEGER NOT NULL,
    teacher TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (run_id, task_id)
);
"""


class TrajectoryOutcome(NamedTuple):
    id: str
    step: int
    round: int
    skill: str
    level: int
    strategy: str
    status: str
    correct: bool


_FILTERS = {"run_id": "run_id = ?", "correct": "correct = ?", "round": "round = ?", "max_round": "round <= ?"}


def _where(**given: object) -> tuple[str, list[object]]:
    """A WHERE clause for the trajectory filters that were given (None: not filtered)."""
    used = {k: int(v) if isinstance(v, bool) else v for k, v in given.items() if v is not None}
    clause = " AND ".join(_FILTERS[k] for k in used)
    return (f" WHERE {clause}" if clause else ""), list(used.values())


class TrajectoryStore:
    def __init__(self, path: Path | str, *, readonly: bool = False) -> None:
        """readonly: opened with a `mode=ro` URI, so a reader (the debugger page) can never write to a run
        that is going on next to it; the file must exist."""
        self.path = Path(path)
        # check_same_thread=False: LangGraph may run a node in a worker thread; writes are serialised by SQLite.
        if readonly:
            if not self.path.exists():
                raise FileNotFoundError(f"{self.path} does not exist (not a run directory?)")
            self._db = sqlite3.connect(f"file:{self.path.resolve()}?mode=ro", uri=True, check_same_thread=False,
                                       isolation_level=None)
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def add_trajectories(self, items: list[Trajectory]) -> int:
        """Insert in one transaction; an id already stored is left as it is. Returns how many were new."""
        with self._tx() as db:
            before = db.total_changes
            db.executemany(
                # ON CONFLICT(id), not OR IGNORE: only a replayed id is skipped; any other violation raises.
                "INSERT INTO trajectories (id, run_id, round, step, skill, difficulty, strategy, correct, status, body)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING",
                [
                    (
                        t.id, t.run_id, t.round, t.step, t.task.skill, t.task.difficulty,
                        t.task.provenance.strategy, int(t.verdict.correct), t.verdict.status, t.model_dump_json(),
                    )
                    for t in items
                ],
            )
            return db.total_changes - before

    def trajectories(
        self, run_id: str | None = None, *, correct: bool | None = None, round: int | None = None,
        max_round: int | None = None,
    ) -> list[Trajectory]:
        where, args = _where(run_id=run_id, correct=correct, round=round, max_round=max_round)
        rows = self._db.execute(f"SELECT body FROM trajectories{where} ORDER BY step, id", args).fetchall()
        return [Trajectory.model_validate_json(r[0]) for r in rows]

    def handed_out(self, run_id: str, *, max_step: int | None = None) -> list[Task]:
        """The distinct tasks handed out (up to and including `max_step`), in the order they were."""
        rows = self._db.execute(
            "SELECT json_extract(body, '$.task') FROM trajectories WHERE run_id = ? AND step <= ? "
            "GROUP BY json_extract(body, '$.task.id') ORDER BY MIN(step), MIN(id)",
            (run_id, 2**62 if max_step is None else max_step)).fetchall()
        return [Task.model_validate_json(r[0]) for r in rows]

    def trajectory(self, traj_id: str) -> Trajectory | None:
        row = self._db.execute("SELECT body FROM trajectories WHERE id = ?", (traj_id,)).fetchone()
        return None if row is None else Trajectory.model_validate_json(row[0])

    def outcomes(self, run_id: str) -> list[TrajectoryOutcome]:
        """Every trajectory's outcome, without its body, in the order they were written (the timeline)."""
        rows = self._db.execute("SELECT id, step, round, skill, difficulty, strategy, status, correct FROM trajectories"
                                " WHERE run_id = ? ORDER BY rowid", (run_id,))
        return [TrajectoryOutcome(i, step, rnd, skill, lv, strategy, status, bool(ok))
                for i, step, rnd, skill, lv, strategy, status, ok in rows]

    def by_strategy(self, run_id: str) -> dict[str, tuple[int, int]]:
        """(trajectories, verified correct) per curriculum strategy that made their tasks."""
        rows = self._db.execute("SELECT strategy, COUNT(*), SUM(correct) FROM trajectories WHERE run_id = ?"
                                " GROUP BY strategy", (run_id,))
        return {strategy: (n, c) for strategy, n, c in rows}

    def count(self, run_id: str | None = None, *, correct: bool | None = None, round: int | None = None) -> int:
        where, args = _where(run_id=run_id, correct=correct, round=round)
        return self._db.execute(f"SELECT COUNT(*) FROM trajectories{where}", args).fetchone()[0]

    def tasks(self, run_id: str, *, solved: bool = False) -> int:
        """Distinct tasks attempted (a task has one trajectory per sample); solved: with a verified sample of
        the student's own (an answer written with the Teacher's help, `Attempt.help`, is not one)."""
        return self._db.execute(
            "SELECT COUNT(DISTINCT json_extract(body, '$.task.id')) FROM trajectories WHERE run_id = ?"
            + (" AND correct = 1 AND json_extract(body, '$.attempt.help') IS NULL" if solved else ""),
            (run_id,)).fetchone()[0]

    def helped_tasks(self, run_id: str, round: int) -> int:
        """Distinct tasks of a round the student solved with the Teacher's help (`Attempt.help`)."""
        return self._db.execute(
            "SELECT COUNT(DISTINCT json_extract(body, '$.task.id')) FROM trajectories WHERE run_id = ? AND round = ?"
            " AND correct = 1 AND json_extract(body, '$.attempt.help') IS NOT NULL", (run_id, round)).fetchone()[0]

    def record_evaluation(self, run_id: str, round: int, per_skill: dict[str, tuple[int, int]], adapter: str | None,
                          per_level: dict[tuple[str, int], tuple[int, int]] | None = None,
                          per_task: list[tuple[str, str, int, bool]] | None = None) -> None:
        """Counts per skill and per (skill, level), and each (task id, skill, level, solved)."""
        with self._tx() as db:
            db.executemany(
                "INSERT OR REPLACE INTO evaluations VALUES (?, ?, ?, ?, ?, ?)",
                [(run_id, round, skill, c, n, adapter) for skill, (c, n) in per_skill.items()],
            )
            db.executemany(
                "INSERT OR REPLACE INTO evaluation_levels VALUES (?, ?, ?, ?, ?, ?)",
                [(run_id, round, skill, lv, c, n) for (skill, lv), (c, n) in (per_level or {}).items()],
            )
            db.executemany(
                "INSERT OR REPLACE INTO evaluation_tasks VALUES (?, ?, ?, ?, ?, ?)",
                [(run_id, round, tid, skill, lv, int(ok)) for tid, skill, lv, ok in (per_task or [])],
            )

    def evaluation_tasks(self, run_id: str) -> dict[int, dict[tuple[str, int], dict[str, bool]]]:
        """round -> (skill, level) -> task id -> solved."""
        out: dict[int, dict[tuple[str, int], dict[str, bool]]] = {}
        for rnd, tid, skill, lv, ok in self._db.execute(
            "SELECT round, task_id, skill, level, correct FROM evaluation_tasks WHERE run_id = ?", (run_id,),
        ):
            out.setdefault(rnd, {}).setdefault((skill, lv), {})[tid] = bool(ok)
        return out

    def evaluation_levels(self, run_id: str) -> dict[int, dict[tuple[str, int], tuple[int, int]]]:
        out: dict[int, dict[tuple[str, int], tuple[int, int]]] = {}
        for rnd, skill, lv, c, n in self._db.execute(
            "SELECT round, skill, level, correct, total FROM evaluation_levels WHERE run_id = ? ORDER BY round",
            (run_id,),
        ):
            out.setdefault(rnd, {})[(skill, lv)] = (c, n)
        return out

    def practice(self, run_id: str, *, max_round: int | None = None) -> dict[tuple[str, int], int]:
        """Samples attempted (trajectories) per (skill, level), over the run or up to `max_round`."""
        where, args = _where(run_id=run_id, max_round=max_round)
        return {(s, lv): n for s, lv, n in self._db.execute(
            f"SELECT skill, difficulty, COUNT(*) FROM trajectories{where} GROUP BY skill, difficulty", args)}

    def verified_by_strategy(self, run_id: str) -> dict[int, dict[str, dict[tuple[str, int], int]]]:
        """Verified samples per round, per strategy (arm) that made the task, per (skill, level)."""
        out: dict[int, dict[str, dict[tuple[str, int], int]]] = {}
        for rnd, strategy, skill, level, n in self._db.execute(
                "SELECT round, strategy, skill, difficulty, COUNT(*) FROM trajectories WHERE run_id = ? AND correct = 1 "
                "GROUP BY round, strategy, skill, difficulty", (run_id,)):
            out.setdefault(rnd, {}).setdefault(strategy, {})[(skill, level)] = n
        return out

    def evaluations(self, run_id: str) -> dict[int, dict[str, tuple[int, int]]]:
        out: dict[int, dict[str, tuple[int, int]]] = {}
        for rnd, skill, c, n in self._db.execute(
            "SELECT round, skill, correct, total FROM evaluations WHERE run_id = ? ORDER BY round, skill", (run_id,)
        ):
            out.setdefault(rnd, {})[skill] = (c, n)
        return out

    def record_round(self, run_id: str, round: int, info: dict[str, Any]) -> None:
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO rounds VALUES (?, ?, ?)", (run_id, round, json.dumps(info)))

    def rounds(self, run_id: str) -> dict[int, dict[str, Any]]:
        rows = self._db.execute("SELECT round, body FROM rounds WHERE run_id = ? ORDER BY round", (run_id,))
        return {r: json.loads(b) for r, b in rows}

    def add_rehearsal(self, run_id: str, rows: list[tuple[str, str, int, str, str, bool]]) -> None:
        """The rehearsal set: (task id, skill, level, task prompt, the student's output, verified correct)."""
        with self._tx() as db:
            db.executemany("INSERT OR REPLACE INTO rehearsal VALUES (?, ?, ?, ?, ?, ?, ?)",
                           [(run_id, tid, skill, lv, prompt, out, int(ok)) for tid, skill, lv, prompt, out, ok in rows])

    def rehearsal(self, run_id: str) -> list[tuple[str, str, int, str, str, bool]] | None:
        """The rows given to add_rehearsal, in task-id order; None if the run has no rehearsal set yet."""
        rows = self._db.execute("SELECT task_id, skill, level, prompt, output, correct FROM rehearsal WHERE run_id = ?"
                                " ORDER BY task_id", (run_id,)).fetchall()
        return [(t, s, lv, p, o, bool(ok)) for t, s, lv, p, o, ok in rows] or None

    def record_diagnosis(self, run_id: str, step: int, round: int, info: dict[str, Any]) -> None:
        """The Diagnostician's belief after a step (mastery, missing-skill profile, mistakes); a replayed step overwrites."""
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO diagnoses VALUES (?, ?, ?, ?)", (run_id, step, round, json.dumps(info)))

    def diagnoses(self, run_id: str) -> dict[int, dict[str, Any]]:
        rows = self._db.execute("SELECT step, round, body FROM diagnoses WHERE run_id = ? ORDER BY step", (run_id,))
        return {step: {"round": rnd, **json.loads(b)} for step, rnd, b in rows}

    def record_explanation(self, run_id: str, task_id: str, step: int, teacher: str, body: dict[str, Any]) -> bool:
        """A teacher's explanation of a failed task; False if that task already has one (the budget is not spent twice)."""
        with self._tx() as db:
            before = db.total_changes
            db.execute("INSERT INTO explanations VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                       (run_id, task_id, step, teacher, json.dumps(body)))
            return db.total_changes > before

    def explanations(self, run_id: str) -> dict[str, dict[str, Any]]:
        rows = self._db.execute("SELECT task_id, teacher, body FROM explanations WHERE run_id = ? ORDER BY step, task_id",
                                (run_id,))
        return {t: {"teacher": who, **json.loads(b)} for t, who, b in rows}

    def export_jsonl(self, path: Path, run_id: str | None = None, *, verified_only: bool = True) -> int:
        """Write trajectories as JSON lines (verified ones by default); returns the count."""
        items = self.trajectories(run_id, correct=True if verified_only else None)
        with open(path, "w") as f:
            for t in items:
                f.write(t.model_dump_json() + "\n")
        return len(items)

    def close(self) -> None:
        self._db.close()
