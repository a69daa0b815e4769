"""The teacher of teachers: the bandit moves budget to the arm whose examples gained most and keeps every
arm alive, its shares are a pure function of the round history, `attribute` credits an arm with the gain
at its own pairs, and arms are checked when it is built."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from cosr.agents.curator import step_back
from cosr.agents.curriculum import Pick, make_strategy
from cosr.agents.curriculum.teachers import attribute, split
from cosr.config import CuratorConfig
from cosr.domain import Mastery
from cosr.graphs.skills import SkillGraph

ARMS = ["random", "zpd", "progress", "learnability"]  # not the default: fixed here so the counts below hold


def teachers(arms=ARMS):
    return make_strategy("teachers", CuratorConfig(strategy="teachers", teachers=arms))


def rounds(best: str, k: int, lead: float = 0.04) -> list[dict[str, dict]]:
    """k rounds in which `best`'s examples gained `lead` more than the others' (which gained 0.01)."""
    return [{a: {"gain": 0.01 + (lead if a == best else 0.0), "examples": 100} for a in ARMS} for _ in range(k)]


def arm_counts(strategy, n: int = 128) -> Counter[str]:
    picks = strategy.choose(SkillGraph.builtin(), {}, n, random.Random(3))
    assert len(picks) == n and all(p.reason.startswith(f"{p.arm}: ") for p in picks)
    return Counter(p.arm for p in picks)


def test_budget_moves_to_the_arm_whose_examples_gain_most_and_the_floor_keeps_the_rest():
    t = teachers()
    assert t.shares() == pytest.approx({a: 0.25 for a in ARMS})  # no round yet: uniform
    start = arm_counts(t)
    assert start == {a: 32 for a in ARMS}
    before = t.shares()["zpd"]
    for k in (1, 2, 3):
        t.feedback(rounds("zpd", k))
        share = t.shares()
        assert share["zpd"] > before and all(share["zpd"] > share[a] for a in ARMS if a != "zpd")
        before = share["zpd"]
    assert sum(share.values()) == pytest.approx(1.0)
    moved = arm_counts(t)
    assert moved["zpd"] > start["zpd"] and all(moved["zpd"] > moved[a] for a in ARMS if a != "zpd")
    # however badly an arm does, it keeps 1/(2 arms) of the batch and is tried again
    t.feedback([{**r, "random": {"gain": -0.5, "examples": 100}} for r in rounds("zpd", 6, lead=1.0)])
    assert min(t.shares().values()) >= 1 / (2 * len(ARMS)) - 1e-12
    assert all(arm_counts(t)[a] >= 16 for a in ARMS)


def test_a_round_without_examples_of_an_arm_does_not_move_it_and_later_rounds_weigh_more():
    t = teachers()
    t.feedback([{"zpd": {"gain": 0.05, "examples": 0}, "random": {"gain": 0.0, "examples": 10}}])
    assert t.shares()["zpd"] == pytest.approx(t.shares()["progress"])
    # zpd led early, learnability leads now: the recent lead wins
    t.feedback(rounds("zpd", 2) + rounds("learnability", 2))
    assert t.shares()["learnability"] > t.shares()["zpd"]


def test_shares_are_a_pure_function_of_the_history():
    history = rounds("progress", 2) + [{"random": {"gain": 0.03, "examples": 40}}]
    a, b = teachers(), teachers()
    a.feedback(rounds("zpd", 5))  # whatever came before is forgotten: feedback takes the whole history
    a.feedback(history)
    b.feedback(history)
    assert a.shares() == b.shares()
    assert arm_counts(a) == arm_counts(b)


def test_split_is_largest_remainder_and_gives_every_arm_one_pick_when_it_can():
    assert split(10, {"a": 0.5, "b": 0.3, "c": 0.2}) == {"a": 5, "b": 3, "c": 2}
    assert split(3, {"a": 0.45, "b": 0.35, "c": 0.2}) == {"a": 1, "b": 1, "c": 1}
    assert split(4, {"a": 0.9, "b": 0.05, "c": 0.05}) == {"a": 2, "b": 1, "c": 1}
    assert sum(split(2, {"a": 0.4, "b": 0.3, "c": 0.3}).values()) == 2


def test_attribute_credits_each_arm_with_the_gain_at_its_own_pairs():
    before = {"addition@L2": (10, 40), "gcd@L3": (20, 40), "lcm@L1": (30, 40)}
    after = {"addition@L2": (18, 40), "gcd@L3": (18, 40), "lcm@L1": (30, 40)}
    got = attribute({"zpd": Counter({"addition@L2": 30}),
                     "random": Counter({"gcd@L3": 10, "unmeasured@L9": 5}),
                     "progress": Counter({"addition@L2": 1, "lcm@L1": 3})},
                    before, after)
    assert got["zpd"] == {"gain": pytest.approx(0.2), "examples": 30, "measured": 30}
    assert got["random"] == {"gain": pytest.approx(-0.05), "examples": 15, "measured": 10}
    assert got["progress"]["gain"] == pytest.approx((0.2 + 3 * 0.0) / 4)
    assert attribute({"x": Counter({"nowhere@L1": 2})}, before, after)["x"] == {"gain": 0.0, "examples": 2, "measured": 0}


def test_a_round_with_nothing_measured_does_not_move_the_arm():
    t = teachers()
    t.feedback([{"zpd": {"gain": 0.0, "examples": 5, "measured": 0}, "random": {"gain": 0.0, "examples": 5}}])
    assert t.shares() == pytest.approx({a: 0.25 for a in ARMS})


@pytest.mark.parametrize(("arms", "message"), [
    (["zpd", "nonesuch"], "nonesuch"),
    (["zpd", "nonesuch+help"], "nonesuch"),
    (["teachers"], "its own arm"),
    (["zpd", "zpd"], "repeat"),
    ([], "at least one arm"),
    (["zpd+"], "empty option"),
    (["llm"], "writes its own tasks"),
])
def test_arms_are_checked_when_built(arms, message):
    with pytest.raises(ValueError, match=message):
        teachers(arms)


def test_an_arm_with_an_option_runs_its_strategy_and_names_itself():
    counts = arm_counts(teachers(["zpd", "zpd+help"]), n=10)
    assert counts == {"zpd": 5, "zpd+help": 5}


def test_a_pick_that_steps_back_keeps_its_arm():
    stuck = {"multiplication": Mastery(skill="multiplication", ability=0.0, recent=(False,) * 12)}
    moved = step_back(Pick("multiplication", 3, "zpd: x", "zpd"), SkillGraph.builtin(), stuck, 12)
    assert moved.level == 2 and moved.arm == "zpd"


def test_the_default_arms_are_registered_strategies():
    t = make_strategy("teachers", CuratorConfig(strategy="teachers"))
    assert set(arm_counts(t, n=len(t.arms))) == set(t.arms)


def test_the_curator_shares_each_batch_by_the_gains_the_rounds_recorded(tmp_path):
    """The loop's side: the trainer stores each round's attributed gains with the round; the Curator hands
    the history to the bandit before it picks, so the arm whose examples gained more gets more tasks, and a
    resumed run (a fresh strategy object, the same store) picks the same."""
    from cosr.agents.curator import choose_tasks
    from cosr.config import RunConfig
    from cosr.graphs.context import Context
    from cosr.store import TrajectoryStore

    cfg = RunConfig(curator=CuratorConfig(strategy="teachers", teachers=ARMS, batch_size=64))
    store = TrajectoryStore(tmp_path / "s.sqlite")

    def ctx() -> Context:
        return Context(config=cfg, run_id="r", run_dir=tmp_path, skills=SkillGraph.builtin(), store=store,
                       student=None, strategy=make_strategy("teachers", cfg.curator))

    def arms(c: Context) -> Counter[str]:
        return Counter(t.provenance.strategy for t in choose_tasks({"step": 5}, c)["batch"])

    before = arms(ctx())
    for rnd, gains in enumerate(rounds("learnability", 3), 1):
        store.record_round("r", rnd, {"round": rnd, "teachers": gains})
    after = arms(ctx())
    assert after["learnability"] > before["learnability"] and after["learnability"] == max(after.values())
    assert arms(ctx()) == after  # recomputed from the store: a resumed run shares the batch alike
