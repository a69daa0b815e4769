"""Running untrusted code: the executor interface, the hardened Docker pool, the offline image."""

from cosr.sandbox.executors import EXECUTORS, make_executor
from cosr.sandbox.types import ExecutionRequest, ExecutionResult, Executor, SandboxUnavailable, TestResult

__all__ = [
    "EXECUTORS",
    "ExecutionRequest",
    "ExecutionResult",
    "Executor",
    "SandboxUnavailable",
    "TestResult",
    "make_executor",
]
