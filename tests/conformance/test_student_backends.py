"""Every registered student backend answers a batch, in order, and names itself in attempts."""

from __future__ import annotations

import re
import socket

import pytest

from cosr.config import StudentConfig
from cosr.training.backends import BACKENDS, make_student
from cosr.training.backends.openai_compat import StudentUnavailable
from tests.support.openai_server import ScriptedOpenAIServer

PROMPTS = [f"What is {a} + {b}?" for a, b in [(1, 2), (3, 4), (5, 0), (2, 2), (9, 1)]]


def add(model: str, prompt: str) -> str:
    a, b = map(int, re.findall(r"\d+", prompt)[:2])
    return f" The answer is {a + b}."


@pytest.fixture(params=BACKENDS.names())
def backend(request, tiny_student):
    if request.param == "hf":
        yield make_student(StudentConfig(backend="hf", model=str(tiny_student), batch_size=2, max_new_tokens=4))
    elif request.param == "openai":
        with ScriptedOpenAIServer(add) as server:
            yield make_student(StudentConfig(backend="openai", base_url=server.base_url, model="student"))
    elif request.param == "human":  # a scripted person, as the terminal would answer
        from cosr.training.backends.human import HumanStudent

        yield HumanStudent(StudentConfig(backend="human"), ask=lambda payload: {"text": add("", payload["prompt"])})
    else:
        pytest.fail(f"no conformance set-up for backend {request.param!r}: add one here")


def test_answers_a_batch_in_order(backend):
    gens = backend.generate(PROMPTS, temperature=0.0, max_new_tokens=4)
    assert len(gens) == len(PROMPTS)
    assert all(isinstance(g.text, str) and g.duration_s >= 0 for g in gens)
    assert backend.id and backend.adapter_version is None
    if backend.id.startswith("openai"):
        assert [g.text for g in gens] == [add("", p) for p in PROMPTS]


def test_greedy_generation_is_deterministic(backend):
    a = backend.generate(PROMPTS, temperature=0.0, max_new_tokens=4)
    b = backend.generate(list(reversed(PROMPTS)), temperature=0.0, max_new_tokens=4)
    assert [g.text for g in a] == [g.text for g in reversed(b)]


def test_a_dead_endpoint_is_a_clear_error():
    with socket.socket() as s:  # a port with nobody listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    student = make_student(StudentConfig(backend="openai", base_url=f"http://127.0.0.1:{port}/v1", model="m",
                                         request_timeout_s=2, server_wait_s=0))  # no wait for it to come back
    with pytest.raises(StudentUnavailable, match=f"127.0.0.1:{port}"):
        student.generate(["What is 1 + 1?"], temperature=0.0, max_new_tokens=4)


def test_openai_backend_loads_an_adapter_and_routes_requests_to_it(tmp_path):
    with ScriptedOpenAIServer(lambda model, prompt: model) as server:
        student = make_student(StudentConfig(backend="openai", base_url=server.base_url, model="base"))
        student.load_adapter(tmp_path / "round-001", "round-001")
        assert server.adapters == {"round-001": str((tmp_path / "round-001").resolve())}
        assert [g.text for g in student.generate(["hi"], temperature=0.0, max_new_tokens=2)] == ["round-001"]
        assert student.adapter_version == "round-001"
