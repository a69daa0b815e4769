"""`cosr sandbox bench`: isolated executions per second, pooled sandbox vs a bare `python3 -c`, same run.

Two workloads (a trivial program; a function with a small test suite) at concurrency 1 and 2,
each measured for a fixed time slice on both sides, so the whole bench stays well under two
minutes. The ratio is sandbox/bare: above 1 means an isolated execution in the pool costs less
than merely starting an unisolated interpreter.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from pydantic import BaseModel

from cosr.config import SandboxConfig
from cosr.sandbox.executors import make_executor
from cosr.sandbox.types import ExecutionRequest, Executor

SUITE_CODE = '''
def fib(n):
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a
'''
SUITE_TESTS = tuple(f"assert fib({n}) == {v}" for n, v in [(0, 0), (1, 1), (2, 1), (10, 55), (20, 6765), (30, 832040)])
WORKLOADS = {
    "trivial": ExecutionRequest(code="x = 1"),
    "test-suite": ExecutionRequest(code=SUITE_CODE, tests=SUITE_TESTS),
}


class BenchRow(BaseModel):
    workload: str
    concurrency: int
    sandbox_per_s: float
    bare_per_s: float
    ratio: float
    sandbox_runs: int
    bare_runs: int


class BenchReport(BaseModel):
    executor: str
    image: str
    cpus_on_host: int
    bare_python: str
    seconds_per_cell: float
    rows: list[BenchRow]

    @property
    def meets_floor(self) -> bool:
        return all(r.ratio >= 1.0 for r in self.rows)


def _rate(one: Callable[[], None], concurrency: int, seconds: float) -> tuple[float, int]:
    def loop() -> int:
        n, end = 0, time.monotonic() + seconds
        while time.monotonic() < end:
            one()
            n += 1
        return n

    start = time.monotonic()
    with ThreadPoolExecutor(concurrency) as ex:
        total = sum(ex.map(lambda _: loop(), range(concurrency)))
    return total / (time.monotonic() - start), total


def _sandbox_call(executor: Executor, req: ExecutionRequest) -> Callable[[], None]:
    def one() -> None:
        result = executor.run(req)
        if not result.passed:
            raise RuntimeError(f"bench workload failed in the sandbox: {result.error}")

    return one


def bare_python() -> str:
    """The plainest interpreter here: the distribution's python3 (a pyenv shim or a venv adds startup)."""
    for candidate in ("/usr/bin/python3", shutil.which("python3"), sys.executable):
        if candidate and os.access(candidate, os.X_OK) and "shims" not in candidate:
            return candidate
    return sys.executable


def _bare_call(req: ExecutionRequest) -> Callable[[], None]:
    python = bare_python()
    source = "\n".join([req.code, *req.tests])

    def one() -> None:
        subprocess.run([python, "-c", source], check=True, stdout=subprocess.DEVNULL)

    return one


def run_bench(cfg: SandboxConfig, seconds_per_cell: float = 2.5, log: Callable[[str], None] = lambda _: None) -> BenchReport:
    cfg = cfg.model_copy(update={"pool_size": max(2, cfg.pool_size)})
    rows = []
    executor = make_executor(cfg)
    try:
        for req in WORKLOADS.values():  # warm up both sides
            _sandbox_call(executor, req)()
            _bare_call(req)()
        for name, req in WORKLOADS.items():
            for concurrency in (1, 2):
                log(f"{name} at concurrency {concurrency} ...")
                s_rate, s_n = _rate(_sandbox_call(executor, req), concurrency, seconds_per_cell)
                b_rate, b_n = _rate(_bare_call(req), concurrency, seconds_per_cell)
                rows.append(
                    BenchRow(
                        workload=name,
                        concurrency=concurrency,
                        sandbox_per_s=round(s_rate, 1),
                        bare_per_s=round(b_rate, 1),
                        ratio=round(s_rate / b_rate, 2),
                        sandbox_runs=s_n,
                        bare_runs=b_n,
                    )
                )
    finally:
        executor.close()
    return BenchReport(
        executor=cfg.executor,
        image=cfg.image,
        cpus_on_host=os.cpu_count() or 0,
        bare_python=bare_python(),
        seconds_per_cell=seconds_per_cell,
        rows=rows,
    )
