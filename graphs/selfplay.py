"""The self-play state machine, assembled in one place:

    evaluate(baseline) -> diagnostician -> curator -> student -> answer_adapter -> verifier -> teacher -> record
    record -> train -> evaluate -> diagnostician ...   when a round has gathered enough
    record -> diagnostician                            otherwise

`build_graph()` returns the uncompiled builder so tests and the server compile it with their own
checkpointer; `compile_graph()` uses the run's SQLite file, or the shared PostgreSQL database it is given.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime

from cosr.agents.answer_adapter import adapt
from cosr.agents.curator import curate
from cosr.agents.diagnostician import diagnose
from cosr.agents.evaluator import evaluate
from cosr.agents.recorder import record
from cosr.agents.student import attempt
from cosr.agents.teacher import teach
from cosr.agents.trainer import train
from cosr.agents.verifier import verify
from cosr.graphs.context import Context
from cosr.graphs.state import CHECKPOINT_TYPES, SelfPlayState
from cosr.store import is_database_url

SETUP_LOCK = 0x636B7074  # "ckpt": the runs of a compare start together; one at a time creates the tables


def route_start(state: SelfPlayState) -> Literal["evaluate", "diagnostician"]:
    return "diagnostician" if state.get("evaluations") else "evaluate"


def route_after_record(state: SelfPlayState, runtime: Runtime[Context]) -> Literal["train", "diagnostician", "__end__"]:
    cfg = runtime.context.config
    if (state.get("round_verified", 0) >= cfg.training.every_verified
            or state.get("round_tasks", 0) >= cfg.training.max_tasks_per_round):
        return "train"
    if state.get("step", 0) >= cfg.max_steps:
        return END
    return "diagnostician"


def route_after_evaluate(state: SelfPlayState, runtime: Runtime[Context]) -> Literal["diagnostician", "__end__"]:
    cfg = runtime.context.config
    if state.get("rounds_done", 0) >= cfg.rounds or state.get("step", 0) >= cfg.max_steps:
        return END
    return "diagnostician"


def build_graph(context_schema: type = Context, wrap: Callable[[Callable], Callable] = lambda f: f) -> StateGraph:
    """`wrap` (the langgraph server, cosr/langgraph_server.py) adapts every node and router to another context."""
    g = StateGraph(SelfPlayState, context_schema=context_schema)
    for name, node in (("evaluate", evaluate), ("diagnostician", diagnose), ("curator", curate), ("student", attempt),
                       ("answer_adapter", adapt), ("verifier", verify), ("teacher", teach), ("record", record), ("train", train)):
        g.add_node(name, wrap(node))
    g.add_conditional_edges(START, route_start)
    g.add_edge("diagnostician", "curator")
    g.add_edge("curator", "student")
    g.add_edge("student", "answer_adapter")
    g.add_edge("answer_adapter", "verifier")
    g.add_edge("verifier", "teacher")
    g.add_edge("teacher", "record")
    g.add_conditional_edges("record", wrap(route_after_record))
    g.add_edge("train", "evaluate")
    g.add_conditional_edges("evaluate", wrap(route_after_evaluate))
    return g


def checkpointer(where: Path | str) -> BaseCheckpointSaver:
    """A SQLite file (WAL), or a postgresql:// URL: a database many runs share, each its own thread (its run id)."""
    serde = JsonPlusSerializer(allowed_msgpack_modules=CHECKPOINT_TYPES)
    if is_database_url(where):
        return postgres_checkpointer(str(where), serde)
    conn = sqlite3.connect(where, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    return SqliteSaver(conn, serde=serde)


def postgres_checkpointer(url: str, serde: JsonPlusSerializer, *, readonly: bool = False) -> BaseCheckpointSaver:
    """`readonly` (cosr ui): a session the server refuses every write to, and no setup (the run did it)."""
    try:
        from langgraph.checkpoint.postgres import PostgresSaver
        from psycopg import Connection, OperationalError
        from psycopg.rows import dict_row
    except ImportError:
        raise ImportError("a postgresql:// database_url needs langgraph-checkpoint-postgres: "
                          "pip install 'cosr[postgres]'") from None
    # The connection settings PostgresSaver.from_conn_string uses: its own statements, no server-side prepared ones.
    try:
        conn = Connection.connect(url, autocommit=True, prepare_threshold=0, row_factory=dict_row,
                                  **({"options": "-c default_transaction_read_only=on"} if readonly else {}))
    except OperationalError as e:  # its message names the host, never the URL's password
        raise ConnectionError(f"cannot reach the run's database (database_url): {' '.join(str(e).split())}") from None
    saver = PostgresSaver(conn, serde=serde)
    if readonly:
        return saver
    # setup() creates the tables and runs their migrations once a database: two processes doing it at once
    # would both create a table. A session lock makes the others wait, then find it done; they poll for it, as
    # one blocked in pg_advisory_lock holds a snapshot that setup's CREATE INDEX CONCURRENTLY waits for (deadlock).
    while not conn.execute("SELECT pg_try_advisory_lock(%s) AS got", (SETUP_LOCK,)).fetchone()["got"]:
        time.sleep(0.05)
    try:
        saver.setup()
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (SETUP_LOCK,))
    return saver


def compile_graph(checkpoints: Path | str) -> CompiledStateGraph:
    """`checkpoints`: the run's SQLite file, or its database_url."""
    return build_graph().compile(checkpointer=checkpointer(checkpoints))
