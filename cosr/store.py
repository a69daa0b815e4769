"""The trajectory store: every task, attempt and verdict lands here before the graph moves on, keyed so that a
step replayed after a crash writes nothing twice. One SQLite file (WAL) per run by default, or one PostgreSQL
database (a postgresql:// URL) that many runs share, every row keyed by its run: one SQL text serves both (ON
CONFLICT upserts are standard in both), and the few places where they differ are a `Dialect`."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from cosr.domain import Task, Trajectory

STORE_FILE = "store.sqlite"
URL_SCHEMES = ("postgresql://", "postgres://")

SCHEMA = """
CREATE TABLE IF NOT EXISTS trajectories (
    id {text} PRIMARY KEY,
    run_id {text} NOT NULL,
    round INTEGER NOT NULL,
    step INTEGER NOT NULL,
    skill {text} NOT NULL,
    difficulty INTEGER NOT NULL,
    strategy {text} NOT NULL,
    correct INTEGER NOT NULL,
    status {text} NOT NULL,
    body {text} NOT NULL,
    {last_columns}
);
CREATE INDEX IF NOT EXISTS trajectories_round ON trajectories (run_id, round, correct);
CREATE TABLE IF NOT EXISTS evaluations (
    run_id {text} NOT NULL,
    round INTEGER NOT NULL,
    skill {text} NOT NULL,
    correct INTEGER NOT NULL,
    total INTEGER NOT NULL,
    adapter {text},
    PRIMARY KEY (run_id, round, skill)
);
CREATE TABLE IF NOT EXISTS evaluation_levels (
    run_id {text} NOT NULL,
    round INTEGER NOT NULL,
    skill {text} NOT NULL,
    level INTEGER NOT NULL,
    correct INTEGER NOT NULL,
    total INTEGER NOT NULL,
    PRIMARY KEY (run_id, round, skill, level)
);
CREATE TABLE IF NOT EXISTS evaluation_tasks (
    run_id {text} NOT NULL,
    round INTEGER NOT NULL,
    task_id {text} NOT NULL,
    skill {text} NOT NULL,
    level INTEGER NOT NULL,
    correct INTEGER NOT NULL,
    PRIMARY KEY (run_id, round, task_id)
);
CREATE TABLE IF NOT EXISTS rounds (
    run_id {text} NOT NULL,
    round INTEGER NOT NULL,
    body {text} NOT NULL,
    PRIMARY KEY (run_id, round)
);
CREATE TABLE IF NOT EXISTS rehearsal (
    run_id {text} NOT NULL,
    task_id {text} NOT NULL,
    skill {text} NOT NULL,
    level INTEGER NOT NULL,
    prompt {text} NOT NULL,
    output {text} NOT NULL,
    correct INTEGER NOT NULL,
    PRIMARY KEY (run_id, task_id)
);
CREATE TABLE IF NOT EXISTS diagnoses (
    run_id {text} NOT NULL,
    step INTEGER NOT NULL,
    round INTEGER NOT NULL,
    body {text} NOT NULL,
    PRIMARY KEY (run_id, step)
);
CREATE TABLE IF NOT EXISTS explanations (
    run_id {text} NOT NULL,
    task_id {text} NOT NULL,
    step INTEGER NOT NULL,
    teacher {text} NOT NULL,
    body {text} NOT NULL,
    PRIMARY KEY (run_id, task_id)
);
"""

# Tables written with INSERT OR REPLACE's meaning (a row already under its key takes the new values): columns, key.
REPLACED = {
    "evaluations": ("run_id, round, skill, correct, total, adapter", "run_id, round, skill"),
    "evaluation_levels": ("run_id, round, skill, level, correct, total", "run_id, round, skill, level"),
    "evaluation_tasks": ("run_id, round, task_id, skill, level, correct", "run_id, round, task_id"),
    "rounds": ("run_id, round, body", "run_id, round"),
    "rehearsal": ("run_id, task_id, skill, level, prompt, output, correct", "run_id, task_id"),
    "diagnoses": ("run_id, step, round, body", "run_id, step"),
}


def _replace(table: str) -> str:
    columns, key = REPLACED[table]
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns.split(", ") if c not in key.split(", "))
    marks = ", ".join("?" * (columns.count(",") + 1))
    return f"INSERT INTO {table} ({columns}) VALUES ({marks}) ON CONFLICT ({key}) DO UPDATE SET {updates}"


def is_database_url(where: Path | str | None) -> bool:
    return isinstance(where, str) and where.startswith(URL_SCHEMES)


def run_store(run_dir: Path, database_url: str | None = None, *, readonly: bool = False) -> TrajectoryStore:
    """A run's store: the shared database its configuration names (`database_url`), else store.sqlite in its folder."""
    return TrajectoryStore(database_url or Path(run_dir) / STORE_FILE, readonly=readonly)


@dataclass(frozen=True)
class Dialect:
    """What differs between SQLite and PostgreSQL in this module's SQL (written with "?" placeholders)."""

    param: str
    begin: str  # SQLite: IMMEDIATE takes the write lock at once, so two writers queue instead of failing
    text: str  # Postgres: COLLATE "C", byte order as in SQLite whatever the database's collation (ORDER BY id)
    last_columns: str  # trajectories': when each was written, and on Postgres their order (SQLite has its rowid)
    written: str  # the column that gives the order trajectories were written in
    json: Callable[[str], str]  # the JSON value at a dotted path of `body`, as text (a JSON null as NULL)
    in_transaction: Callable[[Any], bool]  # of a connection

    def schema(self) -> str:
        return SCHEMA.format(text=self.text, last_columns=self.last_columns)


SQLITE = Dialect("?", "BEGIN IMMEDIATE", "TEXT",
                 "created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
                 "rowid", lambda path: f"json_extract(body, '$.{path}')", lambda db: db.in_transaction)
POSTGRES = Dialect("%s", "BEGIN", 'TEXT COLLATE "C"',
                   "created_at TIMESTAMPTZ NOT NULL DEFAULT now(),\n    seq BIGINT GENERATED ALWAYS AS IDENTITY",
                   # \u0000 (a student writes any byte) is JSON, no Postgres text: swapped (never in the fields read)
                   "seq", lambda path: f"(replace(body, '\\u0000', '\\ufffd')::json #>> '{{{path.replace('.', ',')}}}')",
                   lambda db: db.info.transaction_status.name in ("INTRANS", "INERROR"))
SCHEMA_LOCK = 0x636F7372  # "cosr": processes that open one fresh database at once create its tables one at a time


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
    def __init__(self, where: Path | str, *, readonly: bool = False) -> None:
        """`where`: a SQLite file, or a postgresql:// URL (a database shared by many runs). readonly: a reader
        (the debugger page) can never write to a run going on next to it; a SQLite file must exist."""
        self.path: Path | None = None  # the SQLite file; None on a database server
        if is_database_url(where):
            try:
                import psycopg
            except ImportError:
                raise ImportError("a postgresql:// database_url needs psycopg: pip install 'cosr[postgres]'") from None
            # autocommit: this module opens its transactions itself, as on SQLite; a reader's session cannot write.
            self.dialect, self._db = POSTGRES, psycopg.connect(
                str(where), autocommit=True, options="-c default_transaction_read_only=on" if readonly else None)
            if not readonly:
                with self._tx() as db:
                    db.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
                    db.execute(self.dialect.schema())
            return
        self.dialect, path = SQLITE, Path(where)
        self.path = path
        # check_same_thread=False: LangGraph may run a node in a worker thread; writes are serialised by SQLite.
        if readonly:
            if not path.exists():
                raise FileNotFoundError(f"{path} does not exist (not a run directory?)")
            self._db = sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True, check_same_thread=False,
                                       isolation_level=None)
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(self.dialect.schema())

    def _sql(self, sql: str) -> str:
        return sql.replace("?", self.dialect.param)

    def _query(self, sql: str, args: tuple | list = ()) -> Any:
        return self._db.execute(self._sql(sql), args)

    def _many(self, sql: str, rows: list[tuple]) -> int:
        """`sql` once per row; how many rows it changed (a conflict skipped by DO NOTHING changes none)."""
        cursor = self._db.cursor()
        cursor.executemany(self._sql(sql), rows)
        return cursor.rowcount

    @contextmanager
    def _tx(self) -> Iterator[Any]:
        self._db.execute(self.dialect.begin)
        try:
            yield self._db
            self._db.execute("COMMIT")
        except BaseException:
            # A full disk (SQLITE_FULL) may fail the COMMIT itself, and may have rolled the transaction back
            # already (a lost server connection has no transaction left): undo what is left, if anything, so
            # the error that stops the run is that one.
            if self.dialect.in_transaction(self._db):
                self._db.execute("ROLLBACK")
            raise

    def add_trajectories(self, items: list[Trajectory]) -> int:
        """Insert in one transaction; an id already stored is left as it is. Returns how many were new."""
        rows = [(t.id, t.run_id, t.round, t.step, t.task.skill, t.task.difficulty, t.task.provenance.strategy,
                 int(t.verdict.correct), t.verdict.status, t.model_dump_json()) for t in items]
        with self._tx():
            # ON CONFLICT(id), not OR IGNORE: only a replayed id is skipped; any other violation raises.
            return self._many("INSERT INTO trajectories (id, run_id, round, step, skill, difficulty, strategy, correct,"
                              " status, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING", rows)

    def trajectories(
        self, run_id: str | None = None, *, correct: bool | None = None, round: int | None = None,
        max_round: int | None = None,
    ) -> list[Trajectory]:
        """run_id None: every run's (a shared database holds many)."""
        where, args = _where(run_id=run_id, correct=correct, round=round, max_round=max_round)
        rows = self._query(f"SELECT body FROM trajectories{where} ORDER BY step, id", args).fetchall()
        return [Trajectory.model_validate_json(r[0]) for r in rows]

    def handed_out(self, run_id: str, *, max_step: int | None = None) -> list[Task]:
        """The distinct tasks handed out (up to and including `max_step`), in the order they were."""
        # MIN(task): any one of its copies (one per sample, all the same); Postgres has no bare columns in a GROUP BY
        task, task_id = self.dialect.json("task"), self.dialect.json("task.id")
        rows = self._query(
            f"SELECT MIN({task}) FROM trajectories WHERE run_id = ? AND step <= ? "
            f"GROUP BY {task_id} ORDER BY MIN(step), MIN(id)",
            (run_id, 2**62 if max_step is None else max_step)).fetchall()
        return [Task.model_validate_json(r[0]) for r in rows]

    def trajectory(self, traj_id: str) -> Trajectory | None:
        """By id, which names its run (agents/recorder.py, trajectory_id)."""
        row = self._query("SELECT body FROM trajectories WHERE id = ?", (traj_id,)).fetchone()
        return None if row is None else Trajectory.model_validate_json(row[0])

    def outcomes(self, run_id: str) -> list[TrajectoryOutcome]:
        """Every trajectory's outcome, without its body, in the order they were written (the timeline)."""
        rows = self._query("SELECT id, step, round, skill, difficulty, strategy, status, correct FROM trajectories"
                           f" WHERE run_id = ? ORDER BY {self.dialect.written}", (run_id,))
        return [TrajectoryOutcome(i, step, rnd, skill, lv, strategy, status, bool(ok))
                for i, step, rnd, skill, lv, strategy, status, ok in rows]

    def by_strategy(self, run_id: str) -> dict[str, tuple[int, int]]:
        """(trajectories, verified correct) per curriculum strategy that made their tasks."""
        rows = self._query("SELECT strategy, COUNT(*), SUM(correct) FROM trajectories WHERE run_id = ?"
                           " GROUP BY strategy ORDER BY strategy", (run_id,))
        return {strategy: (n, c) for strategy, n, c in rows}

    def count(self, run_id: str | None = None, *, correct: bool | None = None, round: int | None = None) -> int:
        where, args = _where(run_id=run_id, correct=correct, round=round)
        return self._query(f"SELECT COUNT(*) FROM trajectories{where}", args).fetchone()[0]

    def tasks(self, run_id: str, *, solved: bool = False) -> int:
        """Distinct tasks attempted (a task has one trajectory per sample); solved: with a verified sample of
        the student's own (an answer written with the Teacher's help, `Attempt.help`, is not one)."""
        task_id, help_ = self.dialect.json("task.id"), self.dialect.json("attempt.help")
        return self._query(
            f"SELECT COUNT(DISTINCT {task_id}) FROM trajectories WHERE run_id = ?"
            + (f" AND correct = 1 AND {help_} IS NULL" if solved else ""),
            (run_id,)).fetchone()[0]

    def helped_tasks(self, run_id: str, round: int) -> int:
        """Distinct tasks of a round the student solved with the Teacher's help (`Attempt.help`)."""
        task_id, help_ = self.dialect.json("task.id"), self.dialect.json("attempt.help")
        return self._query(
            f"SELECT COUNT(DISTINCT {task_id}) FROM trajectories WHERE run_id = ? AND round = ?"
            f" AND correct = 1 AND {help_} IS NOT NULL", (run_id, round)).fetchone()[0]

    def record_evaluation(self, run_id: str, round: int, per_skill: dict[str, tuple[int, int]], adapter: str | None,
                          per_level: dict[tuple[str, int], tuple[int, int]] | None = None,
                          per_task: list[tuple[str, str, int, bool]] | None = None) -> None:
        """Counts per skill and per (skill, level), and each (task id, skill, level, solved); replaces a round's."""
        with self._tx():
            self._many(_replace("evaluations"),
                       [(run_id, round, skill, c, n, adapter) for skill, (c, n) in per_skill.items()])
            self._many(_replace("evaluation_levels"),
                       [(run_id, round, skill, lv, c, n) for (skill, lv), (c, n) in (per_level or {}).items()])
            self._many(_replace("evaluation_tasks"),
                       [(run_id, round, tid, skill, lv, int(ok)) for tid, skill, lv, ok in (per_task or [])])

    def evaluation_tasks(self, run_id: str) -> dict[int, dict[tuple[str, int], dict[str, bool]]]:
        """round -> (skill, level) -> task id -> solved."""
        out: dict[int, dict[tuple[str, int], dict[str, bool]]] = {}
        for rnd, tid, skill, lv, ok in self._query(
            "SELECT round, task_id, skill, level, correct FROM evaluation_tasks WHERE run_id = ?"
            " ORDER BY round, task_id", (run_id,),
        ):
            out.setdefault(rnd, {}).setdefault((skill, lv), {})[tid] = bool(ok)
        return out

    def evaluation_levels(self, run_id: str) -> dict[int, dict[tuple[str, int], tuple[int, int]]]:
        out: dict[int, dict[tuple[str, int], tuple[int, int]]] = {}
        for rnd, skill, lv, c, n in self._query(
            "SELECT round, skill, level, correct, total FROM evaluation_levels WHERE run_id = ?"
            " ORDER BY round, skill, level", (run_id,),
        ):
            out.setdefault(rnd, {})[(skill, lv)] = (c, n)
        return out

    def practice(self, run_id: str, *, max_round: int | None = None) -> dict[tuple[str, int], int]:
        """Samples attempted (trajectories) per (skill, level), over the run or up to `max_round`."""
        where, args = _where(run_id=run_id, max_round=max_round)
        return {(s, lv): n for s, lv, n in self._query(
            f"SELECT skill, difficulty, COUNT(*) FROM trajectories{where} GROUP BY skill, difficulty"
            " ORDER BY skill, difficulty", args)}

    def verified_by_strategy(self, run_id: str) -> dict[int, dict[str, dict[tuple[str, int], int]]]:
        """Verified samples per round, per strategy (arm) that made the task, per (skill, level)."""
        out: dict[int, dict[str, dict[tuple[str, int], int]]] = {}
        for rnd, strategy, skill, level, n in self._query(
                "SELECT round, strategy, skill, difficulty, COUNT(*) FROM trajectories WHERE run_id = ? AND correct = 1"
                " GROUP BY round, strategy, skill, difficulty ORDER BY round, strategy, skill, difficulty", (run_id,)):
            out.setdefault(rnd, {}).setdefault(strategy, {})[(skill, level)] = n
        return out

    def evaluations(self, run_id: str) -> dict[int, dict[str, tuple[int, int]]]:
        out: dict[int, dict[str, tuple[int, int]]] = {}
        for rnd, skill, c, n in self._query(
            "SELECT round, skill, correct, total FROM evaluations WHERE run_id = ? ORDER BY round, skill", (run_id,)
        ):
            out.setdefault(rnd, {})[skill] = (c, n)
        return out

    def record_round(self, run_id: str, round: int, info: dict[str, Any]) -> None:
        with self._tx():
            self._many(_replace("rounds"), [(run_id, round, json.dumps(info))])

    def rounds(self, run_id: str) -> dict[int, dict[str, Any]]:
        rows = self._query("SELECT round, body FROM rounds WHERE run_id = ? ORDER BY round", (run_id,))
        return {r: json.loads(b) for r, b in rows}

    def add_rehearsal(self, run_id: str, rows: list[tuple[str, str, int, str, str, bool]]) -> None:
        """The rehearsal set: (task id, skill, level, task prompt, the student's output, verified correct)."""
        with self._tx():
            self._many(_replace("rehearsal"),
                       [(run_id, tid, skill, lv, prompt, out, int(ok)) for tid, skill, lv, prompt, out, ok in rows])

    def rehearsal(self, run_id: str) -> list[tuple[str, str, int, str, str, bool]] | None:
        """The rows given to add_rehearsal, in task-id order; None if the run has no rehearsal set yet."""
        rows = self._query("SELECT task_id, skill, level, prompt, output, correct FROM rehearsal WHERE run_id = ?"
                           " ORDER BY task_id", (run_id,)).fetchall()
        return [(t, s, lv, p, o, bool(ok)) for t, s, lv, p, o, ok in rows] or None

    def record_diagnosis(self, run_id: str, step: int, round: int, info: dict[str, Any]) -> None:
        """The Diagnostician's belief after a step (mastery, missing-skill profile, mistakes); a replayed step overwrites."""
        with self._tx():
            self._many(_replace("diagnoses"), [(run_id, step, round, json.dumps(info))])

    def diagnoses(self, run_id: str) -> dict[int, dict[str, Any]]:
        rows = self._query("SELECT step, round, body FROM diagnoses WHERE run_id = ? ORDER BY step", (run_id,))
        return {step: {"round": rnd, **json.loads(b)} for step, rnd, b in rows}

    def record_explanation(self, run_id: str, task_id: str, step: int, teacher: str, body: dict[str, Any]) -> bool:
        """A teacher's explanation of a failed task; False if that task already has one (the budget is not spent twice)."""
        with self._tx():
            return self._many("INSERT INTO explanations (run_id, task_id, step, teacher, body) VALUES (?, ?, ?, ?, ?)"
                              " ON CONFLICT DO NOTHING", [(run_id, task_id, step, teacher, json.dumps(body))]) > 0

    def explanations(self, run_id: str) -> dict[str, dict[str, Any]]:
        rows = self._query("SELECT task_id, teacher, body FROM explanations WHERE run_id = ? ORDER BY step, task_id",
                           (run_id,))
        return {t: {"teacher": who, **json.loads(b)} for t, who, b in rows}

    def export_jsonl(self, path: Path, run_id: str | None = None, *, verified_only: bool = True) -> int:
        """Write trajectories as JSON lines (verified ones by default; run_id None: every run's); returns the count."""
        items = self.trajectories(run_id, correct=True if verified_only else None)
        with open(path, "w") as f:
            for t in items:
                f.write(t.model_dump_json() + "\n")
        return len(items)

    def close(self) -> None:
        self._db.close()
