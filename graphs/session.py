"""A session, built in one place for every way the state machine runs: self-play (`cosr selfplay`, each run
of `cosr compare`), tutoring (`cosr tutor`) and the LangGraph server. A session is a run directory
(config.json, store.sqlite, checkpoints.sqlite; the two stores in a shared database when the config names a
database_url), the Context of its collaborators, the compiled graph and its thread; one asked to resume takes
its own configuration back from its folder."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Self

from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command

from cosr.agents.curriculum import make_strategy
from cosr.agents.evaluator import heldout_tasks
from cosr.config import RunConfig, StudentConfig
from cosr.faults import DiskFull, RunStopped, free_bytes, is_disk_full, write_whole
from cosr.graphs import selfplay, tutoring
from cosr.graphs.collaborators import (
    executor_for,
    load_skills,
    new_run_id,
    resolve_run_dir,
    resolve_student,
    student_for,
)
from cosr.graphs.context import Context
from cosr.graphs.summary import summarize
from cosr.store import TrajectoryStore, run_store
from cosr.training.results import DoneEvent, Event, NodeEvent, NodeStarted, RunSummary, read_summary, write_summary

CHECKPOINTS = "checkpoints.sqlite"
PLACEMENT = {"workers", "ray_address"}  # where a run's work goes, not what it computes: a resume may change them


def open_context(cfg: RunConfig, student: StudentConfig, heldout: bool) -> Context:
    """The collaborators of a session in `cfg.run_dir`: skill graph, store, student, strategy, sandbox when
    the graph has code skills, and the held-out tasks when the session measures them."""
    skills = load_skills(cfg)
    backend, train_lora = student_for(cfg, student)  # first: with workers, it owns the Ray connection
    executor = executor_for(skills, cfg)
    return Context(config=cfg, run_id=cfg.run_id, run_dir=cfg.run_dir, skills=skills,
                   store=run_store(cfg.run_dir, cfg.database_url), student=backend,
                   strategy=make_strategy(cfg.curator.strategy, cfg.curator), executor=executor,
                   heldout=heldout_tasks(skills, cfg.eval) if heldout else [], train_lora=train_lora)


def _failed_path(error: BaseException) -> Path | None:
    """The file an OSError in `error`'s causes names (SQLite's errors name none)."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, OSError) and seen.filename:
            return Path(os.fsdecode(seen.filename))
        seen = seen.__cause__ or seen.__context__
    return None


def disk_full(error: BaseException, run_dir: Path) -> DiskFull:
    """The one line a full disk stops a run with: where it filled, how much is free there, what to do."""
    path = _failed_path(error) or run_dir
    inside = path.resolve().is_relative_to(run_dir.resolve())
    where = run_dir if inside else path
    free = free_bytes(where) / 1e6
    if inside:
        return DiskFull(f"no space left on {where} (the run directory: {free:.1f} MB free): free some space there, "
                        "or move the run folder to a disk with room and resume it from there with --resume FOLDER")
    return DiskFull(f"no space left on {where} (outside the run directory: {free:.1f} MB free): free some space there")


@contextmanager
def stops_when_full(run_dir: Path) -> Iterator[None]:
    """A write that failed for lack of space stops the run as DiskFull. What was stored stays whole: the store
    and the checkpoints write in transactions, an adapter is renamed into place once whole; the step that
    failed is not checkpointed, so --resume does it again (its trajectories are keyed: never twice)."""
    try:
        yield
    except RunStopped:
        raise
    except Exception as e:
        if not is_disk_full(e, run_dir):
            raise
        raise disk_full(e, run_dir) from e


def placed(stored: RunConfig, placement: dict[str, Any] | None) -> RunConfig:
    """A resumed run's stored configuration, moved where `placement` says (its None values keep the stored)."""
    moved = {k: v for k, v in (placement or {}).items() if v is not None}
    if unknown := set(moved) - PLACEMENT:
        raise ValueError(f"a resumed run keeps its settings; only {sorted(PLACEMENT)} may change, not {sorted(unknown)}")
    return RunConfig.model_validate({**stored.model_dump(), **moved})


class Session:
    """What every session holds; use as a context manager (closes the sandbox, the student and the store)."""

    ctx: Context
    graph: CompiledStateGraph
    thread: dict[str, Any]

    @property
    def store(self) -> TrajectoryStore:
        return self.ctx.store

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.ctx.executor is not None:
            self.ctx.executor.close()
        self.ctx.student.close()
        self.ctx.store.close()
        self.graph.checkpointer.conn.close()  # a shared database's connection is not left to the garbage collector


class SelfPlayRun(Session):
    """One self-play run, fresh or resumed; `rounds` takes a finished run further."""

    def __init__(self, cfg: RunConfig, resume: str | None = None, *, rounds: int | None = None,
                 log: Callable[[str], None] = print, placement: dict[str, Any] | None = None) -> None:
        """`placement`: with `resume`, where the run goes on (`workers`, `ray_address`), which may change
        between a stop and its resume (a cluster that came back with fewer nodes); None keeps the stored."""
        self.run_id, self.run_dir = resolve_run_dir(cfg, resume)
        self.resumed = resume is not None
        if self.resumed:  # the run's own configuration wins; only the rounds and where it runs may change
            cfg = placed(RunConfig.stored((self.run_dir / "config.json").read_text()), placement)
        with stops_when_full(self.run_dir):  # a disk full from the start: the same one line as one that fills later
            self._open(cfg, rounds, log)

    def _open(self, cfg: RunConfig, rounds: int | None, log: Callable[[str], None]) -> None:
        asked_before = cfg.rounds
        if rounds is not None:
            # The loop guard grows by the most steps each added round can take: a run taken on from 3
            # rounds to 12 would otherwise stop where the 3-round guard ends, short of its rounds.
            extra = max(0, rounds - cfg.rounds) * cfg.steps_per_round()
            cfg = cfg.model_copy(update={"rounds": rounds, "max_steps": cfg.max_steps + extra})
        self.rounds_before = asked_before if self.resumed else cfg.rounds  # what the run was asked for until now
        self.cfg = cfg.model_copy(update={"run_id": self.run_id, "run_dir": self.run_dir})
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.graph = selfplay.compile_graph(cfg.database_url or self.run_dir / CHECKPOINTS)
        self.thread = {"configurable": {"thread_id": self.run_id}, "recursion_limit": cfg.max_steps * 10 + 100}
        if cfg.database_url and not self.resumed and self.graph.get_state(self.thread).values:
            # A fresh run under an id the shared database already holds would carry on that run's thread.
            raise ValueError(f"run {self.run_id} is already in the database (database_url): resume it with --resume "
                             "RUN_DIR, or give this run another run_id")
        done = self.graph.get_state(self.thread).values.get("rounds_done", 0) if self.resumed else 0
        if cfg.rounds < done:
            raise ValueError(f"{self.run_dir} has finished {done} rounds; --rounds {cfg.rounds} would take them "
                             f"back (ask for {done} or more)")
        # More rounds are written down once the run is under way (events): a run stopped before that
        # is still the finished run it was, and a later --rounds N takes it on.
        self.write_config(self.rounds_before)
        student, self.embedded = resolve_student(cfg.student, log)
        self.ctx = open_context(self.cfg, student, heldout=True)

    def write_config(self, rounds: int) -> None:
        write_whole(self.run_dir / "config.json", self.cfg.model_copy(update={"rounds": rounds}).model_dump_json(indent=2))

    def events(self) -> Iterator[Event]:
        """Run (or resume) the graph to its end, yielding progress events as they happen; DiskFull when a
        write fails for lack of space."""
        with stops_when_full(self.run_dir):
            yield from self._events()

    def _events(self) -> Iterator[Event]:
        import torch

        torch.manual_seed(self.cfg.seed)
        state = self.graph.get_state(self.thread)
        if state.values.get("adapter"):  # a resumed run serves the adapter it had reached
            name = state.values["adapter"]
            self.ctx.student.load_adapter(self.ctx.adapters_dir / name, name)
        start = None if state.values else {"run_id": self.run_id, "step": 0, "round": 1}
        done = state.values.get("rounds_done", 0)
        if state.values and self.rounds_before <= done < self.cfg.rounds:
            # A finished run asked for more rounds: new input starts the graph again from START on the
            # saved state, and route_start sends it to the next round (its evaluations exist). Not
            # `state.next`: LangGraph leaves out of it a task whose writes are saved, so a Ctrl-C that
            # lands after a node ends and before the next checkpoint reads empty mid-round, and new
            # input would drop those writes (`stream(None)` applies them and goes on).
            start = {"run_id": self.run_id}
        t0, steps0, tasks0 = time.perf_counter(), state.values.get("step", 0), self.store.tasks(self.run_id)
        # durability "sync": each step's checkpoint is saved before the next step starts, so a save that fails
        # (a full disk) stops the run there. LangGraph's default saves in the background and raises only when
        # the graph ends: the run would go on unsaved, and its store would hold steps that --resume then
        # curates again, with other tasks (written twice).
        for mode, payload in self.graph.stream(start, self.thread, context=self.ctx, durability="sync",
                                               stream_mode=["custom", "updates", "tasks"]):
            if self.rounds_before != self.cfg.rounds:
                self.rounds_before = self.cfg.rounds
                self.write_config(self.cfg.rounds)
            if mode == "custom":
                yield payload
            elif mode == "tasks":
                if "input" in payload:  # a node starts (its end comes as an update)
                    yield NodeStarted(node=payload["name"])
            else:
                for node, update in payload.items():
                    yield NodeEvent(node=node, update=update or {})
        final = self.graph.get_state(self.thread).values
        write_summary(self.run_dir, summarize(self.ctx, final, self.embedded, time.perf_counter() - t0,
                                              final.get("step", 0) - steps0, self.store.tasks(self.run_id) - tasks0))
        yield DoneEvent(summary=self.summary())

    def summary(self) -> RunSummary:
        return read_summary(self.run_dir)


def tutor_config(cfg: RunConfig) -> RunConfig:
    """A person answers one task at a time with the human backend; there is no training or held-out set."""
    return cfg.model_copy(update={
        "student": cfg.student.model_copy(update={"backend": "human"}),
        "curator": cfg.curator.model_copy(update={"batch_size": 1, "stuck_after": min(cfg.curator.stuck_after, 3)}),
        "rounds": 0,
    })


class TutorSession(Session):
    """One person's session; `advance()` returns what to show at the next turn, or None at the end."""

    def __init__(self, cfg: RunConfig, resume: str | None = None) -> None:
        if not resume and cfg.run_id is None:
            cfg = cfg.model_copy(update={"run_id": "tutor-" + new_run_id()})
        self.session_id, self.run_dir = resolve_run_dir(cfg, resume)
        with stops_when_full(self.run_dir):  # a person's answers are stored as a run's are: a full disk is DiskFull
            self._open(cfg, resume)

    def _open(self, cfg: RunConfig, resume: str | None) -> None:
        if resume:
            cfg = RunConfig.stored((self.run_dir / "config.json").read_text())
        self.cfg = tutor_config(cfg).model_copy(update={"run_id": self.session_id, "run_dir": self.run_dir})
        self.run_dir.mkdir(parents=True, exist_ok=True)
        write_whole(self.run_dir / "config.json", self.cfg.model_dump_json(indent=2))
        write_whole(self.run_dir / "session.json", json.dumps({"kind": "tutor", "id": self.session_id}))
        self.ctx = open_context(self.cfg, self.cfg.student, heldout=False)
        self.graph = tutoring.compile_graph(self.cfg.database_url or self.run_dir / CHECKPOINTS)
        self.thread = {"configurable": {"thread_id": self.session_id}, "recursion_limit": self.cfg.max_steps * 20 + 50}

    def state(self) -> dict[str, Any]:
        return self.graph.get_state(self.thread).values

    def advance(self, reply: dict[str, Any] | None = None) -> dict[str, Any] | None:
        """Send the person's reply (if any) and run to the next pause; a fresh or killed session just goes on.
        DiskFull when the disk filled: the reply was not stored, and the resumed session asks for it again."""
        with stops_when_full(self.run_dir):
            return self._advance(reply)

    def _advance(self, reply: dict[str, Any] | None) -> dict[str, Any] | None:
        snapshot = self.graph.get_state(self.thread)
        if reply is not None and snapshot.interrupts:
            self.graph.invoke(Command(resume=reply), self.thread, context=self.ctx)
        elif not snapshot.values:
            self.graph.invoke({"run_id": self.session_id, "step": 0, "round": 1, "tasks_done": 0, "task": None},
                              self.thread, context=self.ctx)
        elif snapshot.next and not snapshot.interrupts:
            self.graph.invoke(None, self.thread, context=self.ctx)  # killed between two nodes: finish the step
        snapshot = self.graph.get_state(self.thread)
        return snapshot.interrupts[0].value if snapshot.interrupts else None
