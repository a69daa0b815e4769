"""`cosr ui`: serve the read-only debugger page for one run directory on 127.0.0.1."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer


def is_run_dir(folder: Path) -> bool:
    """A run keeps its checkpoints in its folder's checkpoints.sqlite, or in the PostgreSQL database its
    config.json names (database_url)."""
    if (folder / "checkpoints.sqlite").exists():
        return True
    try:
        return bool(json.loads((folder / "config.json").read_text()).get("database_url"))
    except (OSError, ValueError, AttributeError):  # no config.json, or not a JSON object
        return False


def last_written(folder: Path) -> float:
    """When a run last wrote to its folder: its newest file (a run in a database writes its logs there)."""
    return max((p.stat().st_mtime for p in folder.iterdir() if p.is_file()), default=folder.stat().st_mtime)


def ui_command(
    run_dir: Annotated[Optional[Path], typer.Option(help="a run or tutoring session directory (default: the newest"
                                                 " under runs/)", exists=True, file_okay=False)] = None,
    port: Annotated[int, typer.Option(help="port on 127.0.0.1")] = 8765,
) -> None:
    """Look inside a run: the state machine, the skill graph by mastery, the timeline, any step's state."""
    import uvicorn

    from cosr.ui import create_app

    if run_dir is None:
        runs = sorted((p for p in Path("runs").glob("*") if p.is_dir() and is_run_dir(p)), key=last_written)
        run_dir = runs[-1] if runs else Path("runs")
    if not is_run_dir(run_dir):
        typer.echo(f"error: {run_dir} has no checkpoints.sqlite, nor a config.json naming a database_url "
                   "(not a run directory)")
        raise typer.Exit(2)
    try:
        app = create_app(run_dir)
    except (FileNotFoundError, ImportError, ConnectionError) as e:  # a store file missing, psycopg, the server
        typer.echo(f"error: {e}")
        raise typer.Exit(2) from None
    typer.echo(f"cosr ui: http://127.0.0.1:{port}/  (run {run_dir}, read-only)")
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
