"""Stopping and starting the real Docker engine for the fault tests, the way an upgrade or a crash does."""

from __future__ import annotations

import os
import subprocess
import time

LOG = "/tmp/dockerd.log"


def engine_answers() -> bool:
    return subprocess.run(["docker", "info"], capture_output=True, timeout=30, check=False).returncode == 0


def dockerd_pids() -> list[int]:
    done = subprocess.run(["pgrep", "-x", "dockerd"], capture_output=True, text=True, check=False)
    return [int(p) for p in done.stdout.split()]


def stop_engine(timeout: float = 60) -> None:
    """SIGTERM to dockerd (it stops its containers, as `systemctl stop docker` does) and wait until it is gone."""
    for pid in dockerd_pids():
        os.kill(pid, 15)
    deadline = time.monotonic() + timeout
    while dockerd_pids() or engine_answers():
        assert time.monotonic() < deadline, "dockerd did not stop"
        time.sleep(0.2)


def start_engine(timeout: float = 90) -> None:
    """Start dockerd in the background (scripts/docker-up.sh's way) and wait until it answers."""
    if engine_answers():
        return
    subprocess.Popen(f"nohup dockerd >> {LOG} 2>&1 &", shell=True)
    deadline = time.monotonic() + timeout
    while not engine_answers():
        assert time.monotonic() < deadline, f"dockerd did not come back; see {LOG}"
        time.sleep(0.5)
