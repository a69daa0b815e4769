"""Running the self-play sessions of a `cosr compare`: every strategy x seed from one student, budget and
held-out split, resumed or reused when a rerun finds them, in parallel processes pinned to shares of the
cores. What the runs mean (the spec, the leaderboard) is training/leaderboard.py's."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from queue import Empty
from typing import Any

from pydantic import ValidationError

from cosr.agents.curriculum import STRATEGIES
from cosr.agents.evaluator import record_baseline
from cosr.agents.rehearsal import rehearsal_rows, rehearsal_tasks
from cosr.config import ConfigError, RunConfig
from cosr.graphs.plugins import check_plugin_names
from cosr.graphs.session import SelfPlayRun
from cosr.registry import RegistryError
from cosr.store import TrajectoryStore
from cosr.training.device import CPU_THREADS
from cosr.training.evaluation import per_skill
from cosr.training.leaderboard import CompareSpec, config_differences, run_config, same_start
from cosr.training.results import EvaluationEvent, Event, RunSummary, read_summary

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


def _check_entries(base: RunConfig, spec: CompareSpec) -> None:
    """Before any run starts: every entry a registered strategy or a variant's label, and every variant a
    registered strategy under valid settings (RegistryError, or ValueError naming the variant)."""
    for label in spec.variants:
        if label in STRATEGIES:
            raise ValueError(f"--variant {label}: a strategy of that name is registered; give the variant another label")
    for entry in spec.strategies:
        if entry not in spec.variants:
            try:
                STRATEGIES.get(entry)
            except RegistryError as e:
                labels = f"; nor a --variant label ({', '.join(spec.variants)})" if spec.variants else ""
                raise RegistryError(f"{e}{labels}") from None
            continue
        try:
            STRATEGIES.get(spec.curriculum(entry))
            check_plugin_names(run_config(base, spec, entry, spec.seeds[0]))  # a plug-in name among its settings
        except (RegistryError, ConfigError) as e:
            raise ValueError(f"--variant {entry}: {e}") from None


def _check_stored_runs(base: RunConfig, spec: CompareSpec) -> None:
    """A run already in --out is reused or resumed, and shares its baseline with the runs of its settings: refuse,
    before anything starts, one made with other settings (another --config or --tasks-per-round) than its entry's,
    read off its folder, `{entry}-s{seed}` (a variant's own; a folder of no entry of this compare, the base's)."""
    for path in sorted(spec.out_dir.glob("*-s*/config.json")):
        try:
            stored = RunConfig.model_validate_json(path.read_text())
        except ValidationError as e:
            raise ValueError(f"{path} is not a run configuration cosr can read ({e.errors()[0]['msg']}): "
                             "compare into a new --out, or remove that run") from None
        entry = path.parent.name.rsplit("-s", 1)[0]
        reference = run_config(base, spec, entry, spec.seeds[0])
        if stored.curator.strategy != reference.curator.strategy:  # a label now given to another strategy, or none
            raise ValueError(f"{path.parent} is a run of {stored.curator.strategy}, which this compare's {entry} is not: "
                             "give its --variant, compare into a new --out, or remove it")
        if stored.eval.split != reference.eval.split:  # named alone: runs of the two splits are never one result
            raise ValueError(f"{path.parent} was measured on the {stored.eval.split} split and this compare is on "
                             f"{reference.eval.split} (eval.split): compare into a new --out, or rerun with "
                             f"--split {stored.eval.split}")
        if diff := config_differences(reference, stored):
            raise ValueError(f"{path.parent} was run with other settings ({', '.join(diff[:6])}"
                             f"{', ...' if len(diff) > 6 else ''}): compare into a new --out, or rerun with its settings"
                             f"{'' if entry in spec.strategies else ' (a variant: give its --variant)'}")


def run_all(base: RunConfig, spec: CompareSpec, on_event: Callable[[str, int, Event], None] = lambda *a: None,
            log: Callable[[str], None] = print, jobs: int | None = 1) -> list[RunSummary]:
    """Run (or resume, or reuse when finished) every strategy x seed; return their summaries in
    seed-then-strategy order. With jobs > 1 the runs go to that many processes, each pinned to its own
    share of the CPU cores (a run is one small model: two one-core runs do more than one two-core run);
    jobs=None: as many as `worker_plan` finds best for the runs left, one per core and at most 4, or up
    to twice that sharing the cores."""
    _check_entries(base, spec)  # an unknown name or a bad variant fails before any run starts
    _check_stored_runs(base, spec)
    todo = [(strategy, seed) for seed in spec.seeds for strategy in spec.strategies]
    done: dict[tuple[str, int], RunSummary] = {}
    for key in todo:
        path = run_config(base, spec, *key).run_dir / "summary.json"
        if path.exists() and (summary := read_summary(path)).rounds_completed >= spec.rounds:
            done[key] = summary
    pending = [k for k in todo if k not in done]
    if jobs is None:
        cores = min(4, len(os.sched_getaffinity(0)))
        jobs = worker_plan(len(pending), cores, most=2 * cores)
    if jobs <= 1 or len(pending) <= 1:
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
    fresh = [k for k in pending if not (run_config(base, spec, *k).run_dir / "config.json").exists()]
    if len(fresh) < 2 or _shared_source(spec, first := run_config(base, spec, *fresh[0])) is not None:
        return
    rehearse = bool(first.training.rehearsal_ratio)
    # the second process answers for the first run's store: a run of the same student (not a variant of another)
    partner = next((k for k in fresh[1:] if same_start(first, run_config(base, spec, *k))), None)
    makers = [fresh[0], *([partner] if rehearse and partner else [])]
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


def _settings(run_dir: Path) -> RunConfig | None:
    try:
        return RunConfig.model_validate_json((run_dir / "config.json").read_text())
    except (OSError, ValidationError):
        return None


def _shared_source(spec: CompareSpec, like: RunConfig | None = None) -> Path | None:
    """A run folder of this compare (one that can share with run `like`) whose store holds a baseline evaluation."""
    return next((d for d, store in _siblings(spec, like=like) if store.evaluation_tasks(d.name).get(0)), None)


def _siblings(spec: CompareSpec, but: str | None = None,
              like: RunConfig | None = None) -> Iterator[tuple[Path, TrajectoryStore]]:
    """(run folder, its open TrajectoryStore) for every run of this compare with known settings (a config.json)
    other than `but`, and of the `same_start` as `like` if given; each store is closed when the next is asked for."""
    for other in sorted(spec.out_dir.glob("*-s*/store.sqlite")):
        if other.parent.name == but or not (other.parent / "config.json").exists():  # settings unknown: not shared
            continue
        if like is not None and not same_start(like, _settings(other.parent)):
            continue
        store = TrajectoryStore(other)
        try:
            yield other.parent, store
        finally:
            store.close()


def _run_one(base: RunConfig, spec: CompareSpec, strategy: str, seed: int, on_event: Callable[[Event], None],
             log: Callable[[str], None]) -> RunSummary:
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
    for other, store in _siblings(spec, but=run_id, like=cfg):
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
    if cores is None:
        os.environ[CPU_THREADS] = "1"
    else:
        os.sched_setaffinity(0, cores)  # training.device sets torch's threads to the affinity
    base = RunConfig.model_validate_json(base_json)
    while (key := todo.get()) is not None:
        strategy, seed = key

        def forward(ev: Event, s: str = strategy, n: int = seed) -> None:
            if isinstance(ev, EvaluationEvent):
                queue.put(("event", s, n, ev))
        try:
            summary = _run_one(base, spec, strategy, seed, forward, log=lambda m: None)
        except BaseException as e:  # noqa: BLE001 - reported to the parent, which raises
            queue.put(("error", strategy, seed, (_reason(e), traceback.format_exc())))
            return
        queue.put(("done", strategy, seed, summary))


def _run_parallel(base: RunConfig, spec: CompareSpec, pending: list[tuple[str, int]], jobs: int,
                  on_event: Callable[[str, int, Event], None]) -> dict[tuple[str, int], RunSummary]:
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
    results: dict[tuple[str, int], RunSummary] = {}
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
             on_event: Callable[[str, int, Event], None], results: dict[tuple[str, int], RunSummary]) -> None:
    """Read the workers' events and results until every pending run is done; stop them all on an error."""
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
