"""A skill family from outside cosr is one new file: a module of the user's own package that registers its
generator, worked solution and fundamentals, named under `plugins:` in a skill graph file. Self-play draws,
verifies and demonstrates its tasks, and `cosr tutor`'s explain walks a person through them."""

from __future__ import annotations

import sys
import textwrap

import pytest

from cosr.agents.answer_adapter import extract_answer
from cosr.agents.trainer import demonstration
from cosr.agents.verifiers import verify_batch
from cosr.config import load_config
from cosr.graphs.session import SelfPlayRun, TutorSession
from cosr.graphs.skills import SkillGraph, SkillGraphError
from cosr.graphs.skills.catalog import GENERATORS

PACKAGE = "cosr_test_user_skills"
FUNDAMENTALS = "Double the tens and the ones apart, then add the two."
DOUBLING = '''
"""Doubling a number: a skill family from outside cosr, in one file."""

import random

from cosr.domain import AnswerFormat, Domain, Task, VerifierKind
from cosr.graphs.skills.catalog import Problem, register_generator


def doubling(level: int, rng: random.Random) -> Problem:
    n = rng.randint(1, 10**level - 1) * 10 + rng.randint(1, 9)  # ones never 0: each half is a step of its own
    return Problem(prompt=f"What is double {n}?", answer_format=AnswerFormat.NUMBER, verifier=VerifierKind.MATH,
                   reference=str(2 * n), metadata={"n": n})


def worked(task: Task) -> list[str] | None:
    if "n" not in task.metadata:
        return None
    n = task.metadata["n"]
    tens, ones = n - n % 10, n % 10
    return [f"{tens} + {tens} = {2 * tens}", f"{ones} + {ones} = {2 * ones}", f"{2 * tens} + {2 * ones} = {2 * n}"]


register_generator("doubling", doubling, domain=Domain.MATH, levels=2, worked=worked,
                   fundamentals="Double the tens and the ones apart, then add the two.")
'''


def steps_for(prompt: str) -> list[str]:
    n = int(prompt.removeprefix("What is double ").removesuffix("?"))
    tens, ones = n - n % 10, n % 10
    return [f"{tens} + {tens} = {2 * tens}", f"{ones} + {ones} = {2 * ones}", f"{2 * tens} + {2 * ones} = {2 * n}"]


@pytest.fixture
def graph_file(tmp_path, monkeypatch):
    """The user's package on the path (as an installed one would be), and a graph file that names its module."""
    (tmp_path / PACKAGE).mkdir()
    (tmp_path / PACKAGE / "__init__.py").write_text("")
    (tmp_path / PACKAGE / "doubling.py").write_text(DOUBLING)
    monkeypatch.syspath_prepend(str(tmp_path))
    path = tmp_path / "graph.yaml"
    path.write_text(f"plugins: [{PACKAGE}.doubling]\nskills:\n  - {{name: doubling, domain: math, generator: doubling, levels: 2}}\n")
    yield path
    GENERATORS._items.pop("doubling", None)  # the registry is the process's: leave it as other tests expect it
    for name in (f"{PACKAGE}.doubling", PACKAGE):
        sys.modules.pop(name, None)


def test_its_tasks_are_made_worked_and_verified(graph_file):
    skills = SkillGraph.from_file(graph_file)
    assert skills.plugins == (f"{PACKAGE}.doubling",) and skills.to_dict()["plugins"] == [f"{PACKAGE}.doubling"]
    assert SkillGraph.from_file(graph_file).names() == ["doubling"]  # loaded twice: registered once
    task = skills.make_task("doubling", 2, 7)
    assert skills.worked_solution(task) == steps_for(task.prompt)
    text = skills.worked_answer(task)
    assert text == ". ".join(steps_for(task.prompt)) + f". So the answer is {task.reference}"
    answer = extract_answer(text, task.answer_format).answer
    assert verify_batch([task], [answer], None)[0].correct
    assert not verify_batch([task], [str(int(task.reference) + 2)], None)[0].correct
    assert skills.fundamentals(task) == FUNDAMENTALS


def test_self_play_draws_verifies_and_demonstrates_it(graph_file, tiny_run_config):
    cfg = tiny_run_config.model_copy(update={"skills": graph_file, "rounds": 1})
    cfg.training.demonstration_template = " {worked}"
    with SelfPlayRun(cfg) as run:
        list(run.events())
        trajectories = run.store.trajectories(run.run_id)
        assert trajectories and {t.task.skill for t in trajectories} == {"doubling"}
        assert all(t.verdict.status in ("correct", "wrong", "unparseable") for t in trajectories)
        assert {t.skill for t in run.ctx.heldout} == {"doubling"}  # held out by its identity, like any skill
        shown = demonstration(run.ctx, trajectories[0]).completion
        assert shown == " " + ". ".join(steps_for(trajectories[0].task.prompt)) + f". So the answer is {trajectories[0].task.reference}"


def test_cosr_tutor_explains_it_with_its_own_worked_steps(graph_file, tmp_path):
    cfg = load_config(None, {"run_dir": tmp_path / "tutor", "skills": graph_file, "max_steps": 2})
    with TutorSession(cfg) as session:
        turn = session.advance()
        prompt = turn["task"]["prompt"]
        turn = session.advance({"command": "explain"})
    first, second, _ = steps_for(prompt)
    assert turn["explanation"].startswith(f"Fundamentals: {FUNDAMENTALS}\nWorked steps:\n  1. {first}\n  2. {second}\n")
    assert turn["task"]["prompt"] == prompt  # the same task, explained


def test_a_plugin_that_cannot_be_imported_or_clashes_is_a_clear_error(tmp_path, monkeypatch):
    def load(text: str) -> str:
        path = tmp_path / "g.yaml"
        path.write_text(text + "skills:\n  - {name: addition, domain: math, generator: addition}\n")
        with pytest.raises(SkillGraphError) as e:
            SkillGraph.from_file(path)
        return str(e.value)

    assert load("plugins: [no_such_package.skills]\n") == (
        f"{tmp_path / 'g.yaml'}: plugin 'no_such_package.skills' cannot be imported (No module named "
        "'no_such_package'): install its package or put it on PYTHONPATH")
    assert "'plugins' must be a list of module names" in load("plugins: my_skills.doubling\n")
    (tmp_path / "clash.py").write_text(textwrap.dedent('''
        from cosr.domain import Domain
        from cosr.graphs.skills.catalog import register_generator
        register_generator("addition", lambda level, rng: None, domain=Domain.MATH, levels=1)
    '''))
    monkeypatch.syspath_prepend(str(tmp_path))
    assert load("plugins: [clash]\n").endswith("plugin 'clash': skill generator 'addition' is already registered")
