"""Running the self-play sessions of a `cosr compare`: every strategy x seed from one student, budget and held-out
split, resumed or reused when a rerun finds them; side by side as Ray tasks, each on its share of the CPUs, on a
local Ray instance or a cluster. What the runs mean (the spec, the leaderboard) is training/leaderboard.py's."""

from __future__ import annotations

import json
import logging
import math
import os
import re
import traceback
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import ray
from pydantic import ValidationError
from ray.exceptions import RayError, RayTaskError
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from cosr.agents.curriculum import STRATEGIES
from cosr.agents.evaluator import record_baseline
from cosr.agents.rehearsal import rehearsal_rows, rehearsal_tasks
from cosr.config import ConfigError, RunConfig
from cosr.faults import write_whole
from cosr.graphs.plugins import check_plugin_names
from cosr.graphs.session import SelfPlayRun
from cosr.registry import RegistryError
from cosr.store import TrajectoryStore
from cosr.training.device import CPU_THREADS
from cosr.training.evaluation import per_skill
from cosr.training.leaderboard import CompareSpec, config_differences, run_config, same_start
from cosr.training.results import EvaluationEvent, Event, RunSummary, read_summary

ERROR_FILE = "error.txt"  # a failed run's traceback, in its folder
ATTEMPT_FILE = "attempt.json"  # which compare last started the run, how many times, and in which process
RETRIES = 3  # a run whose worker process or node died starts again, from its checkpoint, at most this often


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
            stored = RunConfig.stored(path.read_text())
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
            log: Callable[[str], None] = print, jobs: int | None = 1, ray_address: str | None = None) -> list[RunSummary]:
    """Run (or resume, or reuse when finished) every strategy x seed; return their summaries in seed-then-strategy
    order. In this process one after the other (jobs=1, or one run left, and no cluster named); otherwise as Ray
    tasks on the cluster at `ray_address` or a local instance, `jobs` at a time (None: one per CPU), each on that
    share of the CPUs (a small model: two one-core runs do more than one two-core run)."""
    if base.database_url:  # its runs are named {entry}-s{seed}: two compares in one database would share them
        raise ValueError("cosr compare keeps each run's store in its folder under --out; leave database_url out of "
                         "its config (it is for cosr selfplay)")
    _check_entries(base, spec)  # an unknown name or a bad variant fails before any run starts
    _check_stored_runs(base, spec)
    todo = [(strategy, seed) for seed in spec.seeds for strategy in spec.strategies]
    done: dict[tuple[str, int], RunSummary] = {}
    for key in todo:
        path = run_config(base, spec, *key).run_dir / "summary.json"
        if path.exists() and (summary := read_summary(path)).rounds_completed >= spec.rounds:
            done[key] = summary
    pending = [k for k in todo if k not in done]
    if ray_address is None:
        jobs = jobs or len(os.sched_getaffinity(0))
    if ray_address is None and (jobs <= 1 or len(pending) <= 1):  # no Ray to start for runs in a row
        for strategy, seed in pending:
            try:
                done[(strategy, seed)] = _run_one(base, spec, strategy, seed,
                                                  lambda ev, s=strategy, n=seed: on_event(s, n, ev), log)
            except Exception as e:  # noqa: BLE001 - one clear error naming the run; the traceback goes to its folder
                cfg = run_config(base, spec, strategy, seed)
                raise RunFailed.recorded(cfg, _reason(e), traceback.format_exc()) from None
    elif pending:
        with ray_session(ray_address):
            _prepare_shared(base, spec, pending)
            done.update(_run_on_ray(base, spec, pending, jobs, on_event, log))
    return [done[k] for k in todo]


@contextmanager
def ray_session(address: str | None) -> Iterator[None]:
    """The cluster at `address`, or a new local instance of this machine's cores (never one found running),
    quiet (workers' output and Ray's info lines stay in its logs). Shut down after, however the compare ends
    (ray.init turns SIGTERM into SystemExit), which ends its job: Ray stops its tasks, here and on a cluster. Not
    ray.cancel: one that crosses a task's completion aborts the driver (ray-project/ray#54846, seen on 2.60)."""
    ray.init(address or "local", include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR,
             **({} if address else {"num_cpus": len(os.sched_getaffinity(0))}))
    try:
        yield
    finally:
        ray.shutdown()


def _cpus_per_run(jobs: int | None) -> float:
    """A task's CPUs with `jobs` at once (None: one each): at most a node's, down to Ray's 1e-4 (3 x 2/3 fits 2)."""
    if jobs is None:
        return 1.0
    nodes = [n["Resources"].get("CPU", 0.0) for n in ray.nodes() if n["Alive"]]
    return min(max(nodes), math.floor(sum(nodes) / jobs * 1e4) / 1e4)


def _use_task_cpus() -> None:
    """torch's CPU threads in this task: the CPUs Ray gave it, at least one (a share of a core shares it)."""
    os.environ[CPU_THREADS] = str(max(1, int(ray.get_runtime_context().get_assigned_resources().get("CPU", 1))))


def _run_on_ray(base: RunConfig, spec: CompareSpec, pending: list[tuple[str, int]], jobs: int | None,
                on_event: Callable[[str, int, Event], None], log: Callable[[str], None]) -> dict[tuple[str, int], RunSummary]:
    """The runs as Ray tasks, as many at once as their CPU shares fit (`jobs`; None: one CPU each), their
    evaluation events passed on as they come; a run that raised stops the others."""
    cpus, compare_id = _cpus_per_run(jobs and min(jobs, len(pending))), uuid.uuid4().hex
    # on this process's node, so it dies with nothing but the compare
    inbox = _Inbox.options(scheduling_strategy=NodeAffinitySchedulingStrategy(
        ray.get_runtime_context().get_node_id(), soft=False)).remote()
    gpu_here, running, results = ray.cluster_resources().get("GPU", 0) >= 1, {}, {}
    # Strategy by strategy, so the runs that start together have different seeds; every later run finds the
    # baseline and the rehearsal set made.
    for key in sorted(pending, key=lambda k: (spec.strategies.index(k[0]), k[1])):
        device = run_config(base, spec, *key).training.device  # one that trains on a GPU lands where one is
        gpus = int(device == "cuda" or (device == "auto" and gpu_here))
        running[_run_task.options(num_cpus=cpus, num_gpus=gpus).remote(base, spec, key, compare_id, inbox)] = key
    while running:  # a failed run, Ctrl-C or SIGTERM leaves the rest to ray_session, which stops them
        ready, _ = ray.wait(list(running), num_returns=1, timeout=0.5)
        for item in ray.get(inbox.take.remote()):  # a task's are all in before it returns
            if isinstance(item, str):
                log(item)
            else:
                on_event(*item)
        for ref in ready:
            key = running.pop(ref)
            results[key] = _outcome(run_config(base, spec, *key), ref)
    return results


def _outcome(cfg: RunConfig, ref: ray.ObjectRef) -> RunSummary:
    try:
        return ray.get(ref)
    except RayTaskError as e:  # the run raised: its own exception, the task's traceback (Ray colours its title)
        raise RunFailed.recorded(cfg, _reason(e.cause), re.sub(r"\x1b\[[0-9;]*m", "", str(e))) from None
    except RayError as e:  # its worker or node died more than RETRIES times, say
        raise RunFailed.recorded(cfg, f"{type(e).__name__}: {next(iter(str(e).split(chr(10))))}", str(e)) from None


@ray.remote(num_cpus=0)
class _Inbox:
    """What the run tasks tell the parent, in the order each sent it: (strategy, seed, evaluation event), or a line."""

    def __init__(self) -> None:
        self.items: list = []

    def put(self, item: tuple[str, int, Event] | str) -> None:
        self.items.append(item)

    def take(self) -> list:
        items, self.items = self.items, []
        return items


@ray.remote(max_retries=RETRIES)
def _run_task(base: RunConfig, spec: CompareSpec, key: tuple[str, int], compare_id: str, inbox) -> RunSummary:
    """One run, its evaluation events to `inbox`; started again by Ray if its process or node dies (not if it
    raises), then it resumes from its checkpoint and says so."""
    _use_task_cpus()
    cfg, sent = run_config(base, spec, *key), []
    attempt = _count_attempt(cfg.run_dir, compare_id)

    def tell(item: tuple[str, int, Event] | str) -> None:
        sent.append(inbox.put.remote(item))  # not waited for: a task blocked in ray.get lends its CPUs to another

    def forward(ev: Event) -> None:
        if isinstance(ev, EvaluationEvent):
            tell((*key, ev))

    def started(step: int | None) -> None:
        if attempt > 1:
            where = f"resumed from its checkpoint at step {step}" if step is not None else "started over (no checkpoint yet)"
            tell(f"run {cfg.run_id} was retried after its worker died; it {where}")
    summary = _run_one(base, spec, *key, forward, log=lambda m: None, started=started)
    ray.get(sent[-1:])  # one caller's calls run in order: when the last is in, all are
    return summary


def _count_attempt(run_dir: Path, compare_id: str) -> int:
    """This task's attempt at its run in compare `compare_id` (1; more when Ray retried it), kept in its folder."""
    path = run_dir / ATTEMPT_FILE
    last = json.loads(path.read_text()) if path.exists() else {}  # written whole, or not at all
    attempt = last.get("attempt", 0) + 1 if last.get("compare") == compare_id else 1
    run_dir.mkdir(parents=True, exist_ok=True)
    write_whole(path, json.dumps({"compare": compare_id, "attempt": attempt, "pid": os.getpid(),
                                  "node": ray.get_runtime_context().get_node_id()}))
    return attempt


# Rehearsal tasks a prepare task answers at a time: ~5 s of one core on embedded-v4, so the two end within that
PREPARE_CHUNK = 512


def _prepare_shared(base: RunConfig, spec: CompareSpec, pending: list[tuple[str, int]], chunk: int = PREPARE_CHUNK) -> None:
    """Before parallel runs start, make once what they all share (`_share_from_siblings`) into the first fresh
    run's store, the baseline and the rehearsal set, which each run of the first batch would make itself. Two Ray
    tasks: one makes the baseline, and both answer the rehearsal tasks `chunk` at a time, the next when free, so
    they end together (whole side by side, the baseline's sat idle most of the set's ~85 s). A failure is left to
    the runs, which fail with their own clear error (a dead student server, say): the set is stored only whole."""
    fresh = [k for k in pending if not (run_config(base, spec, *k).run_dir / "config.json").exists()]
    if len(fresh) < 2 or _shared_source(spec, first := run_config(base, spec, *fresh[0])) is not None:
        return
    rehearse = bool(first.training.rehearsal_ratio)
    # the second task answers for the first run's store: a run of the same student (not a variant of another)
    partner = next((k for k in fresh[1:] if same_start(first, run_config(base, spec, *k))), None)
    makers = [fresh[0], *([partner] if rehearse and partner else [])]
    chunks, task = _Chunks.remote(), _prepare_run.options(num_cpus=_cpus_per_run(len(makers)))
    refs = [task.remote(base, spec, key, k == 0, rehearse, chunk, chunks) for k, key in enumerate(makers)]
    try:
        made = ray.get(refs)
    except RayError:  # a task's worker died, and the chunks it took with it: the runs make the set
        return
    if rehearse and None not in made:  # both went on until no chunk was left: every one is answered
        parts = {i: rows for chunk_rows in made for i, rows in chunk_rows.items()}
        cfg = run_config(base, spec, *makers[0])
        store = TrajectoryStore(cfg.run_dir / "store.sqlite")
        try:
            store.add_rehearsal(cfg.run_id, [r for i in sorted(parts) for r in parts[i]])
        finally:
            store.close()


@ray.remote(num_cpus=0)
class _Chunks:
    """The next untaken rehearsal chunk, for whichever prepare task asks first."""

    def __init__(self) -> None:
        self.taken = 0

    def take(self) -> int:
        self.taken += 1
        return self.taken - 1


@ray.remote(max_retries=0)
def _prepare_run(base: RunConfig, spec: CompareSpec, key: tuple[str, int], baseline: bool, rehearse: bool,
                 chunk: int, chunks) -> dict[int, list] | None:
    """In run `key`'s context: the baseline into its store if asked, then the rehearsal rows of the chunks `chunks`
    hands out until none is left, by chunk index; None if it failed."""
    _use_task_cpus()
    made: dict[int, list] = {}
    try:
        with SelfPlayRun(run_config(base, spec, *key), rounds=spec.rounds, log=lambda m: None) as run:
            if baseline:
                record_baseline(run.ctx)
            tasks = rehearsal_tasks(run.ctx) if rehearse else []
            while tasks and (i := ray.get(chunks.take.remote())) * chunk < len(tasks):
                made[i] = rehearsal_rows(run.ctx, tasks[i * chunk:(i + 1) * chunk])
    except Exception:  # noqa: BLE001 - the run meets the same cause and reports it (see _prepare_shared)
        return None
    return made


def _settings(run_dir: Path) -> RunConfig | None:
    try:
        return RunConfig.stored((run_dir / "config.json").read_text())
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
             log: Callable[[str], None], started: Callable[[int | None], None] = lambda step: None) -> RunSummary:
    """One run, fresh or resumed from its folder; `started` is told the checkpoint's step it resumes from."""
    cfg = run_config(base, spec, strategy, seed)
    resume = str(cfg.run_dir) if (cfg.run_dir / "config.json").exists() else None
    _share_from_siblings(cfg, spec)
    with SelfPlayRun(cfg, resume=resume, rounds=spec.rounds, log=log) as run:
        started(run.graph.get_state(run.thread).values.get("step", 0) if resume else None)
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
