"""make_executor's registry and a missing engine, offline. What every executor does is
tests/conformance/test_executors.py's."""

from __future__ import annotations

import pytest

from cosr.config import SandboxConfig
from cosr.registry import RegistryError
from cosr.sandbox import EXECUTORS, make_executor
from cosr.sandbox.engine import check_engine


def test_registry_names_both_kinds_and_rejects_others():
    assert EXECUTORS.names() == ["docker", "unsafe-process"]
    with pytest.raises(RegistryError, match="unknown sandbox executor 'podman'"):
        EXECUTORS.get("podman")


def test_docker_without_an_engine_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/cosr-test.sock")
    status = check_engine(SandboxConfig().image)
    assert not status.running and "not running" in status.problem and "dockerd" in status.fix
    from cosr.sandbox import SandboxUnavailable

    with pytest.raises(SandboxUnavailable, match="not running.*start it"):
        make_executor(SandboxConfig(executor="docker"))
