"""What every `cosr` command module shares: the console, the --config option and the one way to fail."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

console = Console()

ConfigOpt = Annotated[Optional[Path], typer.Option("--config", "-c", help="a TOML RunConfig file", exists=True, dir_okay=False)]


def fail(message: str, code: int = 2) -> None:
    """A clear one-line error and an exit code, no traceback."""
    console.print(f"[red]error:[/] {message}")
    raise typer.Exit(code)
