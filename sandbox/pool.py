"""A pool of warm runner workers shared by both executors: borrow, run, return or replace.

One worker runs one execution at a time, so the pool size is the concurrency. A worker that hit
a limit, left strays behind, died or hung is killed and a fresh one is started in a background
thread; the caller gets its verdict at once and never waits for the replacement unless every
worker is busy.
"""

from __future__ import annotations

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


class Worker(Protocol):
    def call(self, line: bytes, deadline: float) -> dict[str, Any]: ...

    def kill(self) -> None: ...


class _Broken:
    def __init__(self, error: Exception) -> None:
        self.error = error


class WorkerPool:
    """`size` warm workers made by `start`; an Executor once given a `name`."""

    def __init__(
        self,
        name: str,
        start: Callable[[], Worker],
        cfg: SandboxConfig,
        rlimits: dict[str, int] | None = None,
        owner: str | None = None,
    ) -> None:
        self.name = name
        self.owner = owner  # the docker label value that marks this pool's containers
        self.cfg = cfg
        self.size = cfg.pool_size
        self.replaced = 0
        self._start = start
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
        t = threading.Thread(target=self._replace, args=(worker,), daemon=True)
        self._threads.append(t)
        t.start()

    def _replace(self, old: Worker) -> None:
        old.kill()
        error: Exception = RuntimeError("closed")
        for attempt in range(3):
            if self._closed:
                return
            try:
                new = self._start()
            except Exception as e:  # engine trouble: retry, then tell every waiter
                error = e
                time.sleep(0.5 * (attempt + 1))
                continue
            if self._closed:
                new.kill()
                return
            self._adopt(new)
            return
        self._idle.put(_Broken(error))

    def _borrow(self) -> Worker:
        if self._closed:
            raise SandboxUnavailable(f"{self.name} executor is closed")
        got = self._idle.get(timeout=self.cfg.startup_timeout_s + self.cfg.timeout_s * 4)
        if isinstance(got, _Broken):
            self._idle.put(got)
            raise SandboxUnavailable(f"{self.name}: cannot start a replacement worker: {got.error}")
        return got

    def run(self, request: ExecutionRequest) -> ExecutionResult:
        worker = self._borrow()
        limit = request.timeout_s or self.cfg.timeout_s
        start = time.monotonic()
        try:
            raw = worker.call(payload(request, self.cfg, self._rlimits), start + limit + GRACE_S)
        except WorkerTimeout:
            self._retire(worker)
            return infrastructure_failure(request, "timeout", f"timed out after {limit:.3g}s (runner unresponsive, replaced)", time.monotonic() - start)
        except WorkerDied as e:
            self._retire(worker)
            return infrastructure_failure(request, "error", f"the sandbox worker died ({e}); replaced", time.monotonic() - start)
        if hit_limit_or_misbehaved(raw):
            self._retire(worker)
        else:
            self._idle.put(worker)
        return to_result(request, raw)

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
