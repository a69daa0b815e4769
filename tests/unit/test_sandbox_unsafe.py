"""The unsafe-process executor (trusted code only) and make_executor's registry: offline, no engine."""

from __future__ import annotations

import pytest

from cosr.config import SandboxConfig
from cosr.registry import RegistryError
from cosr.sandbox import EXECUTORS, ExecutionRequest, make_executor
from cosr.sandbox.engine import check_engine
from cosr.sandbox.unsafe import UnsafeProcessWarning


@pytest.fixture(scope="module")
def unsafe():
    with pytest.warns(UnsafeProcessWarning, match="trusted code only"):
        executor = make_executor(SandboxConfig(executor="unsafe-process", timeout_s=1.0))
    yield executor
    executor.close()


def test_registry_names_both_kinds_and_rejects_others():
    assert EXECUTORS.names() == ["docker", "unsafe-process"]
    with pytest.raises(RegistryError, match="unknown sandbox executor 'podman'"):
        EXECUTORS.get("podman")


def test_ok_with_tests_and_stdin(unsafe):
    r = unsafe.run(ExecutionRequest(code="s = input()\nprint(s.upper())", stdin="hi\n", tests=("assert s == 'hi'",)))
    assert r.status == "ok" and r.passed and r.stdout == "HI\n" and r.exit_code == 0
    assert [t.passed for t in r.tests] == [True]


def test_code_exception_fails_every_test(unsafe):
    r = unsafe.run(ExecutionRequest(code="1 / 0", tests=("assert True", "assert True")))
    assert r.status == "failed" and r.error == "ZeroDivisionError: division by zero"
    assert [t.passed for t in r.tests] == [False, False]
    assert r.tests[0].error == "not run: ZeroDivisionError: division by zero"


def test_failing_test_is_recorded_and_later_tests_still_run(unsafe):
    r = unsafe.run(ExecutionRequest(code="x = 2", tests=("assert x == 3, 'wrong x'", "assert x == 2")))
    assert r.status == "failed" and [t.passed for t in r.tests] == [False, True]
    assert r.tests[0].error == "AssertionError: wrong x"


def test_timeout_kills_and_the_next_run_works(unsafe):
    r = unsafe.run(ExecutionRequest(code="while True: pass", timeout_s=0.3))
    assert r.status == "timeout" and r.timed_out and 0.3 <= r.duration_s < 1.3
    assert unsafe.run(ExecutionRequest(code="print(1)")).stdout == "1\n"


def test_memory_limit_and_output_cap(unsafe):
    mem = unsafe.run(ExecutionRequest(code="x = bytearray(4 << 30)"))
    assert mem.status == "memory" and mem.memory_exceeded
    out = unsafe.run(ExecutionRequest(code="print('y' * 1_000_000)"))
    assert out.output_truncated and len(out.stdout) == unsafe.cfg.output_limit_bytes


def test_exit_codes(unsafe):
    r = unsafe.run(ExecutionRequest(code="import sys; sys.exit(3)"))
    assert r.status == "failed" and r.exit_code == 3 and r.error == "SystemExit: 3"
    assert unsafe.run(ExecutionRequest(code="import sys; sys.exit(0)")).status == "ok"


def test_run_many_keeps_order(unsafe):
    results = unsafe.run_many([ExecutionRequest(code=f"print({i})") for i in range(10)])
    assert [r.stdout for r in results] == [f"{i}\n" for i in range(10)]


def test_docker_without_an_engine_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/cosr-test.sock")
    status = check_engine("cosr-sandbox:1")
    assert not status.running and "not running" in status.problem and "dockerd" in status.fix
    from cosr.sandbox import SandboxUnavailable

    with pytest.raises(SandboxUnavailable, match="not running.*start it"):
        make_executor(SandboxConfig(executor="docker"))
