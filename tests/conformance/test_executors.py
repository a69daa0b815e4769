"""Every registered sandbox executor meets one spec: it runs a program and reports its output, runs the tests in
the program's namespace with an outcome each, and turns an exception, a nonzero exit, a timeout, a memory hog
and a flood of output into their statuses, each followed by a working next run; a batch comes back in order.

The docker executor runs against the real engine (marked docker). What only a hardened container withstands
(fork bombs, the network, the filesystem) is test_sandbox_hostile.py's; the pool's own behaviour, isolation
between executions and the CLI are test_sandbox_pool.py's.
"""

from __future__ import annotations

import pytest

from cosr.config import SandboxConfig
from cosr.sandbox import EXECUTORS, ExecutionRequest, make_executor
from cosr.sandbox.unsafe import UnsafeProcessWarning

MARKS = {"docker": [pytest.mark.docker]}


@pytest.fixture(scope="module", params=[pytest.param(n, marks=MARKS.get(n, [])) for n in EXECUTORS.names()])
def executor(request):
    if request.param == "docker":  # the session's real pool (conftest.py): no engine is a failure, not a skip
        yield request.getfixturevalue("sandbox_executor")
    elif request.param == "unsafe-process":
        with pytest.warns(UnsafeProcessWarning, match="trusted code only"):
            ex = make_executor(SandboxConfig(executor="unsafe-process"))
        yield ex
        ex.close()
    else:
        pytest.fail(f"no conformance set-up for executor {request.param!r}: add one here")


def run(executor, code: str, **kw):
    return executor.run(ExecutionRequest(code=code, **kw))


def test_runs_a_program_and_reports_its_output(executor):
    r = run(executor, "import sys\nprint('to stdout')\nprint('to stderr', file=sys.stderr)")
    assert (r.status, r.exit_code, r.stdout, r.stderr, r.error) == ("ok", 0, "to stdout\n", "to stderr\n", "")
    assert r.passed and 0 < r.duration_s < 5


def test_stdin_and_tests_in_the_programs_namespace(executor):
    r = run(executor, "s = input()\nprint(s.upper())", stdin="hi\n",
            tests=("assert s == 'hi'", "assert s == 'ho', 'wrong s'", "assert undefined", "assert s.upper() == 'HI'"))
    assert r.status == "failed" and not r.passed and r.stdout == "HI\n"
    assert [t.passed for t in r.tests] == [True, False, False, True]  # a failing test stops none after it
    assert r.tests[1].error == "AssertionError: wrong s" and r.tests[2].error.startswith("NameError")


def test_an_exception_fails_the_program_and_every_test(executor):
    r = run(executor, "1 / 0", tests=("assert True", "assert True"))
    assert r.status == "failed" and r.error == "ZeroDivisionError: division by zero"
    assert [t.error for t in r.tests] == ["not run: ZeroDivisionError: division by zero"] * 2


def test_a_nonzero_exit_is_an_error_with_its_code(executor):
    r = run(executor, "import sys\nprint('before')\nsys.exit(3)")
    assert (r.status, r.exit_code, r.error, r.stdout) == ("failed", 3, "SystemExit: 3", "before\n")
    assert run(executor, "import sys; sys.exit(0)").status == "ok"


def test_a_timeout_is_a_timeout_and_the_next_run_works(executor):
    r = run(executor, "while True:\n    pass", timeout_s=0.5, tests=("assert True",))
    assert r.status == "timeout" and r.timed_out and not r.passed and 0.5 <= r.duration_s < 2.0
    assert r.tests[0].error.startswith("not run")
    assert run(executor, "print(1)").stdout == "1\n"


def test_a_memory_hog_is_memory_exceeded_and_the_next_run_works(executor):
    r = run(executor, "x = bytearray(4 << 30)\nprint('allocated 4 GiB')")
    assert (r.status, r.memory_exceeded, r.error) == ("memory", True, "memory limit exceeded"), r
    assert "allocated" not in r.stdout
    assert run(executor, "print(2)").stdout == "2\n"


def test_output_past_the_cap_is_cut_and_flagged(executor):
    r = run(executor, "print('y' * 1_000_000)")
    assert r.output_truncated and len(r.stdout.encode()) == executor.cfg.output_limit_bytes
    assert run(executor, "print(3)").stdout == "3\n"


def test_a_batch_comes_back_in_order(executor):
    requests = [ExecutionRequest(code=f"print(input()[::-1], {i})", stdin=f"abc{i}\n") for i in range(10)]
    results = executor.run_many(requests)
    assert [r.stdout for r in results] == [f"{i}cba {i}\n" for i in range(10)]
