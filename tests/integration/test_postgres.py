"""The PostgreSQL option (`database_url`): the store answers as SQLite's does, processes that share one database
neither race nor write twice, and a `cosr selfplay` killed with SIGKILL mid-round resumes from the database with
no trajectory lost or written twice, the store and the checkpoints both in Postgres, and `cosr ui` reads one run
of a shared database without writing. A throwaway server per session (tests/support/postgres.py)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime

import httpx
import psycopg
import pytest

from cosr.domain import AnswerFormat, Attempt, Help, Provenance, Task, Trajectory, Verdict, VerifierKind
from cosr.store import TrajectoryStore
from tests.support.runs import assert_whole, write_run_toml

pytestmark = pytest.mark.postgres
COSR = [sys.executable, "-m", "cosr.cli"]
WHEN = datetime(2026, 12, 1, tzinfo=UTC)  # the same trajectories, to the microsecond, in both stores


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def trajectory(run: str, step: int, task: int, sample: int, correct: bool, *, rnd: int = 1, helped: bool = False,
               strategy: str = "zpd", skill: str = "addition") -> Trajectory:
    t = Task(id=f"train:{skill}:L{1 + task % 2}:s{task}", skill=skill, difficulty=1 + task % 2, prompt=f"{task} + 1?",
             answer_format=AnswerFormat.NUMBER, verifier=VerifierKind.MATH, reference=str(task + 1), seed=task,
             provenance=Provenance(strategy=strategy))
    answer = str(task + 1) if correct else "x"
    return Trajectory(id=f"{run}:{step}:{sample}:{t.id}" + (":help1" if helped else ""), run_id=run, round=rnd,
                      step=step, task=t,
                      attempt=Attempt(task_id=t.id, student_id="s", raw_output=answer, created_at=WHEN,
                                      help=Help(rung=1, prefix="So") if helped else None),
                      verdict=Verdict(correct=correct, score=float(correct), status="correct" if correct else "wrong"))


def workload(store: TrajectoryStore) -> None:
    """Two runs of two rounds in one store: batches with replays, help, evaluations measured twice, every table."""
    for run in ("zpd-s0", "Random-s0"):
        for step in range(1, 7):
            rnd = 1 + (step > 3)
            batch = [trajectory(run, step, task, sample, (task + sample + step) % 3 == 0, rnd=rnd,
                                strategy="zpd" if task % 2 else "zpd+help", skill="gcd" if task % 3 else "addition")
                     for task in range(step, step + 4) for sample in range(2)]
            batch.append(trajectory(run, step, step, 9, True, rnd=rnd, helped=True))
            assert store.add_trajectories(batch) == len(batch)
            assert store.add_trajectories(batch[:3]) == 0  # a replayed step writes nothing
            store.record_diagnosis(run, step, rnd, {"mastery": {"gcd": step / 10}})
            store.record_explanation(run, batch[0].task.id, step, "worked", {"text": f"step {step}"})
        for rnd in (0, 1, 2):
            per_task = [(f"test:gcd:L{lv}:{i}", "gcd", lv, (i + rnd) % 2 == 0) for lv in (1, 2) for i in range(3)]
            store.record_evaluation(run, rnd, {"gcd": (1, 6)}, None)  # measured again below: replaced
            store.record_evaluation(run, rnd, {"gcd": (rnd, 6), "addition": (2, 6)}, f"round-{rnd:03d}" if rnd else None,
                                    per_level={("gcd", 1): (rnd, 3), ("gcd", 2): (0, 3)}, per_task=per_task)
            store.record_round(run, rnd, {"verified": rnd * 3, "loss": [0.5, 0.25]})
        store.add_rehearsal(run, [(f"train:gcd:L1:s{i}", "gcd", 1, f"p{i}", f"o{i}", i % 2 == 0) for i in (3, 1, 2)])
        store.add_rehearsal(run, [("train:gcd:L1:s1", "gcd", 1, "p1", "again", True)])


def ordered(value: object) -> object:
    """A dict as the list of its items, all the way down: two answers are equal in their order too."""
    return [(k, ordered(v)) for k, v in value.items()] if isinstance(value, dict) else value


def answers(store: TrajectoryStore) -> dict[str, object]:
    """What every query of the store answers, in the order it answers."""
    out: dict[str, object] = {"count": store.count(), "all": [t.id for t in store.trajectories()]}
    for run in ("zpd-s0", "Random-s0"):
        queries = {
            "trajectories": store.trajectories(run), "verified": store.trajectories(run, correct=True),
            "round 2": store.trajectories(run, round=2), "up to 1": store.trajectories(run, max_round=1),
            "handed out": store.handed_out(run), "handed out by 3": store.handed_out(run, max_step=3),
            "outcomes": store.outcomes(run), "by strategy": store.by_strategy(run),
            "count": store.count(run, correct=False, round=1), "tasks": store.tasks(run),
            "solved": store.tasks(run, solved=True), "helped": [store.helped_tasks(run, r) for r in (1, 2)],
            "evaluations": store.evaluations(run), "levels": store.evaluation_levels(run),
            "tasks evaluated": store.evaluation_tasks(run), "practice": store.practice(run),
            "practice to 1": store.practice(run, max_round=1), "verified by strategy": store.verified_by_strategy(run),
            "rounds": store.rounds(run), "rehearsal": store.rehearsal(run), "diagnoses": store.diagnoses(run),
            "explanations": store.explanations(run), "one": store.trajectory(f"{run}:2:1:train:gcd:L1:s2"),
        }
        out |= {f"{run} {name}": ordered(value) for name, value in queries.items()}
    return out


def test_the_store_on_postgres_answers_as_on_sqlite(tmp_path, postgres_url):
    on_sqlite, on_postgres = TrajectoryStore(tmp_path / "s.sqlite"), TrajectoryStore(postgres_url)
    for store in (on_sqlite, on_postgres):
        workload(store)
    expected, got = answers(on_sqlite), answers(on_postgres)
    assert expected["count"] == 2 * 6 * 9 and expected["zpd-s0 helped"] == [3, 3]
    for name in expected:
        assert got[name] == expected[name], name
    assert on_postgres.export_jsonl(tmp_path / "pg.jsonl", "zpd-s0") == on_sqlite.export_jsonl(tmp_path / "s.jsonl", "zpd-s0")
    assert (tmp_path / "pg.jsonl").read_text() == (tmp_path / "s.jsonl").read_text()
    reader = TrajectoryStore(postgres_url, readonly=True)  # the debugger page's: it reads, it cannot write
    assert reader.count("zpd-s0") == 54
    with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        reader.add_trajectories([trajectory("zpd-s0", 99, 0, 0, True)])
    assert reader.count("zpd-s0") == 54


WRITER = """
import sys
from pathlib import Path
from cosr.domain import Trajectory
from cosr.graphs.selfplay import checkpointer
from cosr.store import TrajectoryStore
run, batch = sys.argv[1], [Trajectory.model_validate_json(line) for line in Path(sys.argv[2]).read_text().splitlines()]
if run != "shared":
    batch = [t.model_copy(update={"run_id": run, "id": run + t.id}) for t in batch]
print("ready", flush=True)
for url in sys.stdin:  # one database after another, each when every process is ready for it
    store, saver = TrajectoryStore(url.strip()), checkpointer(url.strip())
    # each batch written twice, as a replayed step is: the second time writes nothing
    print(sum(store.add_trajectories(batch[i:i + 4] * 2) for i in range(0, len(batch), 4)), flush=True)
"""


def test_processes_that_share_a_fresh_database_create_it_once_and_write_nothing_twice(tmp_path, postgres_server):
    """Four processes open one empty database at the same moment (the runs of a compare on a cluster), three times
    over: the store's tables and LangGraph's are created once, each run writes its own rows, and rows that the
    processes all write (one run's step replayed) are stored once."""
    batch = tmp_path / "batch.jsonl"
    batch.write_text("".join(trajectory("shared", 1, task, 0, task % 2 == 0).model_dump_json() + "\n"
                             for task in range(16)))
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, run, str(batch)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for run in ("a", "b", "shared", "shared")]
    try:
        assert [p.stdout.readline() for p in procs] == ["ready\n"] * 4, [p.stderr.read() for p in procs]
        for _ in range(3):
            url = postgres_server.new_database()
            for p in procs:  # all at once: each creates the tables while the others do
                p.stdin.write(url + "\n")
                p.stdin.flush()
            said = [p.stdout.readline().strip() for p in procs]
            assert all(s.isdigit() for s in said), said + [p.stderr.read() for p in procs if p.stdin.close() or True]
            new = [int(s) for s in said]
            assert new[:2] == [16, 16] and sum(new[2:]) == 16  # the shared rows: each stored once, by one of the two
            store = TrajectoryStore(url)
            assert [store.count(run) for run in ("a", "b", "shared")] == [16, 16, 16]
            with psycopg.connect(url) as conn:
                versions = [v for (v,) in conn.execute("SELECT v FROM checkpoint_migrations ORDER BY v")]
            assert len(versions) > 1 and versions == list(range(len(versions)))  # LangGraph's migrations, each once
    finally:
        for p in procs:
            p.kill()
            p.communicate()


def stored_steps(url: str, run_id: str) -> int:
    try:
        with psycopg.connect(url) as conn:
            return conn.execute("SELECT COUNT(DISTINCT step) FROM trajectories WHERE run_id = %s",
                                (run_id,)).fetchone()[0]
    except psycopg.errors.UndefinedTable:  # the schema is not there yet
        return 0


def test_selfplay_killed_mid_round_resumes_from_postgres(tmp_path, tiny_run_config, postgres_url):
    from cosr.config import load_config
    from cosr.graphs.session import SelfPlayRun

    config, run_dir, run_id = tmp_path / "run.toml", tmp_path / "run", "pg-run"
    write_run_toml(tiny_run_config, config, top=f'run_id = "{run_id}"\ndatabase_url = "{postgres_url}"')
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "120"}
    proc = subprocess.Popen([*COSR, "selfplay", "--config", str(config), "--run-dir", str(run_dir)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    deadline = time.monotonic() + 300
    while stored_steps(postgres_url, run_id) < 3:  # kill it in the middle of round 1 or 2
        assert proc.poll() is None, proc.stdout.read()
        assert time.monotonic() < deadline, "the run never got going"
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=120)
    assert proc.returncode == -signal.SIGKILL
    assert stored_steps(postgres_url, run_id) >= 3

    done = subprocess.run([*COSR, "selfplay", "--resume", str(run_dir)], capture_output=True, text=True,
                          env=env, timeout=600, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["run_id"] == run_id and summary["rounds_completed"] == 3

    with psycopg.connect(postgres_url) as conn:
        rows = conn.execute("SELECT step, round, correct, body::jsonb #>> '{task,id}', body::jsonb #>> "
                            "'{attempt,raw_output}' FROM trajectories WHERE run_id = %s", (run_id,)).fetchall()
        checkpoints = conn.execute("SELECT COUNT(*) FROM checkpoints WHERE thread_id = %s", (run_id,)).fetchone()[0]
    assert checkpoints > summary["steps"]  # every step checkpointed, in the database
    assert_whole(rows, summary, tiny_run_config.curator.batch_size * tiny_run_config.student.samples_per_task)
    # Nothing of the run in a SQLite file: what the summary's audit checked is the database's store too (an
    # audit of an empty file would find no leak among nothing)
    assert summary["audit"]["sources"].get("trajectory") == len({task for _, _, _, task, _ in rows})
    assert not (run_dir / "store.sqlite").exists() and not (run_dir / "checkpoints.sqlite").exists()

    # A fresh run under an id the database already holds is refused: it would carry on that run's thread.
    cfg = load_config(config, {"run_dir": tmp_path / "again"})
    with pytest.raises(ValueError, match="run pg-run is already in the database"):
        SelfPlayRun(cfg, log=lambda m: None)


def database_fingerprint(url: str) -> dict[str, tuple]:
    """Every table's row count and a digest of its rows: equal before and after, nothing was written."""
    with psycopg.connect(url) as conn:
        tables = [t for (t,) in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
        return {t: conn.execute(f"SELECT COUNT(*), md5(COALESCE(string_agg(r::text, ',' ORDER BY r::text), ''))"
                                f" FROM {t} r").fetchone() for t in sorted(tables)}


def selfplay_into_database(cfg, url: str, run_dir, run_id: str, seed: int) -> list[tuple[str, int]]:
    """A tiny self-play run whose store and checkpoints are in `url`; its (checkpoint id, step)s, oldest first,
    as the graph's own state history holds them."""
    from cosr.graphs.session import SelfPlayRun

    cfg = cfg.model_copy(update={"run_id": run_id, "run_dir": run_dir, "database_url": url, "seed": seed})
    with SelfPlayRun(cfg, log=lambda m: None) as run:
        for _ in run.events():
            pass
        history = [(s.config["configurable"]["checkpoint_id"], s.values.get("step", 0))
                   for s in run.graph.get_state_history(run.thread)]
    return history[::-1]


def test_the_ui_reads_a_run_in_postgres_and_only_that_run_and_writes_nothing(tmp_path, tiny_run_config,
                                                                              postgres_url):
    """`cosr ui` on a run whose store and checkpoints are in a database shared with another run: its API shows
    that run's checkpoints, states and trajectories, none of the other's, through sessions that cannot write."""
    from fastapi.testclient import TestClient
    from typer.testing import CliRunner

    from cosr.cli import app as cli
    from cosr.ui import create_app

    runs = {name: tmp_path / "runs" / name for name in ("pg-a", "pg-b")}
    history = {name: selfplay_into_database(tiny_run_config, postgres_url, runs[name], name, seed)
               for seed, name in enumerate(runs)}
    with psycopg.connect(postgres_url) as conn:
        trajectories = {name: [i for (i,) in conn.execute("SELECT id FROM trajectories WHERE run_id = %s ORDER BY seq",
                                                          (name,))] for name in runs}
    assert all(history.values()) and all(trajectories.values())
    assert not any((d / "checkpoints.sqlite").exists() or (d / "store.sqlite").exists() for d in runs.values())
    before = database_fingerprint(postgres_url)
    assert {"checkpoints", "checkpoint_writes", "trajectories"} <= set(before)

    for name, other in (("pg-a", "pg-b"), ("pg-b", "pg-a")):
        ui = create_app(runs[name])
        reader = ui.state.reader
        try:
            with TestClient(ui) as client:
                assert client.get("/api/run").json()["run_id"] == name
                assert client.get("/api/version").json() == {"checkpoints": len(history[name]),
                                                             "tasks": len(trajectories[name])}
                listed = client.get("/api/checkpoints").json()
                assert [(c["id"], c["step"]) for c in listed] == history[name]  # oldest first, this run's only
                last_id, last_step = history[name][-1]
                assert last_step > 0 and client.get(f"/api/state/{last_id}").json()["step"] == last_step
                assert client.get(f"/api/state/{history[other][-1][0]}").status_code == 404
                timeline = client.get("/api/timeline").json()
                assert [t["id"] for t in timeline] == trajectories[name]
                ids = {c for c, _ in history[name]}
                assert {t["checkpoint"] for t in timeline} <= ids | {None}
                assert any(t["checkpoint"] for t in timeline)  # each step's trajectories point at its checkpoint
                shown = client.get(f"/api/step/{trajectories[name][0]}").json()
                assert shown["trajectory"]["run_id"] == name and shown["checkpoint"] in ids
                assert client.get(f"/api/step/{trajectories[other][0]}").status_code == 404
                frames = client.get("/api/skills").json()["frames"]
                assert frames and {f["checkpoint"] for f in frames} <= ids
                assert client.get("/api/curves").status_code == 200
            # The sessions it reads through refuse writes: LangGraph's own and the store's.
            with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
                reader.saver.delete_thread(name)
            with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
                reader.store.add_trajectories([trajectory(name, 99, 0, 0, True)])
        finally:
            reader.close()
    assert database_fingerprint(postgres_url) == before

    # The command: a folder whose config.json names a database_url is a run directory; one with neither that
    # nor a checkpoints.sqlite is refused in one line.
    not_a_run = tmp_path / "not-a-run"
    not_a_run.mkdir()
    (not_a_run / "config.json").write_text(json.dumps({"run_id": "x"}))
    refused = CliRunner().invoke(cli, ["ui", "--run-dir", str(not_a_run)])
    assert refused.exit_code == 2 and refused.output.count("\n") == 1 and "not a run directory" in refused.output
    nobody_there = f"postgresql://postgres@127.0.0.1:{free_port()}/x"
    (not_a_run / "config.json").write_text(json.dumps({"run_id": "x", "database_url": nobody_there}))
    unreachable = CliRunner().invoke(cli, ["ui", "--run-dir", str(not_a_run)])
    assert unreachable.exit_code == 2 and unreachable.output.count("\n") == 1, unreachable.output
    assert "cannot reach the run's database" in unreachable.output
    port = free_port()
    served = subprocess.Popen([*COSR, "ui", "--port", str(port)], cwd=tmp_path, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        deadline = time.monotonic() + 120
        while True:  # no --run-dir: the newest run under runs/, pg-b (written last)
            assert served.poll() is None and time.monotonic() < deadline, served.stdout.read()
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/api/run", timeout=5)
                break
            except httpx.TransportError:
                time.sleep(0.5)
        assert answer.json()["run_id"] == "pg-b" and answer.json()["checkpoints"] == len(history["pg-b"])
    finally:
        served.terminate()
        served.communicate(timeout=30)
    assert database_fingerprint(postgres_url) == before
