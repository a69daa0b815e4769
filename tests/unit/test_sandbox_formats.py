"""Offline parts of the sandbox: the verdict rules, HumanEval files, reading the apt mirror."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cosr.sandbox import ExecutionRequest
from cosr.sandbox.humaneval import TaskFileError, load_solutions, load_tasks, request_for, verify
from cosr.sandbox.image import apt_mirror
from cosr.sandbox.protocol import hit_limit_or_misbehaved, to_result

DATA = Path(__file__).parents[1] / "data"
RAW = {"exit_code": 0, "stdout": "", "stderr": "", "timed_out": False, "memory_exceeded": False,
       "output_truncated": False, "duration_s": 0.01, "code_error": None, "tests": {}, "strays": 0, "clean": True}


@pytest.mark.parametrize(
    ("raw", "status", "first_test_error"),
    [
        ({"tests": {"0": None}}, "ok", ""),
        ({"tests": {"0": "AssertionError"}}, "failed", "AssertionError"),
        ({"code_error": "NameError: x"}, "failed", "not run: NameError: x"),
        ({"timed_out": True, "exit_code": -9, "code_error": "missing"}, "timeout", "not run: timed out after 2s"),
        ({"memory_exceeded": True, "exit_code": -9, "code_error": "missing"}, "memory", "not run: memory limit exceeded"),
        ({"exit_code": -11, "code_error": None}, "failed", "not run: killed by signal 11"),
    ],
)
def test_verdict_rules(raw, status, first_test_error):
    result = to_result(ExecutionRequest(code="x", tests=("assert x",), timeout_s=2), RAW | raw)
    assert result.status == status and result.passed is (status == "ok")
    assert result.tests[0].error == first_test_error


def test_replacement_rule():
    assert not hit_limit_or_misbehaved(RAW)
    for bad in ({"timed_out": True}, {"memory_exceeded": True}, {"output_truncated": True}, {"strays": 1}, {"clean": False}):
        assert hit_limit_or_misbehaved(RAW | bad)


def test_humaneval_files_load_and_build_human_eval_programs():
    tasks = load_tasks(DATA / "humaneval_mini.jsonl")
    assert [t.task_id for t in tasks] == [f"Mini/{i}" for i in range(5)]
    req = request_for(tasks[0], tasks[0].canonical_solution)
    assert req.code == tasks[0].prompt + "    return a + b\n"
    assert req.tests == (tasks[0].test, "check(add)")
    assert len(load_solutions(DATA / "humaneval_mini_wrong.jsonl")) == 5


def test_humaneval_bad_files_say_where(tmp_path):
    bad = tmp_path / "t.jsonl"
    bad.write_text(json.dumps({"task_id": "a", "prompt": ""}) + "\n")
    with pytest.raises(TaskFileError, match=r"t.jsonl:1: not a HumanEvalTask line: canonical_solution: Field required"):
        load_tasks(bad)
    line = (DATA / "humaneval_mini.jsonl").read_text().splitlines()[0]
    bad.write_text(line + "\n" + line + "\n")
    with pytest.raises(TaskFileError, match="appears twice"):
        load_tasks(bad)
    with pytest.raises(TaskFileError, match="no such file"):
        load_solutions(tmp_path / "missing.jsonl")


def test_solutions_for_unknown_tasks_are_rejected():
    tasks = load_tasks(DATA / "humaneval_mini.jsonl")
    from cosr.sandbox.humaneval import Solution

    with pytest.raises(TaskFileError, match="not in the task file: Nope/1"):
        verify(None, tasks, [Solution(task_id="Nope/1", completion="")])  # type: ignore[arg-type]


def test_apt_mirror_from_deb822_and_one_line_sources(tmp_path):
    d = tmp_path / "sources.list.d"
    d.mkdir()
    (d / "a.sources").write_text(
        "Types: deb\nURIs: http://mirror.invalid/debian\nSuites: trixie trixie-updates\nComponents: main\n\n"
        "Types: deb\nURIs: http://mirror.invalid/debian-security\nSuites: trixie-security\n"
    )
    assert apt_mirror([tmp_path / "nothing", d]) == ("http://mirror.invalid/debian", "trixie")
    one = tmp_path / "sources.list"
    one.write_text("# comment\ndeb-src http://x.invalid/debian bookworm main\ndeb [arch=amd64] http://x.invalid/debian bookworm main\n")
    assert apt_mirror([one]) == ("http://x.invalid/debian", "bookworm")
    from cosr.sandbox import SandboxUnavailable

    with pytest.raises(SandboxUnavailable, match="no Debian mirror"):
        apt_mirror([tmp_path / "nothing"])
