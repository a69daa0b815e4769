"""Every registered curriculum strategy meets one spec: n picks with real skills and levels,
deterministic for a seed, prerequisites respected (all but the blind `random` baseline), and every
task the Curator makes from them carries the strategy (a composite one's: the arm that chose it) as its
provenance."""

from __future__ import annotations

import json
import random

import pytest
from langgraph.runtime import Runtime

from cosr.agents.curator import curate
from cosr.agents.curriculum import STRATEGIES, is_mastered, make_strategy
from cosr.agents.curriculum.teachers import arm_strategy
from cosr.agents.evaluator import heldout_tasks
from cosr.config import CuratorConfig
from cosr.domain import Mastery
from cosr.graphs.context import Context
from cosr.graphs.skills import SkillGraph
from cosr.store import TrajectoryStore
from tests.support.openai_server import ScriptedOpenAIServer

# The baseline ignores the student by design; progress ignores the skill graph by design (its progress
# signal is the guide; agents/curriculum/progress.py), and so does threshold (reasoning-gym's rule: its
# datasets have no prerequisites; agents/curriculum/threshold.py). Every other strategy gates on prerequisites.
BLIND = {"random", "progress", "threshold"}


def scripted(model: str, prompt: str) -> str:
    """A curator LLM that writes correct addition-style problems with a checkable solution: training problems
    (a held-out one, in any spelling, would be rejected; these four are train in every skill of the graph)."""
    k = int(prompt.split("Write ")[1].split()[0])
    return json.dumps({"tasks": [{"prompt": f"What is {100 + 7 * i} + {200 + i}?", "answer": str(300 + 8 * i),
                                  "solution": f"{100 + 7 * i} + {200 + i}"} for i in (1, 2, 6, 7)[:k]]})


@pytest.fixture(scope="module")
def server():
    with ScriptedOpenAIServer(scripted) as s:
        yield s


def curator_config(name: str, server) -> CuratorConfig:
    cfg = CuratorConfig(strategy=name, batch_size=12)
    if name == "llm":
        cfg.llm = cfg.llm.model_copy(update={"base_url": server.base_url, "model": "curator", "tasks_per_batch": 4})
    return cfg


MASTERIES = {
    "fresh": {},
    "addition mastered": {"addition": Mastery(skill="addition", ability=3.0, recent=(True,) * 12)},
    "mixed": {"addition": Mastery(skill="addition", ability=4.0, recent=(True, False) * 6),
              "multiplication": Mastery(skill="multiplication", ability=2.5, recent=(False,) * 6 + (True,) * 6),
              "subtraction": Mastery(skill="subtraction", ability=-1.0, recent=(False,) * 12)},
}


@pytest.mark.parametrize("state", list(MASTERIES))
@pytest.mark.parametrize("name", STRATEGIES.names())
def test_picks_are_valid_deterministic_and_respect_prerequisites(name, state, server):
    skills, cfg, mastery = SkillGraph.builtin(), curator_config(name, server), MASTERIES[state]
    strategy = make_strategy(name, cfg)
    a = strategy.choose(skills, mastery, 40, random.Random(7))
    b = make_strategy(name, cfg).choose(skills, mastery, 40, random.Random(7))
    assert a == b and len(a) == 40
    for p in a:
        assert p.skill in skills and 1 <= p.level <= skills[p.skill].levels and p.reason
        if arm_strategy(p.arm or name) not in BLIND:  # a composite strategy's pick answers to its arm
            unmastered = [q for q in skills.prerequisites(p.skill) if not is_mastered(mastery.get(q), cfg)]
            assert not unmastered, f"{name} picked {p.skill} before {unmastered}"


@pytest.mark.parametrize("name", STRATEGIES.names())
def test_the_curator_records_the_strategy_as_provenance(name, server, tiny_run_config, tmp_path):
    cfg = tiny_run_config.model_copy(deep=True)
    cfg.curator = curator_config(name, server).model_copy(update={"batch_size": 8})
    skills = SkillGraph.from_file(cfg.skills)
    ctx = Context(config=cfg, run_id="r", run_dir=tmp_path, skills=skills, store=TrajectoryStore(tmp_path / "s.sqlite"),
                  student=None, strategy=make_strategy(name, cfg.curator), heldout=heldout_tasks(skills, cfg.eval))
    runtime = Runtime(context=ctx, stream_writer=lambda e: None)
    first, again = curate({"step": 2, "mastery": {}}, runtime), curate({"step": 2, "mastery": {}}, runtime)
    assert [t.prompt for t in first["batch"]] == [t.prompt for t in again["batch"]]  # a replayed step repeats
    assert len(first["batch"]) == 8 and first["curator_note"].startswith(f"{name}:")
    arms = getattr(ctx.strategy, "arms", None)  # a composite strategy records the arm that chose each task
    if arms:
        assert {t.provenance.strategy for t in first["batch"]} <= set(arms)
    else:
        assert {t.provenance.strategy for t in first["batch"]} == {name}
    assert all(t.split == "train" and t.provenance.reason for t in first["batch"])
    if name == "llm":
        assert sum(t.provenance.teacher == "openai:curator" for t in first["batch"]) == 4
