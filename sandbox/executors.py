"""The registry of executor kinds and `make_executor`: the one way the rest of cosr gets an executor.

Each kind registers itself at the bottom of its own module; neither imports the docker SDK before an
executor is made, so `import cosr.sandbox` stays light. There is deliberately no fallback between kinds:
asking for "docker" without an engine raises SandboxUnavailable with how to fix it.
"""

from __future__ import annotations

from collections.abc import Callable

from cosr.config import SandboxConfig
from cosr.registry import Registry
from cosr.sandbox.types import Executor

EXECUTORS: Registry[Callable[[SandboxConfig], Executor]] = Registry("sandbox executor")


def make_executor(cfg: SandboxConfig | None = None) -> Executor:
    """A started executor of the kind `cfg.executor` names; call `.close()` (or use `with`) when done."""
    cfg = cfg or SandboxConfig()
    return EXECUTORS.get(cfg.executor)(cfg)


# The executor modules, each registering its kind (at the end: they import EXECUTORS from here).
from cosr.sandbox import docker_pool, unsafe  # noqa: E402, F401
