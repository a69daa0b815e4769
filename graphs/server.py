"""The self-play graph for `langgraph dev` / LangGraph Server (langgraph.json points here).

A server run can only send JSON, while the nodes need a live Context (a loaded student, a store, a
sandbox). So the served graph takes a small JSON context, `ServerContext` (a run directory, an
optional TOML config file and dotted overrides, the same keys as `cosr selfplay`), and every node
and router is wrapped to swap it for the real Context, built once per distinct ServerContext by
`SelfPlayRun` and kept for the server process's life (a student is too heavy to load per step).
Example client call: `runs.wait(thread, "selfplay", input={}, context={"run_dir": "runs/srv"})`.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langgraph.runtime import Runtime

from cosr.config import load_config
from cosr.graphs.plugins import check_plugin_names
from cosr.graphs.selfplay import build_graph
from cosr.graphs.session import SelfPlayRun


@dataclass
class ServerContext:
    run_dir: str = "runs/langgraph-server"
    config_file: str | None = None
    overrides: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return json.dumps([self.run_dir, self.config_file, self.overrides], sort_keys=True)


class ContextFactory:
    """ServerContext -> the run's real Context, built on first use (SelfPlayRun does the work)."""

    def __init__(self) -> None:
        self._runs: dict[str, SelfPlayRun] = {}

    def __call__(self, sc: ServerContext | dict[str, Any] | None) -> Any:
        sc = ServerContext(**sc) if isinstance(sc, dict) else sc or ServerContext()
        if sc.key not in self._runs:
            cfg = load_config(Path(sc.config_file) if sc.config_file else None,
                              {**sc.overrides, "run_dir": Path(sc.run_dir)})
            check_plugin_names(cfg)
            self._runs[sc.key] = SelfPlayRun(cfg, log=lambda m: None)
        return self._runs[sc.key].ctx


def make_graph(factory: Callable[[Any], Any] | None = None):
    factory = factory or ContextFactory()

    def wrap(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def with_context(state: Any, runtime: Runtime) -> Any:
            return fn(state, runtime.override(context=factory(runtime.context)))

        return with_context

    return build_graph(context_schema=ServerContext, wrap=wrap).compile()  # the server brings its checkpointer


graph = make_graph()
