"""The graph-visualized debugger: a FastAPI app over one run directory, read-only, and one page.

`create_app(run_dir)` is the factory (tests and `cosr ui` both use it). The page polls
`/api/version` and reloads what changed, so it follows a run that is still going.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from cosr.ui.data import RunReader

STATIC = resources.files("cosr.ui") / "static"


def create_app(run_dir: Path) -> FastAPI:
    reader = RunReader(run_dir)
    app = FastAPI(title=f"cosr run {reader.run_id}", docs_url=None, redoc_url=None)
    app.state.reader = reader  # what it reads through (a test checks that it cannot write)
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")

    @app.get("/", response_class=HTMLResponse)
    def index() -> str:
        return (STATIC / "index.html").read_text()

    @app.get("/api/run")
    def run() -> dict[str, Any]:
        return {"run_id": reader.run_id, "kind": reader.kind, "run_dir": str(reader.run_dir), **reader.version()}

    @app.get("/api/version")
    def version() -> dict[str, int]:
        return reader.version()

    @app.get("/api/graph")
    def graph() -> dict[str, Any]:
        return reader.state_machine()

    @app.get("/api/skills")
    def skills() -> dict[str, Any]:
        return reader.skills()

    @app.get("/api/checkpoints")
    def checkpoints() -> list[dict[str, Any]]:
        return [{k: c[k] for k in ("id", "graph_step", "step", "ran", "next")} for c in reader.checkpoints()]

    @app.get("/api/timeline")
    def timeline() -> list[dict[str, Any]]:
        return reader.timeline()

    @app.get("/api/step/{traj_id:path}")
    def step(traj_id: str) -> dict[str, Any]:
        try:
            return reader.step(traj_id)
        except KeyError:
            raise HTTPException(404, f"no trajectory {traj_id!r}") from None

    @app.get("/api/state/{checkpoint_id}")
    def state(checkpoint_id: str) -> dict[str, Any]:
        try:
            return reader.state(checkpoint_id)
        except KeyError:
            raise HTTPException(404, f"no checkpoint {checkpoint_id!r}") from None

    @app.get("/api/curves")
    def curves() -> dict[str, Any]:
        return reader.curves()

    return app
