"""What every node is handed at run time (LangGraph's runtime context): the run's collaborators.

Nodes never import these as globals: a test builds a Context with a tiny student and a temp store.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cosr.config import RunConfig
from cosr.domain import Task
from cosr.store import TrajectoryStore

if TYPE_CHECKING:  # typing only: the graph layer does not import the wings it is handed
    from cosr.agents.curriculum import Strategy
    from cosr.graphs.skills import SkillGraph
    from cosr.sandbox.types import Executor
    from cosr.training.backends import StudentBackend
    from cosr.training.lora import RoundStats


@dataclass
class Context:
    config: RunConfig
    run_id: str
    run_dir: Path
    skills: SkillGraph
    store: TrajectoryStore
    student: StudentBackend
    strategy: Strategy
    executor: Executor | None = None
    heldout: list[Task] = field(default_factory=list)
    # train_lora's stand-in where the round runs elsewhere (a Ray task: graphs/workers.py); None: in this process
    train_lora: Callable[..., RoundStats] | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def adapters_dir(self) -> Path:
        return self.run_dir / "adapters"
