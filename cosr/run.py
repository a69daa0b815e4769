"""Setting up and running a self-play run: the run directory, the collaborators in the Context, the
graph invocation (fresh or resumed) and summary.json. The CLI is a thin layer over this."""

from __future__ import annotations

import fcntl
import json
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

from cosr import frontier
from cosr.audit import summary_audit
from cosr.config import RunConfig, StudentConfig
from cosr.pretraining import embedded_examples
from cosr.domain import Domain
from cosr.store import TrajectoryStore

Event = dict[str, Any]


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2)


@contextmanager
def _lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)  # two processes never build the same student at once
        yield


def ensure_embedded_student(log: Callable[[str], None] = print, force: bool = False) -> Path:
    """The embedded student's folder: one built here (`cosr student build`), else the shipped copy,
    else built now (about 14 minutes on two CPU cores)."""
    from cosr.graphs.skills import SkillGraph
    from cosr.training.embedded import EmbeddedSpec, build_embedded_student, default_path, shipped_path

    path = default_path()
    with _lock(path.with_suffix(".lock")):
        if (path / "config.json").exists() and not force:
            return path
        if (shipped := shipped_path()) is not None and not force:
            return shipped
        log(f"building the embedded student in {path} (about 14 minutes on two CPU cores)")
        skills, spec = SkillGraph.builtin(), EmbeddedSpec()
        examples = embedded_examples(skills, StudentConfig(), spec.examples, spec.seed)  # training problems only
        return build_embedded_student(examples, path, spec, log=log)


def load_skills(cfg: RunConfig):
    """The run's skill graph: its file, or the built-in catalog."""
    from cosr.graphs.skills import SkillGraph

    return SkillGraph.from_file(cfg.skills) if cfg.skills else SkillGraph.builtin()


def executor_for(skills, cfg: RunConfig):
    """A sandbox executor when the graph has code skills; None otherwise (math needs no engine)."""
    if not any(s.domain == Domain.CODE for s in skills.skills()):
        return None
    from cosr.sandbox import make_executor

    return make_executor(cfg.sandbox)


def _student_folder(cfg: RunConfig, log: Callable[[str], None]) -> Path:
    if cfg.student.backend != "hf":
        raise ValueError("evaluation and merging here need a local Hugging Face student (student.backend = 'hf')")
    return Path(cfg.student.model) if cfg.student.model else ensure_embedded_student(log)


def evaluate_heldout(cfg: RunConfig, *, adapter: Path | None = None, k: int = 1, temperature: float | None = None,
                     log: Callable[[str], None] = print) -> dict[str, tuple[int, int]]:
    """Held-out (solved, total) per skill for the configured student, optionally with an adapter on top."""
    from cosr.agents.evaluator import evaluate_student, heldout_tasks, per_level, per_skill
    from cosr.training.backends import make_student

    skills = load_skills(cfg)
    student = make_student(cfg.student.model_copy(update={"model": str(_student_folder(cfg, log))}))
    if adapter is not None:
        student.load_adapter(adapter, adapter.name)
    executor = executor_for(skills, cfg)
    try:
        tasks = heldout_tasks(skills, cfg.eval)
        return per_skill(per_level(tasks, evaluate_student(student, tasks, cfg.student, executor, k=k,
                                                           temperature=temperature)))
    finally:
        if executor is not None:
            executor.close()


def merged_student(run_dir: Path, out: Path) -> Path:
    """The run's student with its last adapter merged into the weights, as a plain HF folder: the student
    that round delivered, its interpolated adapter when it has one (training.interpolation)."""
    from cosr.training.export import delivered_adapter, merge_adapter

    cfg = RunConfig.model_validate_json((run_dir / "config.json").read_text())
    adapters = sorted((run_dir / "adapters").glob("round-*")) if (run_dir / "adapters").exists() else []
    if not adapters:
        raise FileNotFoundError(f"{run_dir} has no adapters/round-* to merge (no training round finished)")
    return merge_adapter(_student_folder(cfg, print), delivered_adapter(adapters[-1]), out)


def resolve_run_dir(cfg: RunConfig, resume: str | None) -> tuple[str, Path]:
    if resume:
        candidate = Path(resume)
        run_dir = candidate if (candidate / "config.json").exists() else (cfg.run_dir or cfg.runs_root / resume)
        if not (run_dir / "config.json").exists():
            raise FileNotFoundError(f"no run to resume at {run_dir} (expected {run_dir / 'config.json'})")
        return json.loads((run_dir / "config.json").read_text())["run_id"], run_dir
    run_id = cfg.run_id or new_run_id()
    return run_id, cfg.run_dir or cfg.runs_root / run_id


def attribute_gains(overall: dict[str, float], rounds: dict[int, dict[str, Any]]) -> dict[str, float]:
    """Each round's change in overall held-out accuracy, shared among the curriculum strategies in
    proportion to the training examples their tasks gave that round (PRSM-style teacher credit)."""
    credit: dict[str, float] = {}
    for rnd, info in rounds.items():
        by = info.get("examples_by_strategy") or {}
        if str(rnd) not in overall or str(rnd - 1) not in overall or not by:
            continue
        gain, total = overall[str(rnd)] - overall[str(rnd - 1)], sum(by.values())
        for strategy, n in by.items():
            credit[strategy] = round(credit.get(strategy, 0.0) + gain * n / total, 4)
    return credit


class SelfPlayRun:
    """One run: its directory, store, checkpoints and collaborators. Use as a context manager."""

    def __init__(self, cfg: RunConfig, resume: str | None = None, *, rounds: int | None = None,
                 log: Callable[[str], None] = print) -> None:
        from cosr.agents.curriculum import make_strategy
        from cosr.agents.evaluator import heldout_tasks
        from cosr.graphs.context import Context
        from cosr.graphs.selfplay import compile_graph
        from cosr.training.backends import make_student

        self.run_id, self.run_dir = resolve_run_dir(cfg, resume)
        self.resumed = resume is not None
        if self.resumed:  # the run's own configuration wins; only the number of rounds may change
            cfg = RunConfig.model_validate_json((self.run_dir / "config.json").read_text())
        asked_before = cfg.rounds
        if rounds is not None:
            # The loop guard grows by the most steps each added round can take: a run taken on from 3
            # rounds to 12 would otherwise stop where the 3-round guard ends, short of its rounds.
            extra = max(0, rounds - cfg.rounds) * cfg.steps_per_round()
            cfg = cfg.model_copy(update={"rounds": rounds, "max_steps": cfg.max_steps + extra})
        self.rounds_before = asked_before if self.resumed else cfg.rounds  # what the run was asked for until now
        self.cfg = cfg.model_copy(update={"run_id": self.run_id, "run_dir": self.run_dir})
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.graph = compile_graph(self.run_dir / "checkpoints.sqlite")
        self.thread = {"configurable": {"thread_id": self.run_id}, "recursion_limit": cfg.max_steps * 10 + 100}
        done = self.graph.get_state(self.thread).values.get("rounds_done", 0) if self.resumed else 0
        if cfg.rounds < done:
            raise ValueError(f"{self.run_dir} has finished {done} rounds; --rounds {cfg.rounds} would take them "
                             f"back (ask for {done} or more)")
        # More rounds are written down once the run is under way (events): a run stopped before that
        # is still the finished run it was, and a later --rounds N takes it on.
        self.write_config(self.rounds_before)
        skills = load_skills(cfg)
        student_cfg, self.embedded = cfg.student, None
        if student_cfg.backend == "hf" and student_cfg.model is None:
            self.embedded = ensure_embedded_student(log)
            student_cfg = student_cfg.model_copy(update={"model": str(self.embedded)})
        executor = executor_for(skills, cfg)
        self.store = TrajectoryStore(self.run_dir / "store.sqlite")
        self.ctx = Context(
            config=self.cfg, run_id=self.run_id, run_dir=self.run_dir, skills=skills, store=self.store,
            student=make_student(student_cfg), strategy=make_strategy(cfg.curator.strategy, cfg.curator),
            executor=executor, heldout=heldout_tasks(skills, cfg.eval),
        )

    def write_config(self, rounds: int) -> None:
        (self.run_dir / "config.json").write_text(self.cfg.model_copy(update={"rounds": rounds}).model_dump_json(indent=2))

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def events(self) -> Iterator[Event]:
        """Run (or resume) the graph to its end, yielding progress events as they happen."""
        import torch

        torch.manual_seed(self.cfg.seed)
        state = self.graph.get_state(self.thread)
        if state.values.get("adapter"):  # a resumed run serves the adapter it had reached
            name = state.values["adapter"]
            self.ctx.student.load_adapter(self.ctx.adapters_dir / name, name)
        start = None if state.values else {"run_id": self.run_id, "step": 0, "round": 1}
        done = state.values.get("rounds_done", 0)
        if state.values and self.rounds_before <= done < self.cfg.rounds:
            # A finished run asked for more rounds: new input starts the graph again from START on the
            # saved state, and route_start sends it to the next round (its evaluations exist). Not
            # `state.next`: LangGraph leaves out of it a task whose writes are saved, so a Ctrl-C that
            # lands after a node ends and before the next checkpoint reads empty mid-round, and new
            # input would drop those writes (`stream(None)` applies them and goes on).
            start = {"run_id": self.run_id}
        t0, steps0, tasks0 = time.perf_counter(), state.values.get("step", 0), self.store.tasks(self.run_id)
        for mode, payload in self.graph.stream(start, self.thread, context=self.ctx, stream_mode=["custom", "updates"]):
            if self.rounds_before != self.cfg.rounds:
                self.rounds_before = self.cfg.rounds
                self.write_config(self.cfg.rounds)
            if mode == "custom":
                yield payload
            else:
                for node, update in payload.items():
                    yield {"event": "node", "node": node, "update": update or {}}
        final = self.graph.get_state(self.thread).values
        self.write_summary(final, time.perf_counter() - t0, final.get("step", 0) - steps0,
                           self.store.tasks(self.run_id) - tasks0)
        yield {"event": "done", "summary": self.summary()}

    def summary(self) -> dict[str, Any]:
        return json.loads((self.run_dir / "summary.json").read_text())

    def frontiers(self, levels: dict[int, dict[tuple[str, int], tuple[int, int]]]) -> dict[str, dict[str, Any]]:
        """Held-out accuracy on the (skill, level) pairs this run practised ("frontier"), and on the pairs
        whose baseline lies in frontier.BAND, whatever the run practised ("frontier_band"), the latter
        also split into open and small levels (frontier.by_space)."""
        if 0 not in levels:
            return {"frontier": {}, "frontier_band": {}, "frontier_band_open": {}, "frontier_band_small": {}}
        outcomes = self.store.evaluation_tasks(self.run_id)
        practised = frontier.practised_pairs(self.store.practice(self.run_id), levels[0])
        band = frontier.band_pairs(levels[0])
        open_, small = frontier.by_space(band, self.ctx.skills.distinct_tasks)
        return {"frontier": frontier.report(levels, practised, outcomes=outcomes),
                "frontier_band": frontier.report(levels, band, outcomes=outcomes),
                "frontier_band_open": frontier.report(levels, open_, outcomes=outcomes),
                "frontier_band_small": frontier.report(levels, small, outcomes=outcomes)}

    def write_summary(self, final: dict[str, Any], seconds: float, steps: int, tasks_done: int) -> None:
        evals = self.store.evaluations(self.run_id)
        accuracy = {str(r): {s: round(c / n, 4) for s, (c, n) in per.items()} for r, per in evals.items()}
        overall = {str(r): round(sum(c for c, _ in per.values()) / sum(n for _, n in per.values()), 4)
                   for r, per in evals.items()}
        tasks = self.store.tasks(self.run_id)
        levels = self.store.evaluation_levels(self.run_id)
        rounds = self.store.rounds(self.run_id)
        last = str(max(evals)) if evals else None
        summary = {
            "run_id": self.run_id,
            "run_dir": str(self.run_dir),
            "rounds_completed": final.get("rounds_done", 0),
            "rounds_requested": self.cfg.rounds,
            "steps": final.get("step", 0),
            "tasks": tasks,
            "tasks_solved": self.store.tasks(self.run_id, solved=True),  # with at least one verified sample
            "attempts": self.store.count(self.run_id),  # samples_per_task per task
            "verified_trajectories": self.store.count(self.run_id, correct=True),
            "heldout_accuracy": accuracy,
            "heldout_overall": overall,
            # (solved, total) per "skill@Llevel": cosr compare reads its frontier from these
            "heldout_levels": {str(r): {frontier.label(p): [c, n] for p, (c, n) in sorted(per.items())}
                               for r, per in levels.items()},
            **self.frontiers(levels),
            "learning_gain": ({s: round(accuracy[last][s] - accuracy["0"][s], 4) for s in accuracy["0"]}
                              if last and "0" in accuracy else {}),
            "rounds": rounds,
            "attribution": attribute_gains(overall, rounds),
            "adapter": final.get("adapter"),
            "student": self.ctx.student.id,
            "strategy": self.ctx.strategy.name,
            "last_session": {"seconds": round(seconds, 1), "graph_steps": steps, "tasks": tasks_done,
                             "tasks_per_second": round(tasks_done / seconds, 2) if seconds else None},
            # no held-out problem among what the run trained on (cosr audit RUN_DIR checks every level, more tasks)
            "audit": summary_audit(self.run_dir, self.cfg, self.embedded),
            "split": self.cfg.eval.split,
            "files": {"store": "store.sqlite", "checkpoints": "checkpoints.sqlite", "adapters": "adapters/",
                      "config": "config.json"},
        }
        if accuracy:
            from cosr.training.plots import learning_curve

            learning_curve(accuracy, self.run_dir / "learning_curve.png", f"held-out accuracy, run {self.run_id}")
            summary["files"]["learning_curve"] = "learning_curve.png"
        (self.run_dir / "summary.json").write_text(json.dumps(summary, indent=2))

    def close(self) -> None:
        if self.ctx.executor is not None:
            self.ctx.executor.close()
        self.ctx.student.close()
        self.store.close()
