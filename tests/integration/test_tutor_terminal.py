"""`cosr tutor` driven as a person would drive it, through a real terminal (pexpect): a wrong answer
with feedback and a hint, a hint on request, a right answer, quit, and resume at the same task."""

from __future__ import annotations

import os
import re
import sys

import pexpect
import pytest

from cosr.graphs.skills import SkillGraph
from cosr.store import TrajectoryStore

COSR = [sys.executable, "-m", "cosr.cli"]
TASK = re.compile(r"--- task (\d+): (\w+), level (\d+) \((\S+)\)")


def spawn(*args: str) -> pexpect.spawn:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "250", "TERM": "dumb"}
    return pexpect.spawn(COSR[0], [*COSR[1:], "tutor", *args], env=env, encoding="utf-8", timeout=120,
                         dimensions=(50, 250))


def reference(graph: SkillGraph, task_id: str) -> str:
    _, skill, level, seed = task_id.split(":")
    return graph.make_task(skill, int(level[1:]), int(seed[1:])).reference


def test_a_session_right_wrong_hint_quit_resume(tmp_path, math_graph_file):
    graph, run_dir = SkillGraph.from_file(math_graph_file), tmp_path / "session"
    child = spawn("--run-dir", str(run_dir), "--skills", str(math_graph_file))
    child.expect(TASK)
    first = child.match.group(4)
    child.expect("> ")
    child.sendline("-99999")  # wrong: feedback, then the first hint, same task again
    child.expect("Not yet: -99999 is not right")
    child.expect("Hint 1: ")
    child.expect("> ")
    child.sendline("hint")
    child.expect("Hint 2: ")
    child.expect("> ")
    assert reference(graph, first) not in child.before.split("Hint 2:")[-1].split("What is")[0]
    child.sendline(reference(graph, first))
    child.expect(r"Correct! \(")
    child.expect(TASK)
    second = child.match.group(4)
    assert child.match.group(1) == "2"
    child.expect("> ")
    child.sendline("skills")
    child.expect(r"your mastery")
    child.expect("> ")
    child.sendline("quit")
    child.expect(r"paused\. continue with: cosr tutor --resume (\S+)")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0

    child = spawn("--resume", str(run_dir))  # the same task comes back
    child.expect(TASK)
    assert child.match.group(4) == second
    child.expect("> ")
    child.sendline(reference(graph, second))
    child.expect(r"Correct! \(")
    child.expect("> ")
    child.sendline("quit")
    child.expect(pexpect.EOF)

    store = TrajectoryStore(run_dir / "store.sqlite")
    got = [(t.task.id, t.verdict.status) for t in store.trajectories()]
    assert got == [(first, "wrong"), (first, "correct"), (second, "correct")]


@pytest.mark.docker
def test_code_answers_are_multi_line_and_run_in_the_sandbox(tmp_path):
    graph_file = tmp_path / "code.yaml"
    graph_file.write_text("skills:\n  - {name: code_synthesis, domain: code, generator: code_synthesis}\n")
    graph = SkillGraph.from_file(graph_file)
    child = spawn("--run-dir", str(tmp_path / "s"), "--skills", str(graph_file), "--tasks", "1")
    child.expect(TASK)
    task_id = child.match.group(4)
    child.expect("fenced block")
    child.expect("> ")
    child.sendline("def f(x):")  # wrong, ended by a blank line: the failed test is named
    child.sendline("    return None")
    child.sendline("")
    child.expect(r"this check failed: assert __same__\(f\(")
    child.expect("> ")
    child.sendline("```python")  # right, as a fenced block
    for line in reference(graph, task_id).splitlines():
        child.sendline(line)
    child.sendline("```")
    child.expect(r"Correct! \(code_synthesis")
    child.expect("session over: 1 tasks")
    child.expect(pexpect.EOF)
