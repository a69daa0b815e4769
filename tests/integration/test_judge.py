"""`cosr judge` as a user runs it: a JSONL file of tasks and raw outputs in, one verdict a line out, in order."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cosr.graphs.skills import SkillGraph

COSR = [sys.executable, "-m", "cosr.cli"]
GRAPH = SkillGraph.builtin()


def run_judge(path: Path, *flags: str) -> subprocess.CompletedProcess:
    return subprocess.run([*COSR, "judge", str(path), *flags], capture_output=True, text=True, timeout=300, check=False)


def write(path: Path, lines: list[dict | str]) -> Path:
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines))
    return path


@pytest.fixture
def math_file(tmp_path) -> Path:
    add = GRAPH.make_task("addition", 2, 3).to_export()
    simplify = GRAPH.make_task("fraction_simplification", 2, 1).to_export()
    question = add["prompt"].removeprefix("What is ").removesuffix("?")
    return write(tmp_path / "math.jsonl", [
        {"task": add, "answer": f"Adding the ones and the tens, the answer is {add['answer']}."},
        {"task": add, "answer": "The answer is 7"},
        {"task": add, "answer": f"\\boxed{{{question}}}"},
        {"task": simplify, "answer": simplify["prompt"].split()[1]},  # the fraction it was asked to simplify
        "",  # a blank line is no line
        {"task": add, "answer": f"It is {int(add['answer']) - 1} or {add['answer']}"},
    ])


def test_each_answer_gets_its_verdict_in_order_with_the_reason(math_file):
    done = run_judge(math_file)
    assert done.returncode == 1, done.stderr  # some answer is wrong
    lines = done.stdout.splitlines()
    assert len(lines) == 6 and lines[-1] == "1/5 correct", done.stdout
    assert "correct;" in lines[0] and "(after 'answer')" in lines[0]
    assert "WRONG (wrong)" in lines[1] and "expected" in lines[1]
    assert "an expression, not a number" in lines[2]
    assert "not in lowest terms" in lines[3]
    assert "WRONG (unparseable)" in lines[4] and "several different answers" in lines[4]


def test_json_gives_id_correct_the_extracted_answer_and_a_note(math_file):
    done = run_judge(math_file, "--json")
    verdicts = json.loads(done.stdout)
    assert [v["correct"] for v in verdicts] == [True, False, False, False, False]
    assert all({"id", "correct", "answer", "note"} <= set(v) and v["note"] for v in verdicts)
    reference = json.loads(math_file.read_text().splitlines()[0])["task"]["answer"]
    assert verdicts[0]["id"] == verdicts[1]["id"] and verdicts[0]["answer"] == reference
    assert verdicts[4]["answer"] is None


def test_all_correct_exits_zero(tmp_path):
    task = GRAPH.make_task("linear_equation", 1, 0).to_export()
    done = run_judge(write(tmp_path / "ok.jsonl", [{"task": task, "answer": f"x = {task['answer']}"}]))
    assert done.returncode == 0 and done.stdout.splitlines()[-1] == "1/1 correct", done.stdout + done.stderr


def test_bad_lines_are_named_without_a_traceback(tmp_path):
    good = {"task": GRAPH.make_task("addition", 1, 0).to_export(), "answer": "1"}
    path = write(tmp_path / "bad.jsonl", [
        good, '{"task": {"prompt": "What is 1 + 1?"', {**good, "student": "me"},
        {**good, "task": {**good["task"], "answr_format": "number"}}, {"task": good["task"]}, {**good, "answer": 2},
    ])
    done = run_judge(path)
    assert done.returncode == 2 and done.stdout == "" and "Traceback" not in done.stderr
    errors = done.stderr.splitlines()
    assert [e.split(":")[1].strip() for e in errors] == ["line 2", "line 3", "line 4", "line 5", "line 6"], errors
    assert "not JSON" in errors[0] and "unknown field 'student'" in errors[1]
    assert "task.answr_format: unknown field" in errors[2] and "missing 'answer'" in errors[3]
    assert "must be a string" in errors[4]


@pytest.mark.docker
def test_code_answers_run_in_the_sandbox(tmp_path):
    output = GRAPH.make_task("code_output", 2, 0)
    synthesis = GRAPH.make_task("code_synthesis", 3, 0)
    liar = "```python\nclass A:\n    def __eq__(self, other):\n        return True\n\ndef f(x):\n    return A()\n```"
    path = write(tmp_path / "code.jsonl", [
        {"task": output.to_export(), "answer": f"The answer is {output.reference}"},
        {"task": output.to_export(), "answer": output.prompt.splitlines()[-1].removeprefix("What is ").rstrip("?")},
        {"task": synthesis.to_export(), "answer": f"```python\n{synthesis.reference}```"},
        {"task": synthesis.to_export(), "answer": liar},
    ])
    verdicts = json.loads(run_judge(path, "--json", "--sandbox", "docker").stdout)
    assert [v["correct"] for v in verdicts] == [True, False, True, False], verdicts
    assert verdicts[1]["note"].startswith("a call, not a literal") and "tests passed" in verdicts[2]["note"]
    assert "not plain data" in verdicts[3]["note"]
