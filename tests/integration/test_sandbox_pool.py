"""The docker pool against the real engine: isolation between executions, HumanEval files, the CLI, the runner
the image holds."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from cosr.config import SandboxConfig
from cosr.sandbox import ExecutionRequest, make_executor
from cosr.sandbox.humaneval import canonical_solutions, load_solutions, load_tasks, verify

pytestmark = pytest.mark.docker
DATA = Path(__file__).parents[1] / "data"
TASKS, WRONG = DATA / "humaneval_mini.jsonl", DATA / "humaneval_mini_wrong.jsonl"

LEAVE_TRACES = """
import os, sys, decimal
open('/tmp/left-behind.txt', 'w').write('x')
open('left-in-scratch.txt', 'w').write('x')
os.environ['LEFT_BEHIND'] = '1'
sys.modules['left_behind'] = sys
print(open('/proc/1/stat').read().split()[21])
"""
LOOK_FOR_TRACES = """
import os, sys
print(open('/proc/1/stat').read().split()[21])
print(sorted(os.listdir('/tmp')) == [os.path.basename(os.getcwd())], os.listdir('.'))
print('LEFT_BEHIND' in os.environ, 'left_behind' in sys.modules, 'decimal' in sys.modules)
print(sorted(int(p) for p in os.listdir('/proc') if p.isdigit()) == sorted({1, os.getpid()}))
"""


@pytest.fixture(scope="module")
def single():
    executor = make_executor(SandboxConfig(pool_size=1))
    yield executor
    executor.close()


def test_nothing_leaks_to_the_next_execution_in_the_same_container(single):
    first = single.run(ExecutionRequest(code=LEAVE_TRACES))
    second = single.run(ExecutionRequest(code=LOOK_FOR_TRACES))
    assert first.status == second.status == "ok", (first, second)
    lines = second.stdout.splitlines()
    assert lines[0] == first.stdout.strip(), "not the same container: the in-container cleanup was not exercised"
    assert lines[1:] == ["True []", "False False False", "True"]
    assert single.replaced == 0


def test_a_left_process_is_killed_and_its_container_replaced(single):
    before = single.replaced
    first = single.run(ExecutionRequest(code="import subprocess\nsubprocess.Popen(['sleep', '30'])\nprint(open('/proc/1/stat').read().split()[21])"))
    second = single.run(ExecutionRequest(code=LOOK_FOR_TRACES))
    assert first.status == second.status == "ok", (first, second)
    assert single.replaced == before + 1
    assert second.stdout.splitlines()[0] != first.stdout.strip()
    assert second.stdout.splitlines()[-1] == "True"


def test_humaneval_canonical_pass_and_wrong_fail(sandbox_executor):
    tasks = load_tasks(TASKS)
    start = time.monotonic()
    good = verify(sandbox_executor, tasks, canonical_solutions(tasks))
    took = time.monotonic() - start
    assert [v.passed for v in good] == [True] * len(tasks)
    assert took < 2.0, f"{len(tasks)} canonical solutions took {took:.2f}s: not pool speed"
    bad = verify(sandbox_executor, tasks, load_solutions(WRONG), timeout_s=1.0)
    assert [v.passed for v in bad] == [False] * len(bad)
    by_id = {v.task_id: v for v in bad}
    assert by_id["Mini/2"].status == "timeout"  # the one that never terminates
    assert by_id["Mini/3"].error.startswith("SyntaxError")


def _cosr(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["cosr", *args], capture_output=True, text=True, timeout=120)


def test_cli_verify_json(tmp_path):
    done = _cosr("verify", "--tasks", str(TASKS), "--solutions", str(WRONG), "--timeout", "1", "--json")
    assert done.returncode == 1, done.stderr
    rows = json.loads(done.stdout)
    assert [r["passed"] for r in rows] == [False] * 5 and rows[0]["task_id"] == "Mini/0"
    good = _cosr("verify", "--tasks", str(TASKS), "--json")
    assert good.returncode == 0 and all(r["passed"] for r in json.loads(good.stdout))


def test_cli_run_and_check(tmp_path):
    program = tmp_path / "hello.py"
    program.write_text("import os\nprint('hello from', os.getuid())\n")
    done = _cosr("sandbox", "run", str(program), "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout)
    assert result["status"] == "ok" and result["stdout"] == "hello from 65534\n"
    check = _cosr("sandbox", "check", "--json")
    assert check.returncode == 0 and json.loads(check.stdout)["ok"] is True


def test_a_missing_image_is_a_clear_error():
    from cosr.sandbox import SandboxUnavailable

    with pytest.raises(SandboxUnavailable, match=r"image cosr-sandbox:no-such-tag is missing; build it: `cosr sandbox build`"):
        make_executor(SandboxConfig(image="cosr-sandbox:no-such-tag"))


def test_each_container_runs_the_images_read_only_runner_file(single):
    from docker.errors import APIError

    from cosr.sandbox.docker_pool import sandbox_containers

    r = single.run(ExecutionRequest(code="open('/opt/cosr/runner.py', 'a')"))
    assert r.status == "failed" and r.error.startswith(("OSError", "PermissionError")), r
    commands = []
    for container in sandbox_containers(owner=single.owner):
        try:  # what `ps` on the host shows for each container's process
            commands += [p[-1] for p in container.top(ps_args="-o pid,args")["Processes"] or []]
        except APIError:  # a replaced container, gone between listing and looking
            pass
    assert commands and set(commands) == {"python3 -I -S /opt/cosr/runner.py --container"}, commands


def test_an_image_with_another_runner_is_refused_and_a_build_replaces_it():
    from docker.errors import ImageNotFound

    from cosr.sandbox import SandboxUnavailable
    from cosr.sandbox.engine import RUNNER_LABEL, connect, runner_digest
    from cosr.sandbox.image import build_image

    client, stale = connect(), "cosr-sandbox:test-stale-runner"
    holder = client.containers.create(SandboxConfig().image)
    older = holder.commit(*stale.split(":"), changes=[f"LABEL {RUNNER_LABEL}=an-older-runner"])
    holder.remove()
    try:
        with pytest.raises(SandboxUnavailable, match=f"{stale} holds another version of the runner than this cosr; "
                                                     "build it: `cosr sandbox build`"):
            make_executor(SandboxConfig(image=stale))
        assert build_image(stale, log=lambda m: None) == "built"
        assert client.images.get(stale).labels[RUNNER_LABEL] == runner_digest()
        with make_executor(SandboxConfig(image=stale, pool_size=1)) as executor:
            assert executor.run(ExecutionRequest(code="print(6 * 7)")).stdout == "42\n"
    finally:
        for image in (stale, older.id):  # the rebuilt image, and the older one the build untagged
            try:
                client.images.remove(image, force=True)
            except ImageNotFound:
                pass
        client.close()
