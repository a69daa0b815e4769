"""Where tensors live and how many CPU threads torch uses."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from cosr.training.device import CPU_THREADS

THREADS = "from cosr.training.device import pick_device; import torch; pick_device('cpu'); print(torch.get_num_threads())"


def _threads(cores: set[int], threads: str | None = None) -> int:
    code = f"import os; os.sched_setaffinity(0, {cores!r}); {THREADS}"
    env = {k: v for k, v in os.environ.items() if k != CPU_THREADS} | ({CPU_THREADS: threads} if threads else {})
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120, check=True)
    return int(done.stdout.split()[-1])


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two cores to tell one thread from one per core")
def test_cpu_threads_follow_the_cores_unless_the_process_shares_them():
    cores = set(sorted(os.sched_getaffinity(0))[:2])
    assert _threads(cores) == 2
    assert _threads(set(sorted(cores)[:1])) == 1
    assert _threads(cores, threads="1") == 1  # a compare worker sharing the cores with others


def test_a_thread_count_that_is_not_a_number_is_named_in_the_error():
    code = f"import os; os.environ[{CPU_THREADS!r}] = 'two'; {THREADS}"
    done = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and f"{CPU_THREADS}='two': expected a whole number" in done.stderr
