"""The leaderboard of teaching strategies: several self-play runs side by side from the same starting
student, seeds, held-out set and task budget, reduced to learning curves, learning gain and the
number of tasks each strategy needed to reach a milestone.

Held-out accuracy can only change when the student's weights change, i.e. after a LoRA round, so a
curve has one point per round; finer milestones come from smaller rounds (`tasks_per_round`). Every
round of every run is exactly `tasks_per_round` tasks (the round closes on tasks, not on verified
count), so the x axis, "tasks verified", is the same budget for every strategy.

The *frontier* is the set of (skill, level) pairs whose baseline (round 0) held-out accuracy lies in
`frontier = (low, high)`: partly learned, room to grow. A skill's mean over its levels hides where a
run taught (one level rises while the others stay), so the frontier is read per level, pooled over
the pairs' held-out tasks (cosr/frontier.py). The baseline is the same for every run (one student,
one held-out set, greedy evaluation), so every strategy is judged on the same pairs.
`tasks_to_milestone` is the number of tasks verified before the pooled frontier accuracy first
reached the milestone (None if it never did): an absolute accuracy, or a gain over the baseline
(`milestone_gain=True`; the embedded student starts its frontier at 10-60%, where 80% is out of
reach of a CPU-sized budget and every strategy would read "never").

Runs are measured on one held-out split (`split`, eval.split): settings and the milestone are chosen on
`validation` runs (`milestone_from`), results reported on `test` runs. Gains carry a standard error over
the distinct held-out tasks and the seeds (cosr/stats.py), and every strategy is set against the first
one listed, the baseline, seed for seed on the same tasks (`paired`).
"""

from __future__ import annotations

import math
import os
import signal
import statistics
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from cosr import frontier, stats
from cosr.config import RunConfig
from cosr.frontier import BAND
from cosr.training.device import CPU_THREADS

# The compare's own defaults, under its --config file and flags (load_config's `defaults`). Its runs are
# three rounds of 2000 tasks; at selfplay's 2e-4 such a run moved the frontier by about the noise of the
# student's own samples, and at 1e-3 the curricula drew further apart (docs/history.md, "Comparing
# curricula"). `cosr selfplay`, six rounds, keeps 2e-4: there a fast rate lost held-out facts
# (TrainingConfig.learning_rate).
DEFAULTS = {"training.learning_rate": 1e-3}


@dataclass(frozen=True)
class CompareSpec:
    strategies: list[str]
    seeds: list[int]
    out_dir: Path
    rounds: int = 3
    tasks_per_round: int = 2000
    # A gain over the baseline frontier accuracy: what the baseline strategy reaches with the whole budget,
    # rounded down to half a point, so "tasks to milestone" reads how much sooner a curriculum gets where the
    # baseline ends. This default was chosen on the held-out set of before the validation/test splits
    # (docs/history.md); `milestone_from` applies the same rule to a validation compare, which is how a
    # test result's milestone is to be chosen.
    milestone: float = 0.015
    milestone_gain: bool = True  # milestone is a gain over the baseline frontier accuracy, not an accuracy
    frontier: tuple[float, float] = BAND
    split: Literal["validation", "test"] = "test"  # the held-out split every run is measured on (eval.split)


def run_config(base: RunConfig, spec: CompareSpec, strategy: str, seed: int) -> RunConfig:
    cfg = base.model_copy(deep=True)
    run_id = f"{strategy}-s{seed}"
    cfg.run_id, cfg.run_dir, cfg.seed, cfg.rounds = run_id, spec.out_dir / run_id, seed, spec.rounds
    cfg.curator.strategy = strategy
    cfg.eval.split = spec.split
    # Between rounds only the frontier levels, what the milestone is read on; every task at round 0 and the last.
    cfg.eval.between_rounds = spec.frontier
    # A round closes after exactly tasks_per_round tasks whatever the strategy (verified <= tasks).
    cfg.training.max_tasks_per_round = spec.tasks_per_round
    cfg.training.every_verified = spec.tasks_per_round + 1
    cfg.max_steps = max(cfg.max_steps, spec.rounds * cfg.steps_per_round() + 2)
    return RunConfig.model_validate(cfg.model_dump())


ERROR_FILE = "error.txt"  # a failed run's traceback, in its folder


class RunFailed(RuntimeError):
    """A run of the compare raised: its finished rounds stay in its store, and a rerun with the same --out
    resumes it. The full traceback is in the run's folder (`error.txt`)."""

    def __init__(self, run_id: str, error_file: Path, reason: str) -> None:
        self.run_id, self.path = run_id, error_file
        super().__init__(f"run {run_id} failed: {reason} (traceback in {error_file}); its finished rounds are kept, "
                         "and the same command resumes it")

    @classmethod
    def recorded(cls, cfg: RunConfig, reason: str, trace: str) -> RunFailed:
        """Write the traceback into the run's folder, then the error that names it."""
        path = cfg.run_dir / ERROR_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(trace)
        return cls(cfg.run_id, path, reason)


def _reason(e: BaseException) -> str:
    return f"{type(e).__name__}: {e}"


# What tells the runs of one compare apart, and how long they run (a compare may be taken on to more rounds);
# everything else must match for a stored run to be reused, resumed or shared. Which levels a round in the
# middle evaluates changes nothing a run learns: runs of another --frontier (or of an older cosr, which
# evaluated all) are read where they evaluated every frontier pair (`row`).
NOT_COMPARED = {"run_id", "run_dir", "seed", "curator.strategy", "rounds", "max_steps", "eval.between_rounds"}


def config_differences(a: RunConfig, b: RunConfig) -> list[str]:
    """Dotted names of the settings two run configurations disagree on, leaving out what tells runs apart."""
    def flat(d: dict, pre: str = "") -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in d.items():
            out.update(flat(v, f"{pre}{k}.") if isinstance(v, dict) else {f"{pre}{k}": v})
        return out
    x, y = flat(a.model_dump(mode="json")), flat(b.model_dump(mode="json"))
    return sorted(k for k in x.keys() | y.keys() if k not in NOT_COMPARED and x.get(k) != y.get(k))


def _check_stored_runs(base: RunConfig, spec: CompareSpec) -> None:
    """A run already in --out is reused or resumed, and every run there shares its baseline: refuse, before
    anything starts, one made with other settings (another --config or --tasks-per-round)."""
    reference = run_config(base, spec, spec.strategies[0], spec.seeds[0])
    for path in sorted(spec.out_dir.glob("*-s*/config.json")):
        try:
            stored = RunConfig.model_validate_json(path.read_text())
        except ValidationError as e:
            raise ValueError(f"{path} is not a run configuration cosr can read ({e.errors()[0]['msg']}): "
                             "compare into a new --out, or remove that run") from None
        if stored.eval.split != reference.eval.split:  # named alone: runs of the two splits are never one result
            raise ValueError(f"{path.parent} was measured on the {stored.eval.split} split and this compare is on "
                             f"{reference.eval.split} (eval.split): compare into a new --out, or rerun with "
                             f"--split {stored.eval.split}")
        if diff := config_differences(reference, stored):
            raise ValueError(f"{path.parent} was run with other settings ({', '.join(diff[:6])}"
                             f"{', ...' if len(diff) > 6 else ''}): compare into a new --out, or rerun with its settings")


def run_all(base: RunConfig, spec: CompareSpec, on_event: Callable[[str, int, dict], None] = lambda *a: None,
            log: Callable[[str], None] = print, jobs: int | None = 1) -> list[dict[str, Any]]:
    """Run (or resume, or reuse when finished) every strategy x seed; return their summaries in
    seed-then-strategy order. With jobs > 1 the runs go to that many processes, each pinned to its own
    share of the CPU cores (a run is one small model: two one-core runs do more than one two-core run);
    jobs=None: as many as `worker_plan` finds best for the runs left, one per core and at most 4, or up
    to twice that sharing the cores."""
    from cosr.agents.curriculum import STRATEGIES

    for s in spec.strategies:
        STRATEGIES.get(s)  # an unknown name fails before any run starts
    _check_stored_runs(base, spec)
    todo = [(strategy, seed) for seed in spec.seeds for strategy in spec.strategies]
    done: dict[tuple[str, int], dict[str, Any]] = {}
    for key in todo:
        path = run_config(base, spec, *key).run_dir / "summary.json"
        if path.exists() and _finished(path, spec.rounds):
            done[key] = _load(path)
    pending = [k for k in todo if k not in done]
    if jobs is None:
        cores = min(4, len(os.sched_getaffinity(0)))
        jobs = worker_plan(len(pending), cores, most=2 * cores)
    if jobs <= 1 or len(pending) <= 1:
        import traceback

        for strategy, seed in pending:
            try:
                done[(strategy, seed)] = _run_one(base, spec, strategy, seed,
                                                  lambda ev, s=strategy, n=seed: on_event(s, n, ev), log)
            except Exception as e:  # noqa: BLE001 - one clear error naming the run; the traceback goes to its folder
                cfg = run_config(base, spec, strategy, seed)
                raise RunFailed.recorded(cfg, _reason(e), traceback.format_exc()) from None
    else:
        _prepare_shared(base, spec, pending)
        done.update(_run_parallel(base, spec, pending, jobs, on_event))
    return [done[k] for k in todo]


# Rehearsal tasks a prepare process answers at a time: ~5 s of one core on embedded-v4, so the two processes
# end within about that of each other.
PREPARE_CHUNK = 512


def _prepare_shared(base: RunConfig, spec: CompareSpec, pending: list[tuple[str, int]], chunk: int = PREPARE_CHUNK) -> None:
    """Before parallel runs start, make once what they all share (`_share_from_siblings`), into the first
    fresh run's store: the baseline evaluation and the rehearsal set; otherwise each run of the first batch
    makes both itself, three times over on two cores. Two processes, the cores split between them: one makes
    the baseline, and both answer the rehearsal tasks `chunk` at a time, each taking the next chunk
    when it is free, so they end together. Made whole side by side (the baseline in one, the set in the
    other) the baseline's process sat idle for most of the set's time: ~35 s against ~85 s of one core on
    embedded-v4. In processes of their own, so the compare's parent never loads the student. A failure here
    is left to the runs, which fail with their own clear error (a dead student server, say): the set is
    stored only whole."""
    import multiprocessing as mp
    from queue import Empty

    from cosr.store import TrajectoryStore

    fresh = [k for k in pending if not (run_config(base, spec, *k).run_dir / "config.json").exists()]
    if len(fresh) < 2 or _shared_source(spec) is not None:
        return
    rehearse = bool(base.training.rehearsal_ratio)
    makers = fresh[:2] if rehearse else fresh[:1]
    threads = max(1, len(os.sched_getaffinity(0)) // len(makers))
    ctx = mp.get_context("spawn")
    next_chunk, results = ctx.Value("i", 0), ctx.Queue()
    children = [ctx.Process(target=_prepare_run, args=(base.model_dump_json(), spec, key, k == 0, rehearse,
                                                        chunk, next_chunk, results, threads)) for k, key in enumerate(makers)]
    chunks: dict[int, list] = {}
    totals: list[int | None] = []
    with _sigterm_exits():
        for child in children:
            child.start()
        try:
            while len(totals) < len(children):
                try:
                    kind, *payload = results.get(timeout=5)
                except Empty:
                    if not any(child.is_alive() for child in children):
                        break  # one died without a word (killed): what it left undone, the runs make
                    continue
                if kind == "chunk":
                    chunks[payload[0]] = payload[1]
                else:
                    totals.append(payload[0])
        finally:
            for child in children:
                if child.is_alive() and len(totals) < len(children):  # the compare was stopped: so are these
                    child.terminate()
                child.join()
    whole = max((t for t in totals if t is not None), default=None)
    if rehearse and whole is not None and sorted(chunks) == list(range(whole)):
        cfg = run_config(base, spec, *makers[0])
        store = TrajectoryStore(cfg.run_dir / "store.sqlite")
        try:
            store.add_rehearsal(cfg.run_id, [r for i in range(whole) for r in chunks[i]])
        finally:
            store.close()


def _prepare_run(base_json: str, spec: CompareSpec, key: tuple[str, int], baseline: bool, rehearse: bool,
                 chunk: int, next_chunk, results, threads: int) -> None:
    """In run `key`'s context, on `threads` CPU threads: the baseline into its store if asked, then rehearsal
    chunks of `chunk` tasks (the next untaken index of `next_chunk`) to `results`; last, ("done", the number of chunks, or
    None if it failed)."""
    os.environ[CPU_THREADS] = str(threads)
    from cosr.agents.evaluator import record_baseline
    from cosr.agents.rehearsal import rehearsal_rows, rehearsal_tasks
    from cosr.run import SelfPlayRun

    cfg = run_config(RunConfig.model_validate_json(base_json), spec, *key)
    whole = None
    try:
        with SelfPlayRun(cfg, rounds=spec.rounds, log=lambda m: None) as run:
            if baseline:
                record_baseline(run.ctx)
            if rehearse:
                tasks = rehearsal_tasks(run.ctx)
                while (i := _take(next_chunk)) * chunk < len(tasks):
                    results.put(("chunk", i, rehearsal_rows(run.ctx, tasks[i * chunk:(i + 1) * chunk])))
                whole = -(-len(tasks) // chunk)
    except Exception:  # noqa: BLE001, S110 - the run meets the same cause and reports it (see _prepare_shared)
        pass
    results.put(("done", whole))


def _take(counter) -> int:
    with counter.get_lock():
        counter.value += 1
        return counter.value - 1


def _shared_source(spec: CompareSpec) -> Path | None:
    """A run folder of this compare whose store holds a baseline evaluation, if any."""
    return next((run_dir for run_dir, store in _siblings(spec) if store.evaluation_tasks(run_dir.name).get(0)), None)


def _siblings(spec: CompareSpec, but: str | None = None) -> Iterator[tuple[Path, Any]]:
    """(run folder, its open TrajectoryStore) for every run of this compare with known settings (a config.json)
    other than `but`; each store is closed when the next is asked for."""
    from cosr.store import TrajectoryStore

    for other in sorted(spec.out_dir.glob("*-s*/store.sqlite")):
        if other.parent.name == but or not (other.parent / "config.json").exists():  # settings unknown: not shared
            continue
        store = TrajectoryStore(other)
        try:
            yield other.parent, store
        finally:
            store.close()


def _run_one(base: RunConfig, spec: CompareSpec, strategy: str, seed: int, on_event: Callable[[dict], None],
             log: Callable[[str], None]) -> dict[str, Any]:
    from cosr.run import SelfPlayRun

    cfg = run_config(base, spec, strategy, seed)
    resume = str(cfg.run_dir) if (cfg.run_dir / "config.json").exists() else None
    _share_from_siblings(cfg, spec)
    with SelfPlayRun(cfg, resume=resume, rounds=spec.rounds, log=log) as run:
        for ev in run.events():
            on_event(ev)
        summary = run.summary()
    (cfg.run_dir / ERROR_FILE).unlink(missing_ok=True)  # an earlier failure's, now resumed past
    return summary


def _share_from_siblings(cfg: RunConfig, spec: CompareSpec) -> None:
    """Give a run's store what an earlier run of this compare already measured of the same base student and
    the run lacks: the baseline held-out outcomes and the rehearsal set (both the same for every run: one
    student, tasks from their own seeds, greedy answers): 3840 and ~9000 greedy answers not made again. A
    resumed run can lack one too: `_prepare_shared` makes the rehearsal set in a run that has no baseline."""
    from cosr.agents.evaluator import per_skill
    from cosr.store import TrajectoryStore

    run_id, own = cfg.run_id, cfg.run_dir / "store.sqlite"
    has_baseline = has_rehearsal = False
    if own.exists():
        store = TrajectoryStore(own)
        try:
            has_baseline, has_rehearsal = bool(store.evaluation_tasks(run_id).get(0)), store.rehearsal(run_id) is not None
        finally:
            store.close()
    if has_baseline and has_rehearsal:
        return
    baseline = rehearsal = None
    for other, store in _siblings(spec, but=run_id):
        baseline = baseline or (None if has_baseline else store.evaluation_tasks(other.name).get(0))
        rehearsal = rehearsal or (None if has_rehearsal else store.rehearsal(other.name))
    if not (baseline or rehearsal):
        return
    cfg.run_dir.mkdir(parents=True, exist_ok=True)
    store = TrajectoryStore(own)
    try:
        if baseline:
            levels = {k: (sum(tasks.values()), len(tasks)) for k, tasks in baseline.items()}
            store.record_evaluation(run_id, 0, per_skill(levels), None, per_level=levels,
                                    per_task=[(tid, s, lv, ok) for (s, lv), tasks in baseline.items() for tid, ok in tasks.items()])
        if rehearsal:
            store.add_rehearsal(run_id, rehearsal)
    finally:
        store.close()


def worker_plan(runs: int, cores: int, most: int) -> int:
    """How many runs go at once on `cores` cores: up to `most`, the count whose makespan is shortest for
    runs of equal length, the fewest on a tie. One a core until the runs do not divide: nine runs on two
    cores as two workers are five runs long (the ninth alone, one core idle), as three sharing the two
    cores 3 x 1.5 = 4.5."""
    def makespan(jobs: int) -> float:
        return -(-runs // jobs) * max(1.0, jobs / cores)
    return min(range(1, max(1, min(most, runs)) + 1), key=lambda j: (makespan(j), j))


def _worker(base_json: str, spec: CompareSpec, todo, cores: set[int] | None, queue) -> None:
    """Take runs from `todo` until its end marker (None), on this process's own cores, or one thread on the
    shared cores (None); evaluation events and results go to `queue`."""
    import traceback

    if cores is None:
        os.environ[CPU_THREADS] = "1"
    else:
        os.sched_setaffinity(0, cores)  # training.device sets torch's threads to the affinity
    base = RunConfig.model_validate_json(base_json)
    while (key := todo.get()) is not None:
        strategy, seed = key

        def forward(ev: dict, s: str = strategy, n: int = seed) -> None:
            if ev["event"] == "evaluation":
                queue.put(("event", s, n, ev))
        try:
            summary = _run_one(base, spec, strategy, seed, forward, log=lambda m: None)
        except BaseException as e:  # noqa: BLE001 - reported to the parent, which raises
            queue.put(("error", strategy, seed, (_reason(e), traceback.format_exc())))
            return
        queue.put(("done", strategy, seed, summary))


def _run_parallel(base: RunConfig, spec: CompareSpec, pending: list[tuple[str, int]], jobs: int,
                  on_event: Callable[[str, int, dict], None]) -> dict[tuple[str, int], dict[str, Any]]:
    import multiprocessing as mp

    cores = sorted(os.sched_getaffinity(0))
    jobs = min(jobs, len(pending))
    # More workers than cores: each one thread, all left to the scheduler to share the cores out.
    shares = [set(cores[k::jobs]) if jobs <= len(cores) else None for k in range(jobs)]
    ctx = mp.get_context("spawn")  # a fresh interpreter: no torch threads or sandbox sockets inherited
    queue, todo = ctx.Queue(), ctx.Queue()
    # Strategy by strategy, so the runs that start together have different seeds; every later run finds the
    # baseline and the rehearsal set made; taken by whichever worker is free, then one end marker each.
    for key in [*sorted(pending, key=lambda k: (spec.strategies.index(k[0]), k[1])), *[None] * jobs]:
        todo.put(key)
    procs = [ctx.Process(target=_worker, args=(base.model_dump_json(), spec, todo, share, queue)) for share in shares]
    for p in procs:
        p.start()
    results: dict[tuple[str, int], dict[str, Any]] = {}
    with _sigterm_exits():
        _collect(queue, procs, base, spec, pending, on_event, results)
    return results


@contextmanager
def _sigterm_exits() -> Iterator[None]:
    """A compare stopped with SIGTERM (kill, a job scheduler) takes its child processes with it: by default it
    would die at once, past the callers' `finally`, and leave them running with nobody reading."""
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm) if main else None
    try:
        yield
    finally:
        if main:
            signal.signal(signal.SIGTERM, previous)


def _collect(queue, procs, base: RunConfig, spec: CompareSpec, pending: list[tuple[str, int]],
             on_event: Callable[[str, int, dict], None], results: dict[tuple[str, int], dict[str, Any]]) -> None:
    """Read the workers' events and results until every pending run is done; stop them all on an error."""
    from queue import Empty

    try:
        while len(results) < len(pending):
            try:
                kind, strategy, seed, payload = queue.get(timeout=5)
            except Empty:  # is anyone still working?
                if not any(p.is_alive() for p in procs):
                    raise RuntimeError("compare workers exited before finishing their runs") from None
                continue
            if kind == "event":
                on_event(strategy, seed, payload)
            elif kind == "done":
                results[(strategy, seed)] = payload
            else:
                cfg = run_config(base, spec, strategy, seed)
                raise RunFailed.recorded(cfg, *payload)
    finally:
        for p in procs:
            if p.is_alive() and len(results) < len(pending):
                p.terminate()
            p.join()


def _exit_on_sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


def _load(path: Path) -> dict[str, Any]:
    import json

    return json.loads(path.read_text())


def _finished(path: Path, rounds: int) -> bool:
    return _load(path).get("rounds_completed", 0) >= rounds


def curve(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """One point per evaluation: tasks and tasks solved so far, held-out accuracy per skill (None after a
    round evaluated in part, `eval.between_rounds`), and (solved, total) per (skill, level) pair."""
    if "heldout_levels" not in summary:
        raise ValueError(f"{summary['run_dir']}: written by an older cosr (no per-level held-out accuracy); "
                         "compare into a new --out")
    points, tasks, correct = [], 0, 0
    for r in sorted(summary["heldout_levels"], key=int):
        info = summary["rounds"].get(r, {}) if r != "0" else {}
        tasks += info.get("tasks", 0)
        correct += info.get("verified", 0)
        points.append({"round": int(r), "tasks": tasks, "correct": correct, "accuracy": summary["heldout_accuracy"].get(r),
                       "levels": {frontier.parse_label(k): tuple(v) for k, v in summary["heldout_levels"][r].items()}})
    return points


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs) if xs else 0.0


def row(summary: dict[str, Any], spec: CompareSpec, distinct_tasks: Callable[[str, int], int] | None = None) -> dict[str, Any]:
    """One leaderboard row; with `distinct_tasks` (SkillGraph.distinct_tasks) also the frontier gain on its
    open and its small levels (frontier.by_space)."""
    points = curve(summary)
    pairs = frontier.band_pairs(points[0]["levels"], spec.frontier)
    # A round evaluated in part (eval.between_rounds) counts where it holds every frontier pair (another
    # --frontier re-reading the runs may ask for pairs it skipped) and nowhere else.
    points = [p for i, p in enumerate(points) if i in (0, len(points) - 1) or frontier.holds(p["levels"], pairs)]
    first, last = points[0]["accuracy"], points[-1]["accuracy"]
    front = [frontier.pooled(p["levels"], pairs)[0] for p in points]
    target = front[0] + spec.milestone if spec.milestone_gain else spec.milestone
    reached = next((p["tasks"] for p, f in zip(points, front, strict=True) if pairs and f >= target - 1e-9), None)
    split = {}
    if distinct_tasks is not None:
        for name, part in zip(("open", "small"), frontier.by_space(pairs, distinct_tasks), strict=True):
            acc = [frontier.pooled(p["levels"], part)[0] for p in points]
            split[f"frontier_{name}_pairs"] = len(part)
            split[f"frontier_{name}_gain"] = round(acc[-1] - acc[0], 4)
    return {
        "strategy": summary["strategy"],
        "seed": int(summary["run_id"].rsplit("-s", 1)[1]),
        "split": spec.split,
        "run_dir": summary["run_dir"],
        "rounds": summary["rounds_completed"],
        "verified_tasks": summary["tasks"],  # every task the verifier judged (each with samples_per_task samples)
        "verified_correct": summary["tasks_solved"],  # tasks with a sample verified correct
        "tasks_to_milestone": reached,
        "milestone": round(target, 4),
        "frontier_pairs": [frontier.label(p) for p in pairs],
        "frontier_heldout_tasks": frontier.pooled(points[0]["levels"], pairs)[2],
        "frontier_accuracy_before": round(front[0], 4),
        "frontier_accuracy": round(front[-1], 4),
        "frontier_gain": round(front[-1] - front[0], 4),
        **split,
        "heldout_accuracy_before": round(_mean(list(first.values())), 4),
        "heldout_accuracy": round(_mean(list(last.values())), 4),
        "learning_gain": round(_mean(list(last.values())) - _mean(list(first.values())), 4),
        "final_accuracy": last,
        "curve": [{"tasks": p["tasks"], "correct": p["correct"], "frontier": round(f, 4),
                   "overall": None if p["accuracy"] is None else round(_mean(list(p["accuracy"].values())), 4)}
                  for p, f in zip(points, front, strict=True)],
    }


def never_reached(spec: CompareSpec) -> int:
    """What a run that never reached the milestone counts as in the mean over seeds: the earliest it could
    still reach it, one round past the budget. A lower bound, so the mean understates (never overstates)
    the lead of a strategy that reaches the milestone where another does not."""
    return (spec.rounds + 1) * spec.tasks_per_round


RunKey = tuple[str, int]  # (strategy, seed)


def task_outcomes(summary: dict[str, Any]) -> frontier.Outcomes:
    """Each held-out task's outcome at every round, from the run's store: what the standard errors are over."""
    from cosr.store import TrajectoryStore

    store = TrajectoryStore(Path(summary["run_dir"]) / "store.sqlite")
    try:
        return store.evaluation_tasks(summary["run_id"])
    finally:
        store.close()


def _gain(runs: list[frontier.Outcomes], pairs: list[frontier.Pair] | None,
          baseline: list[frontier.Outcomes] | None = None) -> stats.Estimate | None:
    """Gain (last round minus round 0) per held-out task and seed, less the baseline's on the same seed and task
    when given, over the tasks every run answered: its mean with the two-way error (stats.two_way). Over
    `pairs`, pooled (the frontier); over every pair (None), each skill weighted alike, as `learning_gain` is a
    mean over skills. None where there is no task to read (no frontier level, or stores of an older cosr
    without per-task outcomes)."""
    tables = [frontier.answers(o, pairs) for o in runs + (baseline or [])]
    tasks = sorted(set.intersection(*(set(t) for t in tables)))
    if not tasks:
        return None
    gains = [[a[t][2] - a[t][1] for t in tasks] for a in tables]
    if baseline:  # the strategy's runs first, then the baseline's, seed for seed
        k = len(runs)
        gains = [[g - b for g, b in zip(mine, base, strict=True)]
                 for mine, base in zip(gains[:k], gains[k:], strict=True)]
    weights = None
    if pairs is None:  # a mean over skills: each skill weighs alike, whatever its count of distinct tasks
        n = Counter(tables[0][t][0] for t in tasks)
        weights = [1 / n[tables[0][t][0]] for t in tasks]
    return stats.two_way(gains, weights)


def _pairs(rows: list[dict[str, Any]]) -> list[frontier.Pair]:
    return [frontier.parse_label(p) for p in rows[0]["frontier_pairs"]]  # one baseline, the same for every run


def _dict(est: stats.Estimate | None) -> dict[str, Any] | None:
    return None if est is None else est.as_dict()


def aggregate(rows: list[dict[str, Any]], never: int,
              outcomes: dict[RunKey, frontier.Outcomes] | None = None) -> list[dict[str, Any]]:
    """Per strategy over seeds: mean and spread (sample sd) of the headline figures. `tasks_to_milestone` is
    over the seeds that reached it, `tasks_to_milestone_all` over every seed with `never` for those that did not.
    From the runs' per-task `outcomes` (None without), the frontier and all-skills gains with their standard
    error over distinct tasks and seeds (`frontier_gain_estimate`, `learning_gain_estimate`: stats.Estimate.as_dict)."""
    out = []
    for strategy in dict.fromkeys(r["strategy"] for r in rows):
        mine = [r for r in rows if r["strategy"] == strategy]
        runs = [outcomes[(strategy, r["seed"])] for r in mine] if outcomes else []
        reached = [r["tasks_to_milestone"] for r in mine if r["tasks_to_milestone"] is not None]
        every = [never if r["tasks_to_milestone"] is None else r["tasks_to_milestone"] for r in mine]

        def ms(key: str, rs: list = mine) -> tuple[float, float]:
            xs = [r[key] for r in rs]
            return _mean(xs), statistics.stdev(xs) if len(xs) > 1 else 0.0

        out.append({"strategy": strategy, "seeds": len(mine), "reached": len(reached),
                    "tasks_to_milestone": (_mean(reached), statistics.stdev(reached) if len(reached) > 1 else 0.0)
                    if reached else None,
                    "tasks_to_milestone_all": (_mean(every), statistics.stdev(every) if len(every) > 1 else 0.0),
                    "heldout_accuracy": ms("heldout_accuracy"), "frontier_accuracy": ms("frontier_accuracy"),
                    "frontier_gain": ms("frontier_gain"),
                    **{k: ms(k) for k in ("frontier_open_gain", "frontier_small_gain") if k in mine[0]},
                    "learning_gain": ms("learning_gain"), "verified_correct": ms("verified_correct"),
                    "verified_tasks": ms("verified_tasks"),
                    "final_accuracy": {s: _mean([r["final_accuracy"][s] for r in mine]) for s in mine[0]["final_accuracy"]},
                    "frontier_gain_estimate": _dict(_gain(runs, _pairs(rows))) if runs else None,
                    "learning_gain_estimate": _dict(_gain(runs, None)) if runs else None})
    return out


def paired(rows: list[dict[str, Any]], never: int, outcomes: dict[RunKey, frontier.Outcomes]) -> list[dict[str, Any]]:
    """Every strategy against the first one listed (the baseline: random by default), seed for seed on the
    same held-out tasks: the difference in frontier gain (the baseline's round 0 is every run's, so this is
    also the difference in final frontier accuracy) and in all-skills gain, with the two-way error over tasks
    and seeds; and in tasks to the milestone, one figure per run, with the error over seeds (a seed that never
    reached it counted as `never`, as in `aggregate`: where either run did not, a difference of bounds,
    counted in `bounded_seeds`). A strategy identical to the baseline differs by 0 everywhere."""
    names = list(dict.fromkeys(r["strategy"] for r in rows))
    by = {(r["strategy"], r["seed"]): r for r in rows}
    out = []
    for name in names[1:]:
        seeds = sorted(s for n, s in by if n == name and (names[0], s) in by)
        mine, base = [outcomes[(name, s)] for s in seeds], [outcomes[(names[0], s)] for s in seeds]
        steps = [[never if by[(n, s)]["tasks_to_milestone"] is None else by[(n, s)]["tasks_to_milestone"]
                  for n in (name, names[0])] for s in seeds]
        out.append({"strategy": name, "baseline": names[0], "seeds": seeds,
                    "frontier_gain": _dict(_gain(mine, _pairs(rows), base)),
                    "learning_gain": _dict(_gain(mine, None, base)),
                    "tasks_to_milestone": {**stats.over_seeds([a - b for a, b in steps]).as_dict(),
                                           "bounded_seeds": sum(never in s for s in steps)}})
    return out


def results(rows: list[dict[str, Any]], spec: CompareSpec, never: int, outcomes: dict[RunKey, frontier.Outcomes],
            milestone_note: str | None = None) -> dict[str, Any]:
    """compare.json: the settings its figures depend on (the split first), one row per run, the aggregate per
    strategy and the paired differences against the baseline."""
    return {"split": spec.split, "rounds": spec.rounds, "tasks_per_round": spec.tasks_per_round,
            "frontier": list(spec.frontier), "milestone": spec.milestone, "milestone_gain": spec.milestone_gain,
            "milestone_from": milestone_note, "never_counts_as": never,
            "rows": rows, "strategies": aggregate(rows, never, outcomes), "paired": paired(rows, never, outcomes)}


def milestone_from(compare_dir: Path, base: RunConfig, spec: CompareSpec) -> tuple[float, str]:
    """The milestone chosen on a `validation` compare, to judge `test` runs by: the frontier gain its baseline
    (this compare's first strategy) reached with the whole budget, mean over its seeds, rounded down to half a
    point. Refused where that compare was not on validation or not of this compare's settings and budget (the
    gain of another budget is another milestone). Returns (gain, a line saying where it came from)."""
    import json

    path = compare_dir / "compare.json"
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise ValueError(f"--milestone-from: cannot read {path} ({e})") from None
    if not isinstance(data, dict) or "split" not in data:
        raise ValueError(f"--milestone-from: {path} was written by an older cosr (no split recorded): "
                         "rerun that compare")
    if data["split"] != "validation":
        raise ValueError(f"--milestone-from: {compare_dir} was measured on the {data['split']} split; a milestone "
                         "is chosen on validation runs (cosr compare --split validation)")
    baseline = spec.strategies[0]
    mine = next((a for a in data["strategies"] if a["strategy"] == baseline), None)
    configs = sorted(compare_dir.glob(f"{baseline}-s*/config.json"))
    if mine is None or not configs:
        raise ValueError(f"--milestone-from: {compare_dir} has no {baseline} runs (this compare's baseline)")
    stored = RunConfig.model_validate_json(configs[0].read_text())
    diff = [k for k in config_differences(run_config(base, spec, baseline, 0), stored) if k != "eval.split"]
    diff += [k for k, ours in (("rounds", spec.rounds), ("frontier", list(spec.frontier))) if data[k] != ours]
    if diff:
        raise ValueError(f"--milestone-from: {compare_dir} was run with other settings ({', '.join(diff)}): "
                         "choose the milestone on a validation compare of the same settings")
    gain = mine["frontier_gain"][0]
    value = math.floor(gain * 200 + 1e-9) / 200  # down to half a point; the 1e-9 keeps 0.015 from reading 0.01499..
    if value <= 0:
        raise ValueError(f"--milestone-from: {baseline} gained {gain:+.2%} on the frontier in {compare_dir}: "
                         "no milestone above the baseline to choose")
    return value, (f"milestone +{value:.1%}: {baseline}'s mean frontier gain on validation ({gain:+.2%}, "
                   f"{mine['seeds']} seeds, {compare_dir}) rounded down to half a point")


def plot(rows: list[dict[str, Any]], path: Path, spec: CompareSpec) -> Path:
    """Learning curves: mean over seeds (line) and min-max (band), the frontier pairs pooled and all skills."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharex=True)
    for ax, key, title in ((axes[0], "frontier", "frontier levels"), (axes[1], "overall", "all skills")):
        for strategy in dict.fromkeys(r["strategy"] for r in rows):
            curves = [r["curve"] for r in rows if r["strategy"] == strategy]
            n = min(len(c) for c in curves)
            # "overall" is None after a round evaluated in part (eval.between_rounds): no point there
            at = [i for i in range(n) if all(c[i][key] is not None for c in curves)]
            xs = [curves[0][i]["tasks"] for i in at]
            ys = [[c[i][key] for c in curves] for i in at]
            line, = ax.plot(xs, [_mean(y) for y in ys], marker="o", label=strategy)
            ax.fill_between(xs, [min(y) for y in ys], [max(y) for y in ys], alpha=0.15, color=line.get_color())
        if key == "frontier":
            ax.axhline(rows[0]["milestone"], ls="--", c="grey", lw=1)
        ax.set(title=f"held-out accuracy, {title}", xlabel="tasks verified", ylabel="accuracy")
        ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
