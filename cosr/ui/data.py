"""What the debugger page shows, read from a run directory without ever writing to it.

Both SQLite files are opened with `mode=ro` URIs, so the UI cannot corrupt a run that is going on
next to it: the store through its own read-only TrajectoryStore, the checkpoints through LangGraph's
SqliteSaver (setup skipped), so the state is exactly what the graph saw. A run whose config names a
`database_url` is read from that PostgreSQL database instead, on sessions the server keeps read-only
(the store's, and LangGraph's PostgresSaver with setup skipped): only its own rows (thread_id, run_id),
as the database holds many runs. Works for self-play runs and tutoring sessions (`session.json`).
"""

from __future__ import annotations

import sqlite3
from functools import lru_cache
from pathlib import Path
from typing import Any

from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.sqlite import SqliteSaver
from pydantic import BaseModel

from cosr.agents.recorder import trajectory_id
from cosr.config import RunConfig
from cosr.domain import success_at
from cosr.graphs import selfplay, tutoring
from cosr.graphs.collaborators import load_skills
from cosr.graphs.state import CHECKPOINT_TYPES
from cosr.store import run_store
from cosr.training.evaluation import overall
from cosr.training.results import SUMMARY, read_summary

SERDE = JsonPlusSerializer(allowed_msgpack_modules=CHECKPOINT_TYPES)


def connect_ro(path: Path) -> sqlite3.Connection:
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist (not a run directory?)")
    return sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True, check_same_thread=False)


def sqlite_checkpoints(path: Path) -> SqliteSaver:
    saver = SqliteSaver(connect_ro(path), serde=SERDE)
    saver.is_setup = True  # its setup creates tables: never on a read-only connection
    return saver


def jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value if isinstance(value, str | int | float | bool | type(None)) else str(value)


def skill_mastery(ability: float, levels: int) -> float:
    """Expected share of the skill's levels the learner would pass (the Diagnostician's ability model)."""
    return sum(success_at(ability, level) for level in range(1, levels + 1)) / levels


class RunReader:
    def __init__(self, run_dir: Path) -> None:
        self.run_dir = Path(run_dir)
        self.config = RunConfig.stored((self.run_dir / "config.json").read_text())
        self.run_id = self.config.run_id
        self.kind = "tutor" if (self.run_dir / "session.json").exists() else "selfplay"
        url = self.config.database_url
        self.saver = (selfplay.postgres_checkpointer(url, SERDE, readonly=True) if url
                      else sqlite_checkpoints(self.run_dir / "checkpoints.sqlite"))
        self.thread = {"configurable": {"thread_id": self.run_id, "checkpoint_ns": ""}}
        self.store = run_store(self.run_dir, url, readonly=True)
        self.builder = (tutoring if self.kind == "tutor" else selfplay).build_graph()
        self.graph = self.builder.compile(checkpointer=self.saver)

    def version(self) -> dict[str, int]:
        """Changes whenever the run moves on: the page polls this and reloads what changed."""
        tasks = self.store.count(self.run_id)
        # this run's only: a shared database holds other runs' threads, which change without this one moving on
        sql = "SELECT COUNT(*) AS n FROM checkpoints WHERE thread_id = " + ("%s" if self.config.database_url else "?")
        row = self.saver.conn.execute(sql, (self.run_id,)).fetchone()
        checkpoints = row["n"] if isinstance(row, dict) else row[0]  # PostgresSaver's connection gives dict rows
        return {"checkpoints": checkpoints, "tasks": tasks}

    def close(self) -> None:
        self.store.close()
        self.saver.conn.close()

    def state_machine(self) -> dict[str, Any]:
        return self.builder.compile().get_graph().to_json()

    def checkpoints(self) -> list[dict[str, Any]]:
        """Every checkpoint, oldest first: which node ran to make it, which runs next, the state's step."""
        return _checkpoints(self, self.version()["checkpoints"])

    def state(self, checkpoint_id: str) -> dict[str, Any]:
        tup = self.saver.get_tuple({"configurable": {**self.thread["configurable"], "checkpoint_id": checkpoint_id}})
        if tup is None:
            raise KeyError(checkpoint_id)
        return jsonable({k: v for k, v in tup.checkpoint["channel_values"].items() if not k.startswith("branch:")})

    def timeline(self) -> list[dict[str, Any]]:
        at = {c["trajectories"][i]: c["id"] for c in self.checkpoints() for i in range(len(c["trajectories"]))}
        return [{**o._asdict(), "checkpoint": at.get(o.id)} for o in self.store.outcomes(self.run_id)]

    def step(self, traj_id: str) -> dict[str, Any]:
        trajectory = self.store.trajectory(traj_id)
        if trajectory is None or trajectory.run_id != self.run_id:  # a shared database holds other runs' too
            raise KeyError(traj_id)
        entry = next((t for t in self.timeline() if t["id"] == traj_id), {})
        state = self.state(entry["checkpoint"]) if entry.get("checkpoint") else {}
        return {"trajectory": trajectory.model_dump(mode="json"), "checkpoint": entry.get("checkpoint"), "state": state}

    def skills(self) -> dict[str, Any]:
        """The skill graph and the mastery after every Diagnostician step (for the slider)."""
        graph = load_skills(self.config)
        levels = {s.name: s.levels for s in graph.skills()}
        frames = []
        for c in self.checkpoints():
            if c["ran"] == "diagnostician" and c["mastery"]:
                frames.append({"checkpoint": c["id"], "step": c["step"], "mastery": {
                    s: {"value": round(skill_mastery(m["ability"], levels.get(s, 5)), 3), "level": m["level"],
                        "attempts": m["attempts"]} for s, m in c["mastery"].items()}})
        return {"skills": [{"name": s.name, "domain": s.domain.value, "prerequisites": list(s.prerequisites)}
                           for s in graph.skills()], "frames": frames}

    def curves(self) -> dict[str, Any]:
        heldout = [{"round": r, "accuracy": overall(per)} for r, per in sorted(self.store.evaluations(self.run_id).items())
                   if sum(n for _, n in per.values())]
        strategies = [{"strategy": s, "tasks": n, "verified": c} for s, (n, c) in self.store.by_strategy(self.run_id).items()]
        summary = read_summary(self.run_dir).model_dump(mode="json") if (self.run_dir / SUMMARY).exists() else {}
        return {"heldout": heldout, "strategies": strategies, "summary": summary}


@lru_cache(maxsize=8)
def _checkpoints(reader: RunReader, _count: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for snap in reversed(list(reader.graph.get_state_history(reader.thread))):
        values, ran = snap.values, (out[-1]["next"][0] if out and out[-1]["next"] else None)
        ids = []
        if ran == "verifier":  # the state that holds a step's tasks, attempts and verdicts, before record
            ids = [trajectory_id(reader.run_id, values.get("step", 0), i, a.task_id, values.get("tries", 0))
                   for i, a in enumerate(values.get("attempts") or [])]
        out.append({"id": snap.config["configurable"]["checkpoint_id"], "graph_step": snap.metadata.get("step"),
                    "step": values.get("step", 0), "ran": ran, "next": list(snap.next), "trajectories": ids,
                    "mastery": jsonable(values.get("mastery") or {}) if ran == "diagnostician" else {}})
    return out
