"""Self-play beyond one process: the student as N replicas and the sandbox as one pool a node, each a Ray actor,
and the LoRA round as a Ray task. The LangGraph state machine stays the single controller: these meet the
interfaces its nodes already call (StudentBackend, Executor, train_lora), so no agent knows where work runs; the
store and the checkpoints, and so the resume guarantees, stay in the controller.

Files travel as bytes (an adapter to every replica, a round's adapter back from the LoRA task), so nodes need no
shared filesystem; the base model's folder must be at the same path on every node (the embedded student ships
inside cosr). A stale replica is the failure verl (#7495) and TRL (PR #7017) users report: after every load,
each hf replica scores the adapter's probe text and must match the controller's own float32 log-probabilities
(training/adapter_probe.py), or the run stops with StaleAdapter naming it. A replica whose process or node dies
is restarted by Ray, its share of the batch retried with the same seed, and it loads and is probed again first.

Ray is imported where it is used: a session that runs in one process (workers = 1, no ray_address) never loads it.
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import os
import random
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from cosr.config import SandboxConfig, StudentConfig, TrainingConfig
from cosr.faults import RunStopped, SandboxDown, StudentDown
from cosr.sandbox import ExecutionRequest, ExecutionResult, SandboxUnavailable, make_executor
from cosr.training.adapter_probe import LocalProbe, ProbeResult, ServedWeightsMismatch, StaleAdapter, judge, local_probe
from cosr.training.backends import Generation, make_student, render_prompt
from cosr.training.data import Example
from cosr.training.device import CPU_THREADS
from cosr.training.lora import RoundStats, train_lora

# Ray places a request of no resources on the caller's node whatever its scheduling strategy says (seen with
# 2.60), so replicas and sandboxes reserve this token share of a CPU for NodeAffinity to spread them. They
# reserve no more: they and the LoRA task never compute at once (the controller waits for each), and the LoRA
# task takes the rest of a node's CPUs.
TOKEN_CPU = 0.01
RESTARTS = 3  # a replica or sandbox whose process or node died is started again this often; its call retried
LOG_FILE = "workers.jsonl"  # in the run directory: where each replica ran, what it served, its probe per adapter


def connect(address: str | None) -> bool:
    """Join the cluster at `address`, or start a local Ray instance of this machine's cores; quiet (workers'
    output stays in Ray's logs). False when this process was connected already (a `cosr compare` task)."""
    import ray

    if ray.is_initialized():
        return False
    ray.init(address or "local", include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR,
             **({} if address else {"num_cpus": len(os.sched_getaffinity(0))}))
    return True


def folder_files(folder: Path) -> dict[str, bytes]:
    """An adapter folder's own files (not its interpolated/ subfolder, an adapter of its own) as bytes."""
    return {f.name: f.read_bytes() for f in sorted(folder.iterdir()) if f.is_file()}


def write_files(folder: Path, files: dict[str, bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder


def shares(n: int, parts: int) -> list[tuple[int, int]]:
    """`n` items cut into `parts` contiguous shares in order, their sizes differing by at most one."""
    cuts = [n * i // parts for i in range(parts + 1)]
    return list(itertools.pairwise(cuts))


def replica_seed(seed: int, call: int, replica: int) -> int:
    """The sampling seed of one replica's share of one call: a run is the same again for the same N, and a share
    retried after its replica died samples what it would have."""
    return random.Random(f"{seed}:{call}:{replica}").getrandbits(63)


def _alive_nodes(resource: str = "CPU") -> list[dict]:
    import ray

    return sorted((n for n in ray.nodes() if n["Alive"] and n["Resources"].get(resource, 0) > 0),
                  key=lambda n: n["NodeID"])


def _on(node: str) -> Any:
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    return NodeAffinitySchedulingStrategy(node, soft=True)  # soft: an actor whose node is lost restarts on another


def _gather(refs: list, what: str, down: type[RunStopped] = StudentDown) -> list:
    """ray.get, an actor lost for good (its restarts spent) told as the student or sandbox being down: the run
    stops with one line and resumes once the cluster is whole again."""
    import ray
    from ray.exceptions import RayActorError

    try:
        return ray.get(refs)
    except RayActorError as e:
        raise down(f"{what} was lost for good (Ray restarts one up to {RESTARTS} times): "
                   f"{' '.join(str(e).split())[:300]}") from None


class Replica:
    """One student, built by the backend registry from the run's StudentConfig, on its node (a Ray actor)."""

    def __init__(self, cfg: StudentConfig, index: int, threads: int) -> None:
        import ray

        os.environ[CPU_THREADS] = str(threads)  # its share of its node's cores (training/device.py)
        self.cfg, self.index, self.version = cfg, index, None
        self.student = make_student(cfg)
        self.dir = Path(tempfile.mkdtemp(prefix=f"cosr-replica-{index}-"))
        self.node, self.pid = ray.get_runtime_context().get_node_id(), os.getpid()

    def describe(self) -> dict[str, Any]:
        return {k: getattr(self.student, k) for k in ("id", "trainable_path", "continues_answers")} | self.where()

    def where(self) -> dict[str, Any]:
        return {"replica": self.index, "node": self.node, "pid": self.pid, "adapter": self.version}

    def load(self, version: str, files: list) -> dict[str, Any]:
        """Write the adapter's files to this replica's own folder and serve it (an older one's files go)."""
        import ray

        folder = write_files(self.dir / version, ray.get(files[0]))  # [ref]: fetched only when loading
        self.student.load_adapter(folder, version)
        for old in self.dir.iterdir():
            if old.name != version:
                shutil.rmtree(old, ignore_errors=True)
        self.version = version
        return self.where()

    def generate(self, prompts: list[str], temperature: float, max_new_tokens: int, starts: list[str] | None,
                 seed: int, adapter: tuple[str, list] | None) -> tuple[list[Generation], dict[str, Any]]:
        reloaded = adapter is not None and adapter[0] != self.version  # restarted: the adapter went with it
        if reloaded:
            self.load(*adapter)
        if self.cfg.backend == "hf":  # it samples from torch's global generator (training/sampling.py)
            import torch

            torch.manual_seed(seed)
        out = self.student.generate(prompts, temperature=temperature, max_new_tokens=max_new_tokens, starts=starts)
        return out, {**self.where(), "reloaded": reloaded}

    def logprobs(self, token_ids: list[int]) -> tuple[list[float], list[float]]:
        """Log-probabilities of token_ids[1:] under the base weights and under the model it now serves (hf)."""
        import torch

        s = self.student
        ids = torch.tensor([token_ids], device=s.device)

        def scored(model: Any) -> list[float]:
            logits = model(input_ids=ids).logits[0, :-1].float()
            return torch.log_softmax(logits, -1).gather(1, ids[0, 1:, None])[:, 0].tolist()

        with torch.inference_mode():
            if s.model is not s.base and hasattr(s.model, "disable_adapter"):  # peft's layers on the base itself
                with s.model.disable_adapter():
                    base = scored(s.model)
            else:  # the base, or a merged copy beside it (hf.py, load_adapter)
                base = scored(s.base)
            return base, scored(s.model)

    def close(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


class StudentPool:
    """A StudentBackend of `workers` replicas: `generate` cuts the batch into contiguous shares in replica order,
    each sampled with its own seed from the run's, and joins the answers in order; `load_adapter` sends the
    adapter's files to every replica and probes each one."""

    def __init__(self, cfg: StudentConfig, workers: int, seed: int, *, log_path: Path | None = None,
                 gpu_share: float = 0.0, owns_ray: bool = False) -> None:
        import ray

        self.cfg, self.seed, self.log_path, self.owns_ray = cfg, seed, log_path, owns_ray
        nodes = _alive_nodes("GPU" if gpu_share else "CPU")
        placed = [nodes[i % len(nodes)] for i in range(workers)]  # round robin: one a node before two on any
        per_node = Counter(n["NodeID"] for n in placed)
        actor = ray.remote(Replica)
        self.replicas = [actor.options(num_cpus=TOKEN_CPU, num_gpus=gpu_share, scheduling_strategy=_on(n["NodeID"]),
                                       max_restarts=RESTARTS, max_task_retries=RESTARTS).remote(
            cfg, i, max(1, int(n["Resources"].get("CPU", 1) // per_node[n["NodeID"]]))) for i, n in enumerate(placed)]
        self.placed = per_node  # replicas a node: the LoRA task takes what they leave
        described = _gather([r.describe.remote() for r in self.replicas], "a student replica")
        self.where = {d["replica"]: d for d in described}  # each replica's node, process and adapter, as last seen
        self.id, self.trainable_path, self.continues_answers = (described[0][k] for k in
                                                                ("id", "trainable_path", "continues_answers"))
        self.adapter_version: str | None = None
        self.adapter_dir: Path | None = None
        self._adapter: tuple[str, list] | None = None  # (version, [its files in Ray's object store])
        self._probes: dict[Path, LocalProbe] = {}  # the controller's half of each adapter's probe
        self.probes: dict[int, ProbeResult] = {}  # each replica's last probe
        self.served: Counter[int] = Counter()  # prompts each replica answered
        self.calls = 0

    def generate(self, prompts: Sequence[str], *, temperature: float, max_new_tokens: int,
                 starts: Sequence[str] | None = None) -> list[Generation]:
        if not prompts:
            return []
        self.calls += 1
        refs = [r.generate.remote(list(prompts[a:b]), temperature, max_new_tokens,
                                  None if starts is None else list(starts[a:b]), replica_seed(self.seed, self.calls, i),
                                  self._adapter)
                for i, (r, (a, b)) in enumerate(zip(self.replicas, shares(len(prompts), len(self.replicas)), strict=True))
                if b > a]
        out: list[Generation] = []
        for gens, info in _gather(refs, "a student replica"):
            self.where[info["replica"]] = info
            self.served[info["replica"]] += len(gens)
            if info["reloaded"]:  # restarted and given the adapter again: checked before its answers are used
                self.check([info["replica"]])
            out.extend(gens)
        return out

    def load_adapter(self, path: Path, version: str) -> None:
        import ray

        self._adapter = (version, [ray.put(folder_files(path))])
        for info in _gather([r.load.remote(*self._adapter) for r in self.replicas], "a student replica"):
            self.where[info["replica"]] = info
        self.adapter_version, self.adapter_dir = version, path
        self.check()

    def check(self, replicas: Sequence[int] | None = None) -> None:
        """Probe the replicas (all by default): each must score the probe text as the current adapter does here,
        or StaleAdapter names the first that does not. Only hf replicas: an openai one probes its own server
        as it loads (backends/openai_compat.py)."""
        if self.cfg.backend != "hf" or not self.cfg.adapter_probe or self.adapter_dir is None:
            return
        which = list(range(len(self.replicas))) if replicas is None else list(replicas)
        local = self._local_probe()
        scores = _gather([self.replicas[i].logprobs.remote(local.token_ids) for i in which], "a student replica")
        for i, (base, served) in zip(which, scores, strict=True):
            where = self.where[i]
            try:
                self.probes[i] = judge(local, local.scored(base), local.scored(served), adapter_name=self.adapter_version,
                                       adapter_dir=self.adapter_dir, base_model=self.id, weights=self.trainable_path,
                                       upper=self.cfg.adapter_probe_tolerance)
            except (StaleAdapter, ServedWeightsMismatch) as e:
                raise type(e)(f"student replica {i} (node {where['node'][:12]}, pid {where['pid']}, says it serves "
                              f"{where['adapter']!r}): {e}") from None
        self._log()

    def _local_probe(self) -> LocalProbe:
        if self.adapter_dir not in self._probes:  # a round loads its adapter twice (agents/evaluator.py, delivered)
            prompt = render_prompt(self.cfg, self.cfg.adapter_probe_prompt)
            self._probes[self.adapter_dir] = local_probe(self.trainable_path, self.adapter_dir, prompt)
        return self._probes[self.adapter_dir]

    def _log(self) -> None:
        """One line a check: every replica's node, process, adapter, prompts served so far, and its probe."""
        if self.log_path is None:
            return
        rows = [{"replica": i, "node": w["node"], "pid": w["pid"], "adapter": w["adapter"], "served": self.served[i],
                 "probe": None if (p := self.probes.get(i)) is None or p.adapter != w["adapter"] else
                 {"error": p.served_error, "tolerance": p.tolerance, "effect": p.effect}}
                for i, w in sorted(self.where.items())]
        with open(self.log_path, "a") as f:
            f.write(json.dumps({"adapter": self.adapter_version, "replicas": rows}) + "\n")

    def close(self) -> None:
        _close(self.replicas, self.owns_ray)


class Sandbox:
    """A node's own executor (the docker pool from the run's SandboxConfig), as a Ray actor."""

    def __init__(self, cfg: SandboxConfig) -> None:
        import ray

        self.node, self.executor, self.missing = ray.get_runtime_context().get_node_id(), None, None
        try:
            self.executor = make_executor(cfg)
        except SandboxUnavailable as e:  # a node without an engine: the pool leaves it out
            self.missing = str(e)

    def ready(self) -> tuple[str, str | None]:
        return self.node, self.missing

    def run_many(self, requests: list[ExecutionRequest]) -> list[ExecutionResult]:
        return self.executor.run_many(requests)

    def close(self) -> None:
        if self.executor is not None:
            self.executor.close()


class SandboxPool:
    """An Executor of one sandbox a node that has an engine: `run_many` cuts the requests into contiguous shares,
    one a sandbox, and joins the results in request order."""

    name = "ray"

    def __init__(self, cfg: SandboxConfig) -> None:
        import ray

        actor = ray.remote(Sandbox)
        every = [actor.options(num_cpus=TOKEN_CPU, scheduling_strategy=_on(n["NodeID"]), max_restarts=RESTARTS,
                               max_task_retries=RESTARTS).remote(cfg) for n in _alive_nodes()]
        ready = _gather([s.ready.remote() for s in every], "a sandbox", SandboxDown)
        self.sandboxes = [s for s, (_, missing) in zip(every, ready, strict=True) if missing is None]
        _close([s for s, (_, missing) in zip(every, ready, strict=True) if missing is not None], owns_ray=False)
        if not self.sandboxes:
            raise SandboxUnavailable("no node of the Ray cluster has a sandbox: "
                                     + "; ".join(f"node {node[:12]}: {missing}" for node, missing in ready))

    def run(self, request: ExecutionRequest) -> ExecutionResult:
        return self.run_many([request])[0]

    def run_many(self, requests: Sequence[ExecutionRequest]) -> list[ExecutionResult]:
        refs = [s.run_many.remote(list(requests[a:b]))
                for s, (a, b) in zip(self.sandboxes, shares(len(requests), len(self.sandboxes)), strict=True) if b > a]
        return [r for part in _gather(refs, "a sandbox", SandboxDown) for r in part]

    def close(self) -> None:
        _close(self.sandboxes, owns_ray=False)


def _close(actors: list, owns_ray: bool) -> None:
    """Let each actor tidy up (its temp folder, its containers), then end it; Ray too if this process started it."""
    import ray

    if not ray.is_initialized():
        return
    done = [a.close.remote() for a in actors]
    ray.wait(done, num_returns=len(done), timeout=30)
    for a in actors:
        ray.kill(a)
    if owns_ray:
        ray.shutdown()


class RemoteLora:
    """`train_lora` as a Ray task: the examples and the previous adapter's files go to it, the new adapter's files
    come back into `out_dir` (the trainer's `.partial-round-NNN`, renamed once whole). It asks for a GPU share when
    the cluster has GPUs (a whole one unless the replicas hold shares of them), else the CPUs the replicas leave
    on the roomiest node."""

    def __init__(self, gpus: float, placed: Counter[str]) -> None:
        self.gpus, self.placed = gpus, placed

    def resources(self) -> dict[str, float]:
        nodes = _alive_nodes("GPU" if self.gpus else "CPU")  # CPUs where the GPU is: one node must hold both
        # what the tokens leave: this run's replicas on the node, and its sandbox when the graph has code
        room = [n["Resources"].get("CPU", 0) - TOKEN_CPU * (self.placed[n["NodeID"]] + 1) for n in nodes]
        return {"num_cpus": math.floor(max(room) * 1e4) / 1e4, "num_gpus": self.gpus}  # Ray takes 4 decimals

    def __call__(self, base_path: Path, examples: Sequence[Example], cfg: TrainingConfig, out_dir: Path, *,
                 init_adapter: Path | None = None, seed: int = 0, round_no: int = 1) -> RoundStats:
        import ray

        task = ray.remote(_lora_task).options(max_retries=RESTARTS, **self.resources())
        init = folder_files(init_adapter) if init_adapter is not None else None
        stats, files = _gather([task.remote(str(base_path), list(examples), cfg, init, seed, round_no)], "the LoRA task")[0]
        write_files(out_dir, files)
        return stats


def _lora_task(base_path: str, examples: list[Example], cfg: TrainingConfig, init: dict[str, bytes] | None,
               seed: int, round_no: int) -> tuple[RoundStats, dict[str, bytes]]:
    import ray

    os.environ[CPU_THREADS] = str(max(1, round(ray.get_runtime_context().get_assigned_resources().get("CPU", 1))))
    with tempfile.TemporaryDirectory(prefix="cosr-lora-") as tmp:
        previous = write_files(Path(tmp) / "previous", init) if init is not None else None
        stats = train_lora(Path(base_path), examples, cfg, Path(tmp) / "out", init_adapter=previous, seed=seed,
                           round_no=round_no)
        return stats, folder_files(Path(tmp) / "out")


def ray_student(cfg: StudentConfig, training: TrainingConfig, *, workers: int, seed: int, address: str | None,
                log_path: Path | None) -> tuple[StudentPool, Callable[..., RoundStats]]:
    """The student pool and the remote LoRA round of a run with workers, on the cluster at `address` (or a local
    Ray). On a cluster with GPUs, hf replicas and the LoRA task take equal shares of one, sized so they all fit at
    once: a whole GPU each when there are more GPUs than replicas."""
    import ray

    owns = connect(address)
    total_gpus = ray.cluster_resources().get("GPU", 0)
    share = 1 / math.ceil((workers + 1) / total_gpus) if total_gpus else 0.0
    replica_gpus = share if cfg.backend == "hf" else 0.0  # an openai replica's GPUs are its server's
    pool = StudentPool(cfg, workers, seed, log_path=log_path, gpu_share=replica_gpus, owns_ray=owns)
    lora_gpus = 0.0 if training.device == "cpu" or not total_gpus else replica_gpus or 1.0
    return pool, RemoteLora(lora_gpus, pool.placed)


def ray_sandbox(cfg: SandboxConfig, address: str | None) -> SandboxPool:
    connect(address)  # the student pool, made first and closed last, owns a connection this process started
    return SandboxPool(cfg)
