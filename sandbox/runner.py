"""The fork server that runs inside every sandbox container (and, for trusted code, on the host).

Why a fork server: starting a container costs about a second and starting Python tens of
milliseconds; forking a warm interpreter costs about one. The runner reads one JSON request a
line on its stdin, forks a child that runs the code and then each test in one namespace, reads
the child's stdout/stderr (capped) and per-test outcomes from pipes, enforces the wall-clock
limit, and answers one JSON line on its stdout.

After every execution it kills every other process it can see and empties its scratch space,
so nothing an execution leaves behind (a file, a daemon) reaches the next one. In "container"
mode it is PID 1 of a container: `kill(-1, SIGKILL)` then reaches every process in the
container's PID namespace and nothing outside it, and signals sent to it from inside the
container are ignored by the kernel. In "process" mode (the unsafe-process executor, trusted
code only) it kills the child's process group and orphans it adopted as a subreaper.

Stdlib only, no cosr import: it runs on the image's bare python3, which holds a read-only copy of this
file (sandbox/image.py), and on the host's for the unsafe-process executor.
Not covered here (see executor docstrings): code that deliberately forges the test report
written by the harness it runs inside.
"""

import builtins
import json
import os
import select
import shutil
import signal
import sys
import tempfile
import time

REPORT_LIMIT = 1 << 20  # bytes of per-test report kept; the rest is ignored
OOM_FILES = ("/sys/fs/cgroup/memory.events", "/sys/fs/cgroup/memory/memory.oom_control")


def _prctl(option, value):
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)
    except Exception:  # no ctypes or no prctl: the protection is best effort
        pass


def _oom_kills():
    for path in OOM_FILES:
        try:
            with open(path) as f:
                for line in f:
                    if line.startswith("oom_kill "):
                        return int(line.split()[1])
        except OSError:
            continue
    return None


def _describe(exc):
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return text[:2000]


def _harness(code, tests, report):
    """In the child: run the code, then each test, writing one JSON line per outcome to `report`."""

    def emit(obj):
        os.write(report, (json.dumps(obj) + "\n").encode())

    def flush():
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass

    ns = {"__name__": "__main__", "__builtins__": builtins}
    try:
        exec(compile(code, "<solution>", "exec"), ns)
    except SystemExit as e:
        if e.code not in (None, 0) or tests:
            flush()
            emit({"code": f"SystemExit: {e.code}"})
            os._exit(e.code if isinstance(e.code, int) and e.code else 1)
    except BaseException as e:
        flush()
        emit({"code": _describe(e)})
        os._exit(1)
    flush()
    emit({"code": None})
    for i, test in enumerate(tests):
        try:
            exec(compile(test, f"<test {i}>", "exec"), ns)
            error = None
        except BaseException as e:
            error = _describe(e)
        flush()
        emit({"test": i, "error": error})
    os._exit(0)


def _child(req, mode, scratch, keep, close):
    os.setsid()
    for target, fd in zip((0, 1, 2), keep[:3]):
        os.dup2(fd, target)
    for fd in close:
        os.close(fd)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_DFL)
    try:  # the child, never the runner, is what the OOM killer should take
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write("1000")
    except OSError:
        pass
    if mode == "process":
        import resource

        for name, value in req.get("rlimits", {}).items():
            resource.setrlimit(getattr(resource, name), (value, value))
    os.chdir(scratch)
    os.environ.update(HOME=scratch, TMPDIR=scratch)
    sys.argv = ["solution.py"]
    sys.stdin = open(0, encoding="utf-8", errors="replace", closefd=False)
    sys.stdout = open(1, "w", encoding="utf-8", errors="backslashreplace", closefd=False)
    sys.stderr = open(2, "w", encoding="utf-8", errors="backslashreplace", closefd=False)
    _harness(req["code"], req.get("tests", []), keep[3])


def _others():
    me = os.getpid()
    return [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) != me]


def _children():
    me, found = os.getpid(), []
    for p in os.listdir("/proc"):
        try:
            with open(f"/proc/{p}/stat") as f:
                if int(f.read().rsplit(")", 1)[1].split()[1]) == me:
                    found.append(int(p))
        except (OSError, ValueError, IndexError):
            continue
    return found


def _kill_all():
    try:
        os.kill(-1, signal.SIGKILL)  # as PID 1: every process in this container but me
    except ProcessLookupError:
        pass


def _reap(mode, pid, status, until):
    """Kill what is left of the execution; return (child status, stray count, all gone?)."""
    strays = 0
    if mode == "container":
        strays = len([p for p in _others() if p != pid])
        _kill_all()
    else:
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass
    while time.monotonic() < until:
        try:
            got, st = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if got == pid:
            status = st
        elif got == 0:
            if mode == "container":
                _kill_all()
            else:
                for child in _children():  # orphans that left the process group, adopted by us
                    strays += 1
                    try:
                        os.kill(child, signal.SIGKILL)
                    except OSError:
                        pass
            time.sleep(0.002)
    gone = mode != "container" or not _others()
    return status, strays, gone


def _wipe(mode, scratch):
    def unlock(func, path, _):
        os.chmod(os.path.dirname(path), 0o700)
        os.chmod(path, 0o700) if os.path.isdir(path) else None
        func(path)

    root = os.path.dirname(scratch)
    targets = [os.path.join(root, n) for n in os.listdir(root)] if mode == "container" else [scratch]
    for path in targets:
        try:
            if os.path.isdir(path) and not os.path.islink(path):
                os.chmod(path, 0o700)
                shutil.rmtree(path, onerror=unlock)
            else:
                os.unlink(path)
        except OSError:
            pass
    return not os.path.exists(scratch) and (mode != "container" or not os.listdir(root))


def execute(req, mode, scratch_root):
    timeout, limit = float(req["timeout_s"]), int(req["output_limit"])
    scratch = tempfile.mkdtemp(prefix="run-", dir=scratch_root)
    os.chmod(scratch, 0o700)
    in_r, in_w = os.pipe()
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    rep_r, rep_w = os.pipe()
    oom_before = _oom_kills()
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:
        try:
            close = [in_w, out_r, err_r, rep_r, in_r, out_w, err_w] + PROTOCOL_FDS
            _child(req, mode, scratch, (in_r, out_w, err_w, rep_w), close)
        finally:
            os._exit(70)
    for fd in (in_r, out_w, err_w, rep_w):
        os.close(fd)
    pending = req.get("stdin", "").encode()
    if not pending:
        os.close(in_w)
    else:
        os.set_blocking(in_w, False)
    bufs = {out_r: bytearray(), err_r: bytearray(), rep_r: bytearray()}
    caps = {out_r: limit, err_r: limit, rep_r: REPORT_LIMIT}
    truncated = False
    status = None
    pidfd = os.pidfd_open(pid) if hasattr(os, "pidfd_open") else None
    deadline = start + timeout

    def take(fd):
        nonlocal truncated
        try:
            data = os.read(fd, 1 << 16)
        except BlockingIOError:
            return True
        if not data:
            return False
        room = caps[fd] - len(bufs[fd])
        if len(data) > room:
            truncated = truncated or fd != rep_r
            data = data[: max(room, 0)]
        bufs[fd] += data
        return True

    open_fds = set(bufs)
    while status is None:
        got, st = os.waitpid(pid, os.WNOHANG)
        if got:
            status = st
            break
        left = deadline - time.monotonic()
        if left <= 0:
            break
        watch = list(open_fds) + ([pidfd] if pidfd is not None else [])
        writing = [in_w] if pending else []
        readable, writable, _ = select.select(watch, writing, [], left if pidfd is not None else min(left, 0.01))
        for fd in readable:
            if fd != pidfd and not take(fd):
                open_fds.discard(fd)
        if writable:
            try:
                pending = pending[os.write(in_w, pending[: 1 << 16]) :]
            except BlockingIOError:
                pass
            except BrokenPipeError:
                pending = b""
            if not pending:
                os.close(in_w)
    timed_out = status is None
    status, strays, gone = _reap(mode, pid, status, time.monotonic() + 2.0)
    duration = time.monotonic() - start
    for fd in open_fds:  # every writer is dead (container) or detached: read what is buffered
        os.set_blocking(fd, False)
        for _ in range(4096):
            if not take(fd):
                break
    for fd in [out_r, err_r, rep_r, pidfd] + ([in_w] if pending else []):
        if fd is not None:
            os.close(fd)
    clean = _wipe(mode, scratch) and gone
    code_error, tests = "missing", {}
    for line in bufs[rep_r].decode("utf-8", "replace").splitlines():
        try:
            item = json.loads(line)
        except ValueError:
            continue
        if "code" in item:
            code_error = item["code"]
        elif "test" in item:
            tests[str(item["test"])] = item["error"]
    exit_code = os.waitstatus_to_exitcode(status) if status is not None else None
    oom_after = _oom_kills()
    errors = [code_error or ""] + [e or "" for e in tests.values()]
    memory = (
        (oom_before is not None and oom_after is not None and oom_after > oom_before)
        or any(e.startswith("MemoryError") for e in errors)
        or (not timed_out and exit_code == -signal.SIGKILL and oom_after is None)
    )
    return {
        "exit_code": exit_code,
        "stdout": bufs[out_r].decode("utf-8", "replace"),
        "stderr": bufs[err_r].decode("utf-8", "replace"),
        "timed_out": timed_out,
        "memory_exceeded": bool(memory),
        "output_truncated": truncated,
        "duration_s": round(duration, 6),
        "code_error": code_error,
        "tests": tests,
        "strays": strays,
        "clean": clean,
    }


PROTOCOL_FDS = []


def serve(mode):
    """Answer requests until stdin closes. Protocol fds move off 0/1 so no child inherits them."""
    proto_in, proto_out = os.dup(0), os.dup(1)
    PROTOCOL_FDS[:] = [proto_in, proto_out]
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.close(null)
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # as PID 1 the default is: ignored
    _prctl(4, 0)  # PR_SET_DUMPABLE 0: same-uid children cannot ptrace or read the runner
    if mode == "process":
        _prctl(36, 1)  # PR_SET_CHILD_SUBREAPER: orphans of an execution come back to us
    scratch_root = "/tmp" if mode == "container" else tempfile.mkdtemp(prefix="cosr-unsafe-")
    reader = os.fdopen(proto_in, "rb")

    def answer(obj):
        data = (json.dumps(obj) + "\n").encode()
        while data:
            data = data[os.write(proto_out, data) :]

    answer({"ready": True, "pid": os.getpid(), "python": sys.version.split()[0]})
    try:
        for line in reader:
            if line.strip():
                answer(execute(json.loads(line), mode, scratch_root))
    finally:
        if mode == "process":
            shutil.rmtree(scratch_root, ignore_errors=True)


if __name__ == "__main__":
    serve("container" if "--container" in sys.argv else "process")
