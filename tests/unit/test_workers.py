"""How self-play's work is cut among Ray workers (graphs/workers.py), without a cluster: batches in contiguous
shares in order, a seed per replica and call, and the one-process path as the default."""

from __future__ import annotations

import itertools

import pytest

from cosr.config import ConfigError, load_config
from cosr.graphs.collaborators import uses_ray
from cosr.graphs.workers import replica_seed, shares


@pytest.mark.parametrize("n, parts", [(0, 2), (1, 2), (7, 2), (512, 3), (5, 8)])
def test_a_batch_is_cut_in_order_into_shares_that_differ_by_one_at_most(n, parts):
    cut = shares(n, parts)
    assert len(cut) == parts and cut[0][0] == 0 and cut[-1][1] == n
    assert all(a == b for (_, a), (b, _) in itertools.pairwise(cut))  # contiguous, in order
    assert max(b - a for a, b in cut) - min(b - a for a, b in cut) <= 1


def test_each_replica_and_call_has_its_own_seed_the_same_every_time():
    seeds = {(call, replica): replica_seed(3, call, replica) for call in range(1, 50) for replica in range(4)}
    assert len(set(seeds.values())) == len(seeds)
    assert seeds == {(call, replica): replica_seed(3, call, replica) for call in range(1, 50) for replica in range(4)}
    assert replica_seed(4, 1, 0) != seeds[(1, 0)]


def test_one_worker_and_no_cluster_is_one_process():
    assert not uses_ray(load_config())
    assert uses_ray(load_config(None, {"workers": 2}))
    assert uses_ray(load_config(None, {"ray_address": "auto"}))  # one replica, on the cluster
    with pytest.raises(ConfigError, match="workers"):
        load_config(None, {"workers": 0})
