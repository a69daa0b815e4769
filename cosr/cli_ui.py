"""`cosr ui`: serve the read-only debugger page for one run directory on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer


def ui_command(
    run_dir: Annotated[Optional[Path], typer.Option(help="a run or tutoring session directory (default: the newest"
                                                 " under runs/)", exists=True, file_okay=False)] = None,
    port: Annotated[int, typer.Option(help="port on 127.0.0.1")] = 8765,
) -> None:
    """Look inside a run: the state machine, the skill graph by mastery, the timeline, any step's state."""
    import uvicorn

    from cosr.ui import create_app

    if run_dir is None:
        runs = sorted(Path("runs").glob("*/checkpoints.sqlite"), key=lambda p: p.stat().st_mtime)
        run_dir = runs[-1].parent if runs else Path("runs")
    if not (run_dir / "checkpoints.sqlite").exists():
        typer.echo(f"error: {run_dir} has no checkpoints.sqlite (not a run directory)")
        raise typer.Exit(2)
    typer.echo(f"cosr ui: http://127.0.0.1:{port}/  (run {run_dir}, read-only)")
    uvicorn.run(create_app(run_dir), host="127.0.0.1", port=port, log_level="warning")
