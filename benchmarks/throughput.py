"""Self-play throughput on this machine, in one process and on Ray workers: tasks/s through the whole loop,
code verifications/s through the docker sandboxes, and the controller's own cost per step, the part no worker
takes over, so a reader can see where a larger cluster stops paying.

    python benchmarks/throughput.py [--steps 6] [--verifications 96] [--json]

The Ray figures come from a cluster of two nodes on this machine (`ray.cluster_utils.Cluster`, one CPU each, as
the tests use): one node first, for one sandbox, then both. Self-play runs the embedded student on the built-in
skill graph with the default batch (128 tasks x 4 samples), no LoRA round, `--steps` steps after the baseline
evaluation; a step's time is split by node from the run's own events (graphs/session.py): the student node is
generation, the verifier node verification (math in the controller, code in the sandboxes), and the rest, the
diagnostician, curator, answer adapter, teacher, record and each step's checkpoint, is the controller's.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path

CONTROLLER_NODES = ("diagnostician", "curator", "answer_adapter", "teacher", "record")


def _config(run_dir: Path, steps: int, workers: int, address: str | None):
    from cosr.config import load_config

    return load_config(None, {
        "run_dir": run_dir, "run_id": run_dir.name, "seed": 0, "rounds": 1, "max_steps": steps, "workers": workers,
        "ray_address": address, "training.max_tasks_per_round": 10**6, "training.every_verified": 10**6,
        "eval.per_skill": 6, "sandbox.pool_size": 2,
    })


def selfplay(steps: int, workers: int, address: str | None) -> dict:
    """One short run, timed step by step from its events: each node's time, the time between a node's end and the
    next one's start (the checkpoint), and the step's whole. Medians over the steps, so that a step slowed by
    something else on the machine does not move the figures."""
    from cosr.graphs.session import SelfPlayRun
    from cosr.training.results import NodeEvent, NodeStarted

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        run = SelfPlayRun(_config(Path(tmp) / f"w{workers}", steps, workers, address), log=lambda m: None)
        start_s = time.perf_counter() - t0
        done: list[dict[str, float]] = []  # a step's seconds by node
        step: dict[str, float] = defaultdict(float)
        began: dict[str, float] = {}
        step_start = last_end = None
        with run:
            for ev in run.events():
                now = time.perf_counter()
                if isinstance(ev, NodeStarted) and ev.node != "evaluate":
                    if last_end is not None:  # between a node's end and the next one's start: the checkpoint
                        step["checkpoint"] += now - last_end
                    if ev.node == "diagnostician":  # a new step
                        if step_start is not None:
                            done.append({**step, "step": now - step_start})
                        step, step_start = defaultdict(float), now
                    began[ev.node] = now
                elif isinstance(ev, NodeEvent) and ev.node in began:
                    step[ev.node] += now - began.pop(ev.node)
                    last_end = now
                    step["tasks"] += len(ev.update.get("batch") or []) if ev.node == "curator" else 0
        done.append({**step, "step": last_end - step_start})  # the last: its checkpoint is not seen
    ms = {k: round(statistics.median(d.get(k, 0.0) for d in done) * 1000, 1)
          for k in sorted({k for d in done for k in d} - {"tasks", "step"})}
    tasks = statistics.median(d["tasks"] for d in done)
    return {"workers": workers, "ray": address is not None, "start_s": round(start_s, 1), "steps": len(done),
            "tasks_per_s": round(tasks / statistics.median(d["step"] for d in done), 1), "ms_per_step": ms,
            "controller_ms_per_step": round(sum(v for k, v in ms.items() if k in (*CONTROLLER_NODES, "checkpoint")), 1)}


def verifications(n: int, executor) -> float:
    """Code verifications a second: `n` distinct code tasks answered with their references, in one batch."""
    from cosr.agents.verifiers import verify_batch
    from cosr.domain import Domain
    from cosr.graphs.skills import SkillGraph

    skills, rng = SkillGraph.builtin(), random.Random(0)
    code = [s.name for s in skills.skills() if s.domain == Domain.CODE]
    tasks = [skills.make_task(code[i % len(code)], 1 + i % 3, rng.randrange(2**31)) for i in range(n)]
    verify_batch(tasks[:4], [t.reference for t in tasks[:4]], executor)  # warm: the containers are up
    t0 = time.perf_counter()
    verdicts = verify_batch(tasks, [t.reference for t in tasks], executor)
    seconds = time.perf_counter() - t0
    assert all(v.correct for v in verdicts), [v.details for v in verdicts if not v.correct][:3]
    return round(n / seconds, 1)


def main() -> None:
    import ray
    from ray.cluster_utils import Cluster

    from cosr.config import SandboxConfig
    from cosr.graphs.workers import SandboxPool
    from cosr.sandbox import make_executor

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=6, help="self-play steps a configuration (128 tasks each)")
    p.add_argument("--verifications", type=int, default=96, help="code answers a sandbox configuration checks")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    sandbox = SandboxConfig(pool_size=2)
    figures: dict = {"cores": len(os.sched_getaffinity(0)), "verifications_per_s": {}}
    with make_executor(sandbox) as local:
        figures["verifications_per_s"]["in this process (docker pool of 2)"] = verifications(args.verifications, local)
    selfplay(2, 1, None)  # warm: this process's first run pays for imports and caches the later ones reuse
    figures["selfplay"] = [selfplay(args.steps, 1, None)]  # before the cluster's daemons share the cores
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    try:
        for nodes in (1, 2):
            if nodes == 2:
                cluster.add_node(num_cpus=1)
                cluster.wait_for_nodes()
            ray.init(cluster.address, include_dashboard=False, log_to_driver=False)
            pool = SandboxPool(sandbox)
            try:
                label = f"ray, {len(pool.sandboxes)} sandbox actor(s) of 2 containers"
                figures["verifications_per_s"][label] = verifications(args.verifications, pool)
            finally:
                pool.close()
                ray.shutdown()
        figures["selfplay"] += [selfplay(args.steps, 1, cluster.address), selfplay(args.steps, 2, cluster.address)]
    finally:
        cluster.shutdown()
    figures["command"] = "python benchmarks/throughput.py" + (f" --steps {args.steps}" if args.steps != 6 else "")
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    print(f"on {figures['cores']} cores; code verifications/s (distinct tasks, reference answers):")
    for label, rate in figures["verifications_per_s"].items():
        print(f"  {label:<44} {rate}")
    print(f"self-play, embedded student, {args.steps} steps of 128 tasks x 4 samples (medians; ms a step by node):")
    for r in figures["selfplay"]:
        where = f"ray, {r['workers']} replica(s)" if r["ray"] else "in this process"
        print(f"  {where:<20} {r['tasks_per_s']:>6} tasks/s  controller {r['controller_ms_per_step']} ms/step  "
              f"start {r['start_s']} s  {r['ms_per_step']}")
    best = figures["selfplay"][-1]
    ctrl, verify = best["controller_ms_per_step"], best["ms_per_step"].get("verifier", 0)
    gen = best["ms_per_step"].get("student", 0)
    print(f"a step with {best['workers']} workers: {gen:.0f} ms generating on the replicas, {verify:.0f} ms verifying "
          f"(math in the controller, code in the sandboxes) and {ctrl:.0f} ms in the rest of the controller. If "
          "generation shrinks with the workers and the rest stays, tasks/s at N workers:")
    tasks = 128 * 1000  # a step's tasks, per ms
    print("  " + "  ".join(f"{n}: {tasks / (ctrl + verify + gen * best['workers'] / n):.1f}" for n in (2, 4, 8, 16, 64))
          + f"  (never above {tasks / (ctrl + verify):.1f})")
    print(figures["command"])


if __name__ == "__main__":
    main()
