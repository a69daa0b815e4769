"""Faults a run cannot mend by itself: a part it depends on stayed down, or the disk filled. Each stops the
run with one line (what is down, how to bring it back) and an exit code that says which, so a script or a
scheduler can tell "start dockerd and resume" from "the run failed". Nothing verified is lost by any of
them: a stopped step is not recorded, and `cosr selfplay --resume RUN` redoes it once the part is back."""

from __future__ import annotations

import errno
import shutil
import sqlite3
from pathlib import Path


class RunStopped(RuntimeError):
    """A run stopped by something outside it; `str(e)` is the one line to show, `exit_code` says which."""

    exit_code = 1


class SandboxDown(RunStopped):
    """The Docker engine (or the sandbox it runs) is not there, or stayed away longer than the configured wait."""

    exit_code = 3


class StudentDown(RunStopped):
    """The student's server (vLLM, an OpenAI-compatible endpoint) is not answering, or refuses what it needs."""

    exit_code = 4


class DiskFull(RunStopped):
    """A write to the store, a checkpoint or an adapter failed for lack of space."""

    exit_code = 5


NEARLY_FULL = 16e6  # bytes free under which SQLite's bare "disk I/O error" is taken for a full disk


def is_disk_full(error: BaseException, where: Path | None = None) -> bool:
    """True for the ways Python, SQLite and the libraries on top say "no space left" (ENOSPC, EDQUOT,
    SQLITE_FULL), looked for through the exception's causes. SQLite reports a write that found no space in its
    WAL as a bare "disk I/O error", as it does a failing disk: that one counts only when the disk of `where`
    has under NEARLY_FULL bytes free."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if isinstance(seen, sqlite3.Error) and ("disk is full" in str(seen)
                                                or getattr(seen, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL):
            return True
        if isinstance(seen, sqlite3.Error) and "disk I/O error" in str(seen) and where is not None:
            return free_bytes(where) < NEARLY_FULL
        if "No space left on device" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def free_bytes(where: Path) -> float:
    """Free bytes on the disk of `where`, or of its nearest existing parent (a file a write could not create)."""
    while not where.exists() and where != where.parent:
        where = where.parent
    return shutil.disk_usage(where).free


def write_whole(path: Path, text: str) -> None:
    """Written beside, then renamed over: a full disk leaves the old file as it was, never a truncated one
    (a truncated config.json would leave the run impossible to resume)."""
    partial = path.with_name(f".{path.name}.partial")
    try:
        partial.write_text(text)
        partial.replace(path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
