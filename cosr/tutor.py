"""A tutoring session: its directory (the same files as a run), the Context around a human student,
and one method that moves the graph on to the person's next turn. The CLI is a thin layer over this."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Self

from cosr.config import RunConfig
from cosr.run import executor_for, load_skills, new_run_id, resolve_run_dir
from cosr.store import TrajectoryStore


def tutor_config(cfg: RunConfig) -> RunConfig:
    """A person answers one task at a time with the human backend; there is no training or held-out set."""
    return cfg.model_copy(update={
        "student": cfg.student.model_copy(update={"backend": "human"}),
        "curator": cfg.curator.model_copy(update={"batch_size": 1, "stuck_after": min(cfg.curator.stuck_after, 3)}),
        "rounds": 0,
    })


class TutorSession:
    """One person's session; `advance()` returns what to show at the next turn, or None at the end."""

    def __init__(self, cfg: RunConfig, resume: str | None = None) -> None:
        from cosr.agents.curriculum import make_strategy
        from cosr.graphs.context import Context
        from cosr.graphs.tutoring import compile_graph
        from cosr.training.backends import make_student

        if not resume and cfg.run_id is None:
            cfg = cfg.model_copy(update={"run_id": "tutor-" + new_run_id()})
        self.session_id, self.run_dir = resolve_run_dir(cfg, resume)
        if resume:
            cfg = RunConfig.model_validate_json((self.run_dir / "config.json").read_text())
        self.cfg = tutor_config(cfg).model_copy(update={"run_id": self.session_id, "run_dir": self.run_dir})
        self.run_dir.mkdir(parents=True, exist_ok=True)
        (self.run_dir / "config.json").write_text(self.cfg.model_dump_json(indent=2))
        (self.run_dir / "session.json").write_text(json.dumps({"kind": "tutor", "id": self.session_id}))
        skills = load_skills(self.cfg)
        executor = executor_for(skills, self.cfg)
        self.store = TrajectoryStore(self.run_dir / "store.sqlite")
        self.ctx = Context(config=self.cfg, run_id=self.session_id, run_dir=self.run_dir, skills=skills,
                           store=self.store, student=make_student(self.cfg.student),
                           strategy=make_strategy(self.cfg.curator.strategy, self.cfg.curator), executor=executor)
        self.graph = compile_graph(self.run_dir / "checkpoints.sqlite")
        self.thread = {"configurable": {"thread_id": self.session_id}, "recursion_limit": self.cfg.max_steps * 20 + 50}

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def state(self) -> dict[str, Any]:
        return self.graph.get_state(self.thread).values

    def advance(self, reply: dict[str, Any] | None = None) -> dict[str, Any] | None:
        """Send the person's reply (if any) and run to the next pause; a fresh or killed session just goes on."""
        from langgraph.types import Command

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

    def close(self) -> None:
        if self.ctx.executor is not None:
            self.ctx.executor.close()
        self.store.close()
