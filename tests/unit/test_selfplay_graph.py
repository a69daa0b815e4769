"""The state machine end to end on a tiny real student: every node runs, the store fills, rounds train."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from cosr.graphs.session import SelfPlayRun, placed
from cosr.training import evaluation
from cosr.training.results import EvaluationEvent, NodeEvent, NodeStarted


def test_a_short_run_trains_two_rounds_and_records_everything(tiny_run_config):
    with SelfPlayRun(tiny_run_config) as run:
        events = list(run.events())
        nodes = [e.node for e in events if isinstance(e, NodeEvent)]
        assert [e.node for e in events if isinstance(e, NodeStarted)] == nodes  # each node said so when it started
        summary = run.summary()
        store = run.store
        trajectories = store.trajectories(run.run_id)
        assert summary.rounds_completed == 2
        # Baseline evaluation first, then the agents in order.
        assert nodes[:8] == ["evaluate", "diagnostician", "curator", "student", "answer_adapter", "verifier", "teacher",
                             "record"]
        assert nodes.count("train") == 2 and nodes.count("evaluate") == 3
        k = tiny_run_config.student.samples_per_task
        assert len(trajectories) == summary.attempts == len({t.id for t in trajectories})
        own = [t for t in trajectories if t.attempt.help is None]  # the rest: answers written with the Teacher's help
        assert summary.tasks == len({t.task.id for t in trajectories}) and len(own) == k * summary.tasks
        # Every step recorded its whole batch; provenance names the strategy.
        assert {t.task.provenance.strategy for t in trajectories} == {"zpd"}
        assert all(t.attempt.student_id.startswith("hf:") for t in trajectories)
        evals = store.evaluations(run.run_id)
        assert sorted(evals) == [0, 1, 2]
        assert all(n == 4 for per in evals.values() for _, n in per.values())
        rounds = store.rounds(run.run_id)
        for r in (1, 2):
            info = rounds[r]
            if "skipped" not in info:
                assert (run.run_dir / "adapters" / f"round-{r:03d}" / "adapter_config.json").exists()
                assert info["examples"] >= info["verified"] > 0
    written = json.loads((tiny_run_config.run_dir / "summary.json").read_text())
    assert written["run_id"] == run.run_id
    assert set(written["heldout_accuracy"]) == {"0", "1", "2"}
    assert set(written["heldout_accuracy"]["0"]) == {"addition", "subtraction", "chain_sum"}
    # the band reading: exactly the levels whose baseline was 10-80%, whatever the run practised
    in_band = sorted(p for p, (c, n) in written["heldout_levels"]["0"].items() if 0.1 <= c / n <= 0.8)
    assert sorted(written["frontier_band"].get("pairs", [])) == in_band
    # ... split by the size of each level's task space, every band level in exactly one part
    parts = {k: written[f"frontier_band_{k}"].get("pairs", []) for k in ("open", "small")}
    assert sorted(parts["open"] + parts["small"]) == in_band
    space = {p: run.ctx.skills.distinct_tasks(p.split("@L")[0], int(p.split("@L")[1])) for p in in_band}
    assert all(space[p] >= 200 for p in parts["open"]) and all(space[p] < 200 for p in parts["small"])


def test_held_out_tasks_never_reach_the_student_in_training(tiny_run_config):
    with SelfPlayRun(tiny_run_config) as run:
        list(run.events())
        heldout = {run.ctx.skills.identity(t) for t in run.ctx.heldout}
        trained = {run.ctx.skills.identity(t.task) for t in run.store.trajectories(run.run_id)}
        assert heldout and trained and not heldout & trained


def test_a_finished_run_goes_on_when_asked_for_more_rounds(tiny_run_config):
    """`cosr selfplay --resume RUN --rounds N`: the finished run trains its next rounds on the same
    store and adapters; what it had stays as it was."""
    cfg = tiny_run_config.model_copy(update={"rounds": 1})
    with SelfPlayRun(cfg) as run:
        list(run.events())
        before = {t.id for t in run.store.trajectories(run.run_id)}
        assert run.summary().rounds_completed == 1
    with SelfPlayRun(cfg, resume=str(cfg.run_dir)) as again:  # no more rounds asked: nothing runs
        assert [e.event for e in again.events()] == ["done"]
        assert {t.id for t in again.store.trajectories(again.run_id)} == before
    with SelfPlayRun(cfg, resume=str(cfg.run_dir), rounds=2):  # stopped before it got under way
        pass
    assert json.loads((cfg.run_dir / "config.json").read_text())["rounds"] == 1  # still the finished run
    with SelfPlayRun(cfg, resume=str(cfg.run_dir), rounds=2) as more:
        list(more.events())
        assert json.loads((cfg.run_dir / "config.json").read_text())["rounds"] == 2
        after = more.store.trajectories(more.run_id)
        assert more.summary().rounds_completed == 2
        assert sorted(more.store.evaluations(more.run_id)) == [0, 1, 2]
        assert before < {t.id for t in after}
        assert {t.round for t in after if t.id not in before} == {2}
        steps = more.graph.get_state(more.thread).values["step"]
    with pytest.raises(ValueError, match="has finished 2 rounds; --rounds 1 would take them back"):
        SelfPlayRun(cfg, resume=str(cfg.run_dir), rounds=1)  # fewer rounds than it has: refused, nothing touched
    assert json.loads((cfg.run_dir / "config.json").read_text())["rounds"] == 2
    # A run whose loop guard (max_steps) was just enough for its two rounds, taken on to four: the guard
    # grows with the rounds asked for, so all four are run
    stored = json.loads((cfg.run_dir / "config.json").read_text())
    (cfg.run_dir / "config.json").write_text(json.dumps({**stored, "max_steps": steps}))
    with SelfPlayRun(cfg, resume=str(cfg.run_dir), rounds=4) as longer:
        list(longer.events())
        assert longer.summary().rounds_completed == 4


def test_between_rounds_only_the_band_levels_are_evaluated_and_the_last_round_all(tiny_run_config):
    cfg = tiny_run_config.model_copy(deep=True)
    # the tiny student solves a few distinct held-out problems (none of some levels): the band is the levels
    # it solved none of, a strict part of them
    cfg.eval.between_rounds, cfg.eval.per_skill = (0.0, 0.0), 40
    with SelfPlayRun(cfg) as run:
        events = [ev for ev in run.events() if isinstance(ev, EvaluationEvent)]
        levels, skills = run.store.evaluation_levels(run.run_id), run.store.evaluations(run.run_id)
        summary = run.summary()
    band = evaluation.band_pairs(levels[0], (0.0, 0.0))
    assert band and len(band) < len(levels[0])
    assert sorted(levels[1]) == band and sorted(levels[2]) == sorted(levels[0])
    assert [ev.partial for ev in events] == [False, True, False]
    assert events[1].accuracy == {} and events[2].accuracy  # no per-skill figure from part of the levels
    # A skill's accuracy over some of its levels is not its accuracy: per skill only where every task was answered
    assert sorted(skills) == [0, 2] and sorted(summary.heldout_accuracy) == ["0", "2"]
    assert sorted(summary.heldout_levels) == ["0", "1", "2"]
    # A frontier's curve has the rounds that answered all its pairs
    assert sorted(evaluation.report(levels, band).accuracy) == ["0", "1", "2"]
    assert sorted(evaluation.report(levels, sorted(levels[0])).accuracy) == ["0", "2"]
    assert events[1].pooled == round(sum(levels[1][p][0] for p in band) / sum(levels[1][p][1] for p in band), 4)


def test_a_resume_may_move_the_run_to_other_workers_and_nothing_else(tiny_run_config):
    """`cosr selfplay --resume RUN --workers N --ray ADDRESS`: where the run goes on may change (a cluster that
    came back smaller); what it computes may not, and a flag not given keeps the stored setting."""
    stored = tiny_run_config.model_copy(update={"workers": 3, "ray_address": "10.0.0.1:6379"})
    moved = placed(stored, {"workers": 2, "ray_address": None})
    assert (moved.workers, moved.ray_address) == (2, "10.0.0.1:6379")
    assert moved.model_dump(exclude={"workers"}) == stored.model_dump(exclude={"workers"})
    assert placed(stored, None) == stored
    with pytest.raises(ValueError, match="only .*may change, not \\['seed'\\]"):
        placed(stored, {"seed": 9, "workers": 2})
    with pytest.raises(ValueError):
        placed(stored, {"workers": 0})  # validated as a fresh run's would be


def test_a_run_stored_before_a_default_changed_reads_as_it_ran(tiny_run_config):
    """A config.json written before worked examples existed ran without them: read back (a resume, a compare
    reusing it), it keeps none rather than taking today's default; a run that names them keeps its own."""
    from cosr.config import RunConfig

    stored = json.loads(tiny_run_config.model_dump_json())
    assert tiny_run_config.curator.help.worked_examples > 0  # today's default
    del stored["curator"]["help"]["worked_examples"]
    assert RunConfig.stored(json.dumps(stored)).curator.help.worked_examples == 0
    stored["curator"]["help"]["worked_examples"] = 4
    assert RunConfig.stored(json.dumps(stored)).curator.help.worked_examples == 4
    with pytest.raises(ValidationError):
        RunConfig.stored("{not json")
