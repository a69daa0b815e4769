"""The small self-play run the resume and fault tests start as a real `cosr selfplay`, written as a TOML file."""

from __future__ import annotations

from collections import Counter
from pathlib import Path


def write_run_toml(cfg, path: Path, *, rounds: int = 3, top: str = "") -> None:
    """`cfg` (the tiny_run_config fixture) as a TOML file: a few steps a round; `top`: more top-level settings."""
    s = cfg.student
    path.write_text(f"""{top}
seed = {cfg.seed}
rounds = {rounds}
skills = "{cfg.skills}"
[student]
model = "{s.model}"
max_new_tokens = {s.max_new_tokens}
batch_size = {s.batch_size}
[curator]
batch_size = {cfg.curator.batch_size}
[training]
every_verified = 6
max_tasks_per_round = 24
epochs = 1
batch_size = 8
[eval]
per_skill = 4
levels = [1, 2]
""")


def assert_whole(rows: list[tuple], summary: dict, batch: int) -> None:
    """The resume tests' count of a run's store, `rows` as (step, round, correct, task id, raw output): every
    step holds exactly one whole batch (none lost, none twice), and what each round counted as verified is
    exactly what the store holds for it (each step's distinct correct outputs)."""
    per_step = Counter(row[0] for row in rows)
    assert sorted(per_step) == list(range(1, summary["steps"] + 1))
    assert set(per_step.values()) == {batch}
    verified = Counter(rnd for _, rnd, *_ in {(step, rnd, task, out) for step, rnd, correct, task, out in rows if correct})
    for rnd, info in summary["rounds"].items():
        assert info["verified"] == verified[int(rnd)]
    assert summary["verified_trajectories"] == sum(correct for _, _, correct, _, _ in rows)


def two_nodes():
    """A Ray cluster of a head and a worker node on this machine, one CPU each: (cluster, worker node)."""
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    worker = cluster.add_node(num_cpus=1)
    try:
        yield cluster, worker
    finally:
        cluster.shutdown()
