"""A pool of warm runner workers shared by both executors: borrow, run, return or replace.

One worker runs one execution at a time, so the pool size is the concurrency. A worker that hit
a limit, left strays behind, died or hung is killed and a fresh one is started in a background
thread; the caller gets its verdict at once and never waits for the replacement unless every
worker is busy.

The pool heals. A worker that died or stopped answering is the sandbox's failure, not the code's: its
execution runs again on another worker (a fresh one once the engine is back), so a restarted engine
costs time, never a verdict. Replacements are retried with backoff for `sandbox.engine_wait_s`; past
that the pool raises SandboxUnavailable, which stops the run with one line (cosr/faults.py) rather
than recording the student's answers as wrong. Only code that kills fresh workers over and over while
the engine answers gets an "error" verdict for it.
"""

from __future__ import annotations

import itertools
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol, Self

from cosr.config import SandboxConfig
from cosr.sandbox.protocol import (
    WorkerDied,
    WorkerTimeout,
    hit_limit_or_misbehaved,
    infrastructure_failure,
    payload,
    to_result,
)
from cosr.sandbox.types import ExecutionRequest, ExecutionResult, SandboxUnavailable

GRACE_S = 3.0  # beyond the execution limit: the runner's cleanup, plus scheduling on a busy host
BACKOFF_S = (0.5, 1.0, 2.0, 4.0)  # between tries to start a replacement; the last repeats until engine_wait_s


class Worker(Protocol):
    def call(self, line: bytes, deadline: float) -> dict[str, Any]: ...

    def kill(self) -> None: ...


class _Broken:
    def __init__(self, error: Exception, waited: float) -> None:
        self.error = error
        self.waited = waited


def first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0][:200]}" if lines else type(error).__name__


class WorkerPool:
    """`size` warm workers made by `start`; an Executor once given a `name`."""

    def __init__(
        self,
        name: str,
        start: Callable[[], Worker],
        cfg: SandboxConfig,
        rlimits: dict[str, int] | None = None,
        owner: str | None = None,
        engine_up: Callable[[], bool] = lambda: True,
        down_fix: str = "",
    ) -> None:
        self.name = name
        self.owner = owner  # the docker label value that marks this pool's containers
        self.cfg = cfg
        self.size = cfg.pool_size
        self.replaced = 0
        self.retried = 0  # executions run again because their worker, not their code, failed
        self._start = start
        self._engine_up = engine_up
        self._down_fix = down_fix  # how to bring the engine back, for the line that stops the run
        self._rlimits = rlimits
        self._idle: queue.Queue[Worker | _Broken] = queue.Queue()
        self._all: set[Worker] = set()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._closed = False
        with ThreadPoolExecutor(self.size) as ex:
            futures = [ex.submit(start) for _ in range(self.size)]
        errors = [f.exception() for f in futures if f.exception() is not None]
        for f in futures:
            if f.exception() is None:
                self._adopt(f.result())
        if errors:
            self.close()
            err = errors[0]
            raise err if isinstance(err, SandboxUnavailable) else SandboxUnavailable(f"{name}: {err}") from err

    def _adopt(self, worker: Worker) -> None:
        with self._lock:
            self._all.add(worker)
        self._idle.put(worker)

    def _retire(self, worker: Worker) -> None:
        with self._lock:
            self._all.discard(worker)
            self.replaced += 1
        self._spawn(worker)

    def _spawn(self, old: Worker | None) -> None:
        t = threading.Thread(target=self._replace, args=(old,), daemon=True)
        self._threads.append(t)
        t.start()

    def _replace(self, old: Worker | None) -> None:
        """Kill `old` and start its successor, retrying while the engine is away; never raises (a thread)."""
        try:
            if old is not None:
                old.kill()
        except Exception:  # noqa: BLE001, S110 - the engine that held it is gone: so is the worker
            pass
        since = time.monotonic()
        for attempt in itertools.count():
            if self._closed:
                return
            try:
                new = self._start()
            except Exception as e:  # noqa: BLE001 - engine trouble: back off and retry until engine_wait_s, then tell every waiter
                waited = time.monotonic() - since
                if waited >= self.cfg.engine_wait_s:
                    self._idle.put(_Broken(e, waited))
                    return
                time.sleep(min(BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)], self.cfg.engine_wait_s - waited))
                continue
            if self._closed:
                new.kill()
                return
            self._adopt(new)
            return

    def _borrow(self) -> Worker:
        if self._closed:
            raise SandboxUnavailable(f"{self.name} executor is closed")
        wait = self.cfg.engine_wait_s + self.cfg.startup_timeout_s + self.cfg.timeout_s * 4
        deadline = time.monotonic() + wait
        while True:
            try:
                got = self._idle.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                raise SandboxUnavailable(f"no {self.name} sandbox worker became free in {wait:.0f} s; "
                                         f"{self._down_fix or 'check the host'}") from None
            if not isinstance(got, _Broken):
                return got
            if self._engine_up():  # back after the pool gave up on it (a long-lived pool): refill that place
                self._spawn(None)
                continue
            self._idle.put(got)  # every other waiter learns it too
            raise SandboxUnavailable(f"the {self.name} sandbox engine did not come back within {got.waited:.0f} s "
                                     f"(sandbox.engine_wait_s): {first_line(got.error)}; {self._down_fix}".rstrip("; "))

    def run(self, request: ExecutionRequest) -> ExecutionResult:
        """One execution; a worker that dies or hangs under it is replaced and the execution runs again."""
        limit = request.timeout_s or self.cfg.timeout_s
        start = time.monotonic()
        for attempt in range(self.size + 2):  # enough to get past every stale worker of a restarted engine
            if attempt:
                with self._lock:
                    self.retried += 1
            worker = self._borrow()
            try:
                raw = worker.call(payload(request, self.cfg, self._rlimits), time.monotonic() + limit + GRACE_S)
            except (WorkerTimeout, WorkerDied) as e:
                self._retire(worker)
                failure = e
                continue
            if hit_limit_or_misbehaved(raw):
                self._retire(worker)
            else:
                self._idle.put(worker)
            return to_result(request, raw)
        if not self._engine_up():  # the engine went away under it: stop, do not blame the code
            raise SandboxUnavailable(f"the {self.name} sandbox engine stopped answering; {self._down_fix}".rstrip("; "))
        # Fresh workers kept failing under this code with the engine up: the code's doing (verdict "error")
        kind = "timeout" if isinstance(failure, WorkerTimeout) else "error"
        return infrastructure_failure(request, kind, f"{self.size + 2} sandbox workers in turn died or hung running "
                                      f"this code ({first_line(failure)})", time.monotonic() - start)

    def run_many(self, requests: Sequence[ExecutionRequest]) -> list[ExecutionResult]:
        if len(requests) <= 1:
            return [self.run(r) for r in requests]
        with ThreadPoolExecutor(min(self.size, len(requests))) as ex:
            return list(ex.map(self.run, requests))

    def close(self) -> None:
        self._closed = True
        with self._lock:
            workers, self._all = list(self._all), set()
        for w in workers:
            w.kill()
        for t in self._threads:
            t.join(timeout=30)
        with self._lock:  # a replacement that finished starting while we were closing
            late, self._all = list(self._all), set()
        for w in late:
            w.kill()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
