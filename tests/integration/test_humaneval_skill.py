"""A HumanEval-format file as a code skill's task source, verified in the real sandbox."""

from __future__ import annotations

from pathlib import Path

import pytest

from cosr.agents.verifiers import verify_batch
from cosr.graphs.skills import SkillGraph, SkillGraphError

DATA = Path(__file__).parents[1] / "data"


@pytest.mark.docker
def test_tasks_from_a_humaneval_file_verify_in_the_sandbox(sandbox_executor):
    graph = SkillGraph.from_dict({"skills": [{
        "name": "mini_functions", "domain": "code", "generator": "humaneval", "levels": 1,
        "params": {"path": str(DATA / "humaneval_mini.jsonl")}}]})
    tasks = [graph.make_task("mini_functions", 1, seed) for seed in range(12)]
    assert len({t.metadata["task_id"] for t in tasks}) >= 3
    right = verify_batch(tasks, [t.reference for t in tasks], sandbox_executor)
    assert all(v.correct for v in right), [v.details for v in right if not v.correct]
    wrong = verify_batch(tasks, ["    return None\n"] * len(tasks), sandbox_executor)
    assert not any(v.correct for v in wrong)


def test_a_missing_task_file_is_a_clear_error(tmp_path):
    graph = SkillGraph.from_dict({"skills": [{
        "name": "mine", "domain": "code", "generator": "humaneval", "levels": 1,
        "params": {"path": str(tmp_path / "nope.jsonl")}}]})
    with pytest.raises(ValueError, match="nope.jsonl"):
        graph.make_task("mine", 1, 0)
    with pytest.raises(SkillGraphError, match="levels"):
        SkillGraph.from_dict({"skills": [{"name": "mine", "domain": "code", "generator": "humaneval", "levels": 3}]})
