"""The yardstick: task identity, the held-out splits, and the audit that finds a planted leak."""

from __future__ import annotations

import json

import pytest

from cosr.agents.worked_examples import record
from cosr.domain import Attempt, Task, Trajectory, Verdict
from cosr.graphs.audit import audit_run, check, heldout_index
from cosr.graphs.skills import SkillGraph
from cosr.graphs.skills.splits import heldout_tasks, split_of
from cosr.store import TrajectoryStore


@pytest.fixture(scope="module")
def skills() -> SkillGraph:
    return SkillGraph.builtin()


def _task(skills: SkillGraph, skill: str, prompt: str, reference: str = "0") -> Task:
    base = skills.make_task(skill, 1, 0)
    return base.model_copy(update={"prompt": prompt, "reference": reference, "id": f"x:{prompt}"})


@pytest.mark.parametrize("skill, same, other", [
    ("multiplication", ["What is 5 * 9?", "What is 9 * 5?", "what is 9*5 ?"], "What is 5 * 8?"),
    ("addition", ["What is 28 + 62?", "What is 62 + 28?"], "What is 28 + 63?"),
    ("subtraction", ["What is 83 - 37?", "What is  83 - 37 ?"], "What is 37 - 83?"),
    ("chain_sum", ["What is 9 + 1 - 2 + 0?", "What is 1 + 9 + 0 - 2?"], "What is 9 - 1 + 2 + 0?"),
    ("division", ["What is 70 / 5?"], "What is 5 / 70?"),
    ("gcd", ["What is gcd(4, 40)?", "What is gcd(40, 4)?"], "What is gcd(4, 44)?"),
    ("linear_equation", ["Solve for x: x + 5 = 7", "Solve for x: 7 = 5 + x"], "Solve for x: x + 5 = 8"),
    ("fraction_addition", ["What is 1/3 + 8/9? Give the answer in lowest terms.", "What is 8/9 + 1/3?"],
     "What is 1/9 + 8/3?"),
    ("code_output", ["def f(x):\n    return 5 * x + 3\nWhat is f(4)?", "def f(x):\n    return 5*x+3\n\nWhat is f( 4 )?"],
     "def f(x):\n    return 5 * x + 3\nWhat is f(5)?"),
    ("code_input", ["def f(x):\n    return x + 1\nFind x such that f(x) == 3.",
                    "def f(x):\n  return x+1\nFind x such that f(x) == 3."], "def f(x):\n    return x + 1\nFind x such that f(x) == 4."),
])
def test_a_family_says_which_of_its_tasks_are_the_same_problem(skills, skill, same, other):
    ids = {skills.identity(_task(skills, skill, p)) for p in same}
    assert len(ids) == 1
    assert skills.identity(_task(skills, skill, other)) not in ids


def test_a_program_is_the_same_task_whatever_its_layout(skills):
    a = _task(skills, "code_synthesis", "Write f: f(1) == 2", reference="def f(x):\n    return x + 1\n")
    b = _task(skills, "code_synthesis", "Write f: f(2) == 3", reference="def f(x):  # add one\n  return (x + 1)")
    c = _task(skills, "code_synthesis", "Write f: f(1) == 2", reference="def f(x):\n    return x + 2\n")
    assert skills.identity(a) == skills.identity(b) != skills.identity(c)


def test_training_draws_only_training_problems_at_every_level(skills):
    for s in skills.skills():
        for level in range(1, s.levels + 1):
            for seed in range(40):
                assert split_of(skills.identity(skills.make_task(s.name, level, seed))) == "train"


def test_each_split_holds_distinct_problems_of_its_own_drawn_alike_every_time(skills):
    val, test = (heldout_tasks(skills, 60, [1, 2], split) for split in ("validation", "test"))
    for split, tasks in (("validation", val), ("test", test)):
        ids = [skills.identity(t) for t in tasks]
        assert len(ids) == len(set(ids))  # distinct problems, not repeats
        assert all(t.split == split and split_of(i) == split for t, i in zip(tasks, ids, strict=True))
    assert not {skills.identity(t) for t in val} & {skills.identity(t) for t in test}
    again = heldout_tasks(skills, 60, [1, 2], "test")
    assert [t.model_dump() for t in again] == [t.model_dump() for t in test]
    # an open level gives all it is asked; a small one what its share holds (one-digit addition: 55 problems)
    per_level = {(t.skill, t.difficulty): 0 for t in test}
    for t in test:
        per_level[(t.skill, t.difficulty)] += 1
    assert per_level[("addition", 2)] == 30 and 1 <= per_level[("addition", 1)] <= 15


def test_a_shared_prefix_means_the_default_evaluation_is_inside_the_audited_set(skills):
    small = heldout_tasks(skills, 12, [1, 2, 3], "test")
    large = {skills.identity(t) for t in heldout_tasks(skills, 30, [1, 2, 3], "test")}
    assert {skills.identity(t) for t in small} <= large


def test_the_audit_finds_a_planted_leak_exact_and_swapped(skills, tmp_path):
    index = heldout_index(skills, 30, [1, 2])
    held = next(t for t in index.values() if t.skill == "multiplication" and t.difficulty == 2)
    a, b = held.prompt[len("What is "):-1].split(" * ")
    twin = held.model_copy(update={"id": "train:planted:swapped", "split": "train", "prompt": f"What is {b} * {a}?"})
    exact = held.model_copy(update={"id": "train:planted:exact", "split": "train"})
    clean = skills.make_task("multiplication", 2, 7)
    report = check(skills, index, [("trajectory", clean), ("trajectory", exact), ("rehearsal", twin)],
                   per_skill=30, levels=[1, 2])
    assert report.checked == len(index) and report.sources == {"trajectory": 2, "rehearsal": 1}
    assert sorted(leak.training_id for leak in report.leaks) == ["train:planted:exact", "train:planted:swapped"]
    assert {leak.heldout_id for leak in report.leaks} == {held.id}


def test_audit_of_a_run_directory_reads_its_store(skills, tmp_path, tiny_run_config):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    cfg = tiny_run_config.model_copy(update={"run_id": "r1", "run_dir": run_dir, "skills": None})
    (run_dir / "config.json").write_text(cfg.model_dump_json())
    held = heldout_tasks(skills, 30, [1, 2], "validation")[40]
    store = TrajectoryStore(run_dir / "store.sqlite")
    verdict = Verdict(correct=True, score=1.0, status="correct")
    for i, task in enumerate([skills.make_task("addition", 2, 5), held.model_copy(update={"split": "train"})]):
        store.add_trajectories([Trajectory(id=f"t{i}", run_id="r1", round=1, step=i + 1, task=task, verdict=verdict,
                                           attempt=Attempt(task_id=task.id, student_id="s", raw_output="1"))])
    store.close()
    report = audit_run(run_dir, per_skill=30)
    assert report.sources == {"trajectory": 2}
    assert [leak.heldout_id for leak in report.leaks] == [held.id]
    assert json.loads(report.model_dump_json())["leaks"][0]["split"] == "validation"
    # The teacher's worked examples are no trajectories: the audit reads them from the run folder (worked/)
    other = heldout_tasks(skills, 30, [1, 2], "test")[7]
    record(run_dir, 1, [skills.make_task("addition", 2, 9), other.model_copy(update={"split": "train"})])
    report = audit_run(run_dir, per_skill=30)
    assert report.sources == {"trajectory": 2, "worked example": 2}
    assert sorted(leak.heldout_id for leak in report.leaks) == sorted([held.id, other.id])
    (run_dir / "worked" / "round-002.json").write_text('[["train:addition:L2:s1", "addition"]]')
    with pytest.raises(ValueError, match="round-002.json is not a list of .* cannot be audited"):
        audit_run(run_dir, per_skill=30)  # a damaged record is an error, never a clean audit


def test_the_audit_command_exits_1_on_a_leak_and_export_writes_the_split(skills, tmp_path, tiny_run_config):
    from typer.testing import CliRunner

    from cosr.cli import app

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    cfg = tiny_run_config.model_copy(update={"run_id": "r1", "run_dir": run_dir, "skills": None})
    (run_dir / "config.json").write_text(cfg.model_dump_json())
    store = TrajectoryStore(run_dir / "store.sqlite")
    store.close()
    clean = CliRunner().invoke(app, ["audit", str(run_dir), "--per-skill", "20", "--json"])
    assert clean.exit_code == 0 and json.loads(clean.stdout)["leak_count"] == 0

    held = heldout_tasks(skills, 20, [1, 2, 3, 4, 5], "test")[3]
    store = TrajectoryStore(run_dir / "store.sqlite")
    store.add_trajectories([Trajectory(id="t", run_id="r1", round=1, step=1, task=held.model_copy(update={"split": "train"}),
                                       verdict=Verdict(correct=False, score=0.0, status="wrong"),
                                       attempt=Attempt(task_id=held.id, student_id="s", raw_output="1"))])
    store.close()
    leaky = CliRunner().invoke(app, ["audit", str(run_dir), "--per-skill", "20", "--json"])
    assert leaky.exit_code == 1 and [x["heldout_id"] for x in json.loads(leaky.stdout)["leaks"]] == [held.id]

    out = tmp_path / "val.jsonl"
    done = CliRunner().invoke(app, ["heldout", "export", str(out), "--split", "validation", "--per-skill", "12"])
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert done.exit_code == 0 and len(lines) == len(heldout_tasks(skills, 12, [1, 2, 3], "validation"))
    assert {"id", "skill", "level", "prompt", "answer", "answer_format"} <= set(lines[0]) and lines[0]["split"] == "validation"
    assert Task.from_export(lines[-1]) == heldout_tasks(skills, 12, [1, 2, 3], "validation")[-1]
