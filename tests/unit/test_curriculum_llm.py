"""The `llm` strategy against a real OpenAI-protocol server on 127.0.0.1 with scripted replies: a task
whose reference fails the verifier never reaches the student. (Its explanations: tests/unit/test_teacher.py.)"""

from __future__ import annotations

import json
import random
import re

import pytest
from langgraph.runtime import Runtime

from cosr.agents.curator import curate
from cosr.agents.curriculum import Pick, make_strategy
from cosr.agents.curriculum.llm import evaluate_arithmetic
from cosr.agents.evaluator import heldout_tasks
from cosr.config import EvalConfig
from cosr.graphs.context import Context
from cosr.graphs.skills import SkillGraph
from cosr.store import TrajectoryStore
from tests.support.openai_server import ScriptedOpenAIServer

GOOD = {"prompt": "What is 22 + 34?", "answer": "56", "solution": "22 + 34"}


def _held_out_reworded() -> dict:
    """A test-split chain_sum problem with its first two terms swapped (a + b - c -> b + a - c): still held out."""
    task = next(t for t in heldout_tasks(SkillGraph.builtin(), EvalConfig(per_skill=40, levels=[2]))
                if t.skill == "chain_sum" and re.match(r"What is \d+ \+ \d+ ", t.prompt))
    a, b, rest = re.match(r"What is (\d+) \+ (\d+)(.*)\?", task.prompt).groups()
    return {"prompt": f"What is {b}+{a}{rest}?", "answer": task.reference, "solution": f"{b}+{a}{rest}"}


HELD = _held_out_reworded()
WRONG = {"prompt": "What is 18 + 27?", "answer": "46", "solution": "18 + 27"}  # the reference is wrong


def curator_llm(model: str, prompt: str) -> str:
    k = int(re.search(r"Write (\d+) new problems", prompt).group(1))
    if "Skill: subtraction" in prompt:
        return "Sorry, I cannot help with that."  # no JSON at all
    if "Skill: chain_sum" in prompt:
        return json.dumps({"tasks": [HELD] * k})
    return "Here you go:\n```json\n" + json.dumps({"tasks": ([GOOD, WRONG] * k)[:k]}) + "\n```"


@pytest.fixture
def server():
    with ScriptedOpenAIServer(curator_llm) as s:
        yield s


@pytest.fixture
def ctx(tiny_run_config, tmp_path, server):
    cfg = tiny_run_config.model_copy(deep=True)
    cfg.curator.strategy = "llm"
    cfg.curator.llm = cfg.curator.llm.model_copy(update={"base_url": server.base_url, "model": "curator",
                                                         "tasks_per_batch": 4, "explanation_budget": 2})
    skills = SkillGraph.from_file(cfg.skills)
    return Context(config=cfg, run_id="r", run_dir=tmp_path, skills=skills, store=TrajectoryStore(tmp_path / "s.sqlite"),
                   student=None, strategy=make_strategy("llm", cfg.curator), heldout=heldout_tasks(skills, cfg.eval))


def test_a_task_whose_reference_fails_the_verifier_is_rejected(ctx, server):
    written = ctx.strategy.write_tasks([Pick("addition", 2, "weakest")] * 2, ctx, random.Random(0))
    assert [t.prompt for t in written.tasks] == [GOOD["prompt"]]
    assert len(written.rejected) == 1 and "reference fails the verifier" in written.rejected[0]
    assert written.leftover == [Pick("addition", 2, "weakest")]  # the generator makes up for the rejected one
    task = written.tasks[0]
    assert task.provenance.strategy == "llm" and task.provenance.teacher == "openai:curator"
    assert (task.skill, task.difficulty, task.reference) == ("addition", 2, "56")
    request = server.requests[-1]
    assert request["path"].endswith("/chat/completions") and request["model"] == "curator" and "seed" in request


def test_a_held_out_problem_in_another_spelling_is_rejected(ctx):
    written = ctx.strategy.write_tasks([Pick("chain_sum", 2, "weakest")], ctx, random.Random(0))
    assert written.tasks == [] and len(written.rejected) == 1 and written.rejected[0].endswith(": a held-out problem")


def test_the_curator_never_hands_out_a_rejected_task(ctx):
    update = curate({"step": 0, "mastery": {}}, Runtime(context=ctx, stream_writer=lambda e: None))
    prompts = [t.prompt for t in update["batch"]]
    assert len(prompts) == ctx.config.curator.batch_size
    assert WRONG["prompt"] not in prompts and GOOD["prompt"] in prompts
    written = [t for t in update["batch"] if t.provenance.teacher == "openai:curator"]
    assert len(written) == 2 and len(update["curator_log"]["rejected"]) == 2
    assert "LLM wrote 2, rejected 2" in update["curator_note"]


def test_an_unusable_reply_is_a_recorded_rejection(ctx):
    written = ctx.strategy.write_tasks([Pick("subtraction", 1, "weakest")], ctx, random.Random(0))
    assert written.tasks == [] and written.leftover == [Pick("subtraction", 1, "weakest")]
    assert "unusable reply" in written.rejected[0]


def test_without_a_server_the_llm_strategy_is_a_clear_error():
    from cosr.config import CuratorConfig

    with pytest.raises(ValueError, match="curator.llm.base_url"):
        make_strategy("llm", CuratorConfig(strategy="llm"))


def test_arithmetic_checks_are_exact_and_refuse_code():
    assert str(evaluate_arithmetic("3/4 + 1/4 * 2")) == "5/4"
    for bad in ("__import__('os')", "x + 1", "2 ** 1000", "1/0"):
        with pytest.raises(ValueError):
            evaluate_arithmetic(bad)


@pytest.mark.parametrize("tests", [[], ["  "], "assert f(1) == 2"])
def test_a_code_task_without_a_test_is_malformed(tests):
    from cosr.config import CuratorConfig

    strategy = make_strategy("llm", CuratorConfig(strategy="llm", llm={"base_url": "http://127.0.0.1:9/v1", "model": "m"}))
    example = SkillGraph.builtin().make_task("code_synthesis", 1, 0)
    item = {"prompt": "Write f with f(1) == 2.", "answer": "def f(x):\n    return x + 1\n", "tests": tests}
    with pytest.raises(ValueError, match="at least one test"):
        strategy.build(item, example, Pick("code_synthesis", 1, "weakest"), 0, 0)
