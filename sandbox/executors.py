"""The registry of executor kinds and `make_executor`: the one way the rest of cosr gets an executor.

Factories import their module when called, so `import cosr.sandbox` stays light (no docker SDK
until a docker executor is made). There is deliberately no fallback between kinds: asking for
"docker" without an engine raises SandboxUnavailable with how to fix it.
"""

from __future__ import annotations

from collections.abc import Callable

from cosr.config import SandboxConfig
from cosr.registry import Registry
from cosr.sandbox.types import Executor

EXECUTORS: Registry[Callable[[SandboxConfig], Executor]] = Registry("sandbox executor")


def _docker(cfg: SandboxConfig) -> Executor:
    from cosr.sandbox.docker_pool import docker_executor

    return docker_executor(cfg)


def _unsafe_process(cfg: SandboxConfig) -> Executor:
    from cosr.sandbox.unsafe import unsafe_process_executor

    return unsafe_process_executor(cfg)


EXECUTORS.register("docker", _docker)
EXECUTORS.register("unsafe-process", _unsafe_process)


def make_executor(cfg: SandboxConfig | None = None) -> Executor:
    """A started executor of the kind `cfg.executor` names; call `.close()` (or use `with`) when done."""
    cfg = cfg or SandboxConfig()
    return EXECUTORS.get(cfg.executor)(cfg)
