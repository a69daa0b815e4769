"""The unsafe-process executor: the same fork-server runner as a plain host process. TRUSTED CODE ONLY.

This exists for code you wrote yourself (a skill's reference solutions, unit tests of the
verifier on a machine without Docker). It is chosen only by name (`executor = "unsafe-process"`,
`--sandbox unsafe-process`) and is never a fallback when Docker is missing.

What it limits: wall-clock time (the child's process group and adopted orphans are killed),
address space (RLIMIT_AS), file size (RLIMIT_FSIZE), core dumps, captured output.
What it does NOT: the network, the filesystem (the code runs as you, with your files), other
users' processes, the number of processes, CPU share. Run student code in the docker executor.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

from cosr.config import SandboxConfig
from cosr.sandbox.executors import EXECUTORS
from cosr.sandbox.pool import WorkerPool
from cosr.sandbox.protocol import LineReader, WorkerDied, WorkerTimeout
from cosr.sandbox.types import SandboxUnavailable

RUNNER = Path(__file__).with_name("runner.py")
MB = 1 << 20


class UnsafeProcessWarning(UserWarning):
    """Emitted once per executor: untrusted code must not run here."""


class LocalWorker:
    """One runner process on the host, spoken to over its stdin/stdout pipes."""

    def __init__(self, startup_timeout_s: float) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-I", "-S", str(RUNNER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self._out = self.proc.stdout.fileno()  # type: ignore[union-attr]
        self._reader = LineReader(self._recv)
        try:
            hello = self._reader.read_json(time.monotonic() + startup_timeout_s)
        except (WorkerDied, WorkerTimeout) as e:
            self.kill()
            raise SandboxUnavailable(f"unsafe-process runner did not start: {e}") from e
        if not hello.get("ready"):
            self.kill()
            raise SandboxUnavailable(f"unsafe-process runner said {hello!r} instead of ready")

    def _recv(self, timeout: float) -> bytes:
        ready, _, _ = select.select([self._out], [], [], timeout)
        if not ready:
            raise TimeoutError
        return os.read(self._out, 1 << 20)

    def call(self, line: bytes, deadline: float) -> dict[str, Any]:
        try:
            self.proc.stdin.write(line)  # type: ignore[union-attr]
            self.proc.stdin.flush()  # type: ignore[union-attr]
        except (BrokenPipeError, OSError) as e:
            raise WorkerDied(f"runner stdin closed: {e}") from e
        return self._reader.read_json(deadline)

    def kill(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except OSError:
            pass
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()  # type: ignore[union-attr]
            except OSError:
                pass


def unsafe_process_executor(cfg: SandboxConfig) -> WorkerPool:
    """UNSAFE: runs code as this user on this host. For trusted code only; see the module docstring."""
    warnings.warn(
        "cosr sandbox: the 'unsafe-process' executor runs code on the host without isolation; "
        "use it for trusted code only",
        UnsafeProcessWarning,
        stacklevel=2,
    )
    rlimits = {
        "RLIMIT_AS": max(cfg.memory_mb, 64) * MB * 2,  # virtual, not resident: leave room for the interpreter
        "RLIMIT_FSIZE": cfg.tmpfs_mb * MB,
        "RLIMIT_CORE": 0,
    }
    return WorkerPool("unsafe-process", lambda: LocalWorker(cfg.startup_timeout_s), cfg, rlimits)


EXECUTORS.register("unsafe-process", unsafe_process_executor)
