"""The docker executor: a pool of warm, hardened containers, each running the fork-server runner.

Each container is started once with the image's runner as PID 1 and stdin attached; the pool
then sends one JSON line per execution through the attach socket and reads one back, so an
execution costs a fork, not a `docker run`. A container that hit a limit, left a process or a
file behind, died or hung is killed (auto-removed) and replaced in the background.

Threat model. Covered: CPU hogs and infinite loops (CPU quota + wall-clock kill), fork bombs
(pids limit, then kill(-1) from PID 1), memory bombs (cgroup limit, swap = memory, OOM-killer
steered at the child), huge output (cap, container replaced), disk (read-only root, noexec
size-limited tmpfs, emptied after every execution), network (`--network none`: loopback only),
privilege (uid 65534, all capabilities dropped, no-new-privileges), host files (no host mount),
the runner (PID 1 ignores signals from inside; non-dumpable against ptrace), leftovers (every
process but the runner is killed and /tmp wiped after each execution). If the attaching
process dies, stdin closes, the runner exits and the container removes itself.
Not covered: kernel exploits (containers share the host kernel; use gVisor or a VM for that),
and code that deliberately forges the per-test report of the harness it runs inside.
"""

from __future__ import annotations

import os
import socket
import struct
import time
import uuid
from typing import Any

from cosr.config import SandboxConfig
from cosr.sandbox.engine import FIX_START, RUNNER_IN_IMAGE, connect
from cosr.sandbox.executors import EXECUTORS
from cosr.sandbox.pool import WorkerPool
from cosr.sandbox.protocol import LineReader, WorkerDied
from cosr.sandbox.types import SandboxUnavailable

LABEL = "cosr.sandbox"
UID = "65534:65534"  # nobody


def hardening(cfg: SandboxConfig) -> tuple[dict[str, Any], dict[str, Any]]:
    """(container settings, host settings) every sandbox gets; all limits come from the config."""
    from docker.types import Ulimit

    memory = f"{cfg.memory_mb}m"
    host = {
        "network_mode": "none",
        "read_only": True,
        "tmpfs": {"/tmp": f"rw,nosuid,nodev,noexec,size={cfg.tmpfs_mb}m,mode=1777"},
        "ipc_mode": "none",  # no /dev/shm: the one writable place is the wiped /tmp
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges"],
        "pids_limit": cfg.pids,
        "mem_limit": memory,
        "memswap_limit": memory,  # equal to the memory limit: no swap
        "nano_cpus": int(cfg.cpus * 1e9),
        "ulimits": [Ulimit(name="core", soft=0, hard=0)],
        "auto_remove": True,
    }
    container = {
        "user": UID,
        "working_dir": "/tmp",
        "hostname": "sandbox",
        "environment": {"PYTHONDONTWRITEBYTECODE": "1", "HOME": "/tmp", "LANG": "C.UTF-8"},
        # stdin open and attached (detach=False): the SDK then sets StdinOnce, so our attach
        # closing closes the runner's stdin and an orphaned container exits and removes itself
        "stdin_open": True,
        "detach": False,
    }
    return container, host


class ContainerWorker:
    """One warm container; its runner is spoken to through the container's attach socket."""

    def __init__(self, client: Any, cfg: SandboxConfig, owner: str) -> None:
        self.client = client
        settings, host = hardening(cfg)
        self.id: str = client.api.create_container(
            cfg.image,
            command=["python3", "-I", "-S", RUNNER_IN_IMAGE, "--container"],
            labels={LABEL: "1", f"{LABEL}.owner": owner},
            host_config=client.api.create_host_config(**host),
            **settings,
        )["Id"]
        try:
            sock = client.api.attach_socket(self.id, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1})
            self.sock: socket.socket = getattr(sock, "_sock", sock)
            self.sock.setblocking(True)
            self._frames = bytearray()
            self.stderr = bytearray()
            self._reader = LineReader(self._recv)
            client.api.start(self.id)
            hello = self._reader.read_json(time.monotonic() + cfg.startup_timeout_s)
        except Exception as e:
            self.kill()
            raise SandboxUnavailable(f"sandbox container did not start: {e} {bytes(self.stderr[-500:])!r}") from e
        if not hello.get("ready"):
            self.kill()
            raise SandboxUnavailable(f"sandbox runner said {hello!r} instead of ready")

    def _recv(self, timeout: float) -> bytes:
        """Demultiplex docker's stream framing (8-byte header: stream, 0,0,0, size) into stdout bytes."""
        self.sock.settimeout(timeout)
        while True:
            if len(self._frames) >= 8:
                kind, size = self._frames[0], struct.unpack(">I", self._frames[4:8])[0]
                if len(self._frames) >= 8 + size:
                    body = bytes(self._frames[8 : 8 + size])
                    del self._frames[: 8 + size]
                    if kind == 2:
                        self.stderr = (self.stderr + body)[-4096:]
                        continue
                    return body
            try:
                data = self.sock.recv(1 << 20)
            except socket.timeout:
                raise TimeoutError from None
            except OSError as e:
                raise WorkerDied(f"attach socket error: {e}") from e
            if not data:
                return b""
            self._frames += data

    def call(self, line: bytes, deadline: float) -> dict[str, Any]:
        try:
            self.sock.settimeout(max(deadline - time.monotonic(), 0.1))
            self.sock.sendall(line)
        except OSError as e:
            raise WorkerDied(f"cannot write to the runner: {e}") from e
        try:
            return self._reader.read_json(deadline)
        except WorkerDied as e:
            last = bytes(self.stderr).decode(errors="replace").strip().splitlines()[-1:]
            raise WorkerDied(f"{e}: {last[0]}" if last else str(e)) from e

    def kill(self) -> None:
        # Any error means the container is gone already: auto-removed, stopping, or its engine went away
        # (requests' ConnectionError, which is no DockerException: uncaught, it ended the pool's replacement
        # thread with a traceback and the pool never refilled)
        try:
            self.client.api.kill(self.id)
        except Exception:  # noqa: BLE001, S110 - gone already (above)
            pass
        try:
            self.sock.close()
        except (AttributeError, OSError):
            pass
        try:
            self.client.api.wait(self.id, timeout=10)
        except Exception:  # noqa: BLE001, S110 - gone already (above)
            pass


def docker_executor(cfg: SandboxConfig) -> WorkerPool:
    """The hardened pool; SandboxUnavailable (with the fix) when the engine or image is missing."""
    client = connect(cfg.image)
    owner = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    return WorkerPool("docker", lambda: ContainerWorker(client, cfg, owner), cfg, owner=owner,
                      engine_up=lambda: answers(client), down_fix=FIX_START)


def answers(client: Any) -> bool:
    """Whether the Docker engine answers a ping right now."""
    try:
        return bool(client.ping())
    except Exception:  # noqa: BLE001 - any failure to answer is "no"
        return False


def sandbox_containers(client: Any | None = None, owner: str | None = None) -> list[Any]:
    """Containers cosr started (all of them, or one pool's), for checks and cleanup."""
    client = client or connect()
    label = f"{LABEL}.owner={owner}" if owner else LABEL
    # ignore_removed: a container that removes itself between the listing and its inspection is gone, not an error
    return client.containers.list(all=True, filters={"label": label}, ignore_removed=True)


EXECUTORS.register("docker", docker_executor)
