"""`langgraph dev` serves the self-play graph from langgraph.json, and the official langgraph-sdk
client creates a thread and runs a few steps against it (a tiny student, a math-only graph)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    exe = shutil.which("langgraph") or pytest.fail("langgraph-cli is missing: pip install -e '.[dev]'", pytrace=False)
    port = free_port()
    log = open(tmp_path / "server.log", "w")
    proc = subprocess.Popen([exe, "dev", "--no-reload", "--no-browser", "--allow-blocking", "--port", str(port),
                             "--config", str(ROOT / "langgraph.json")], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                            env={**os.environ, "LANGSMITH_TRACING": "false", "LANGGRAPH_NO_ANALYTICS": "1"})
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while time.time() < deadline:
        if proc.poll() is not None:
            pytest.fail("langgraph dev exited:\n" + (tmp_path / "server.log").read_text()[-3000:])
        try:
            if httpx.get(url + "/ok", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.5)
    else:
        pytest.fail("langgraph dev did not come up:\n" + (tmp_path / "server.log").read_text()[-3000:])
    yield url
    proc.terminate()
    proc.wait(20)
    log.close()


def test_sdk_runs_a_few_self_play_steps(server, tmp_path, tiny_student, math_graph_file):
    from langgraph_sdk import get_sync_client

    from cosr.config import StudentConfig
    from cosr.store import TrajectoryStore

    client = get_sync_client(url=server)
    assert [a["graph_id"] for a in client.assistants.search()] == ["selfplay"]
    thread = client.threads.create()
    context = {"run_dir": str(tmp_path / "run"), "overrides": {
        "run_id": "served", "student.model": str(tiny_student), "skills": str(math_graph_file), "max_steps": 2,
        "curator.batch_size": 4, "training.every_verified": 1000, "eval.per_skill": 2, "student.max_new_tokens": 4}}
    result = client.runs.wait(thread["thread_id"], "selfplay", input={"step": 0, "round": 1}, context=context)
    assert "__error__" not in result, result
    state = client.threads.get_state(thread["thread_id"])
    assert state["values"]["step"] == 2 and state["next"] == []
    assert set(state["values"]["evaluations"]["0"]) == {"addition", "subtraction", "chain_sum"}
    store = TrajectoryStore(tmp_path / "run" / "store.sqlite")
    # two steps of four tasks, each sampled samples_per_task times, recorded by the served graph
    assert store.tasks("served") == 8 and store.count("served") == 8 * StudentConfig().samples_per_task
    store.close()
