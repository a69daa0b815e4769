"""Hostile code against the real engine: each attack's verdict, then proof the pool and host are unharmed."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest
from docker.errors import APIError

from cosr.sandbox import ExecutionRequest, ExecutionResult
from cosr.sandbox.docker_pool import sandbox_containers

pytestmark = pytest.mark.docker
LIMIT_S = 2.0


def assert_unharmed(executor) -> None:
    """The next execution works; the pool has exactly its containers, each running only its runner."""
    nxt = executor.run(ExecutionRequest(code="import os; print(sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))"))
    assert nxt.status == "ok", nxt
    assert json.loads(nxt.stdout) == [1, json.loads(nxt.stdout)[-1]], f"stray processes visible: {nxt.stdout}"
    deadline = time.monotonic() + 20
    while True:  # replacements start in the background: wait for them to settle
        try:
            containers = sandbox_containers(owner=executor.owner)
            running = [c for c in containers if c.status == "running"]
            tops = [c.top()["Processes"] or [] for c in running]  # None while a fresh one starts
        except APIError:  # a retired container vanished, or stopped, between listing and looking
            containers, running, tops = [], [], []
        if containers and len(containers) == len(running) == executor.size and all(len(t) == 1 for t in tops):
            break
        assert time.monotonic() < deadline, f"pool not back to health: {[(c.short_id, c.status) for c in containers]} {tops}"
        time.sleep(0.2)


def run(executor, code: str, **kw) -> ExecutionResult:
    start = time.monotonic()
    result = executor.run(ExecutionRequest(code=code, timeout_s=LIMIT_S, **kw))
    assert time.monotonic() - start < LIMIT_S + 4, "the verdict came later than the limit plus grace"
    return result


def test_fork_bomb(sandbox_executor):
    r = run(sandbox_executor, "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n")
    assert r.status == "timeout" and r.timed_out
    assert_unharmed(sandbox_executor)


def test_memory_bomb(sandbox_executor):
    r = run(sandbox_executor, "x = []\nwhile True:\n    x.append(bytearray(1 << 20))\n")
    assert r.status == "memory" and r.memory_exceeded and not r.timed_out
    assert_unharmed(sandbox_executor)


def test_infinite_loop(sandbox_executor):
    r = run(sandbox_executor, "while True:\n    pass\n", tests=("assert True",))
    assert r.status == "timeout" and r.timed_out and not r.passed
    assert r.tests[0].error.startswith("not run")
    assert_unharmed(sandbox_executor)


def test_sleep_past_limit(sandbox_executor):
    r = run(sandbox_executor, "import time\ntime.sleep(60)\n")
    assert r.status == "timeout" and LIMIT_S <= r.duration_s < LIMIT_S + 1
    assert_unharmed(sandbox_executor)


def test_100mb_of_output(sandbox_executor):
    r = run(sandbox_executor, "import sys\nchunk = 'x' * (1 << 20)\nfor _ in range(100):\n    sys.stdout.write(chunk)\n")
    assert r.output_truncated and len(r.stdout.encode()) <= sandbox_executor.cfg.output_limit_bytes
    assert r.status in ("ok", "timeout")
    assert_unharmed(sandbox_executor)


def test_no_network_at_all(sandbox_executor):
    # A listener on the host's loopback: the container must not reach it (its loopback is its own).
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    code = f"""
import json, os, socket
facts = {{"interfaces": sorted(os.listdir("/sys/class/net"))}}
routes = open("/proc/net/route").read().splitlines()[1:]
facts["routes"] = len(routes)
try:
    socket.getaddrinfo("example.com", 80)
    facts["resolved"] = True
except OSError as e:
    facts["resolved"] = False
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=1).close()
    facts["host_loopback"] = True
except OSError:
    facts["host_loopback"] = False
print(json.dumps(facts))
"""
    try:
        r = run(sandbox_executor, code)
    finally:
        server.close()
    assert r.status == "ok", r
    facts = json.loads(r.stdout)
    assert facts == {"interfaces": ["lo"], "routes": 0, "resolved": False, "host_loopback": False}
    assert_unharmed(sandbox_executor)


@pytest.mark.parametrize("target", ["/evil", "/etc/passwd", "/usr/lib/evil.py"])
def test_write_to_root_filesystem(sandbox_executor, target):
    r = run(sandbox_executor, f"open({target!r}, 'a').write('x')\n")
    assert r.status == "failed"
    assert "Read-only file system" in r.error or "Permission denied" in r.error
    assert_unharmed(sandbox_executor)


def test_fill_tmp(sandbox_executor):
    r = run(sandbox_executor, "with open('/tmp/fill', 'wb') as f:\n    while True:\n        f.write(b'0' * (1 << 20))\n")
    assert r.status == "failed" and "No space left on device" in r.error
    after = sandbox_executor.run(ExecutionRequest(code="import os\nst = os.statvfs('/tmp')\nprint(os.listdir('/tmp'), st.f_bfree * st.f_bsize > 8 << 20)"))
    assert after.status == "ok" and "fill" not in after.stdout and after.stdout.strip().endswith("True")
    assert_unharmed(sandbox_executor)


def test_host_files_are_out_of_reach(sandbox_executor, tmp_path):
    secret = Path("/tmp") / f"cosr-host-secret-{time.time_ns()}"
    secret.write_text("host-only")
    try:
        shadow = run(sandbox_executor, "print(open('/etc/shadow').read())\n")
        marker = run(sandbox_executor, f"import os\nprint(os.path.exists({str(secret)!r}))\n")
    finally:
        secret.unlink()
    assert shadow.status == "failed" and "Permission denied" in shadow.error and shadow.stdout == ""
    assert marker.status == "ok" and marker.stdout.strip() == "False"
    assert_unharmed(sandbox_executor)


def test_kill_its_own_runner(sandbox_executor):
    code = """
import os, signal
assert os.getppid() == 1
for sig in (signal.SIGKILL, signal.SIGTERM, signal.SIGINT, signal.SIGSTOP):
    os.kill(os.getppid(), sig)
try:
    os.kill(-1, signal.SIGKILL)  # everything it may signal but itself and PID 1
except ProcessLookupError:
    pass
print('runner survived')
"""
    r = run(sandbox_executor, code)
    assert r.status == "ok" and r.stdout.strip() == "runner survived"
    assert_unharmed(sandbox_executor)


def test_daemon_outliving_the_execution(sandbox_executor):
    code = """
import os, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        while True:
            open('/tmp/daemon-was-here', 'w').write(str(time.time()))
            time.sleep(0.05)
    os._exit(0)
print('parent done')
"""
    r = run(sandbox_executor, code)
    assert r.status == "ok" and r.duration_s < 1
    time.sleep(0.3)
    after = sandbox_executor.run(ExecutionRequest(code="import os\nprint(os.path.exists('/tmp/daemon-was-here'))"))
    assert after.stdout.strip() == "False"
    assert_unharmed(sandbox_executor)


def test_no_stray_containers_after_close():
    from cosr.config import SandboxConfig
    from cosr.sandbox import make_executor

    executor = make_executor(SandboxConfig(pool_size=2))
    owner = executor.owner
    assert executor.run(ExecutionRequest(code="while True: pass", timeout_s=0.5)).timed_out
    executor.close()
    assert sandbox_containers(owner=owner) == []
