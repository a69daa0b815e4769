"""The production serving path for real: vLLM's CPU build serves the embedded student, LoRA adapters
trained by train_lora are loaded at run time through OpenAIStudent, and the adapter probe catches a
server that does not serve what was trained. One server for the module (start-up ~40 s)."""

from __future__ import annotations

import random
from pathlib import Path

import httpx
import pytest

from cosr.config import StudentConfig, TrainingConfig
from cosr.training.adapter_probe import TOLERANCE_FLOOR, StaleAdapter, probe_adapter
from cosr.training.backends.hf import HFStudent
from cosr.training.backends.openai_compat import OpenAIStudent
from cosr.training.data import Example
from cosr.training.serving import VLLMServer, VLLMUnavailable

pytestmark = pytest.mark.vllm
PROMPTS = ["What is 2 + 3?", "What is 7 + 1?", "What is 4 + 4?"]
TOL = 0.02  # nats/token, the bound on the fitted tolerance; a float32 server matches transformers to ~1e-6


@pytest.fixture(scope="module")
def student_dir() -> Path:
    from cosr.graphs.collaborators import ensure_embedded_student

    return ensure_embedded_student(log=lambda m: None)


def start_server(student_dir: Path, log_dir: Path) -> VLLMServer:
    """The embedded student served in float32 (the probe's precision), or a failure saying why."""
    srv = VLLMServer(student_dir, dtype="float32", log_path=log_dir / "server.log")
    try:
        return srv.start()
    except VLLMUnavailable as e:  # no venv, or it would not start: a failure with the reason, never a skip
        problem = str(e)
    pytest.fail(f"the vLLM server is required for this test: {problem}", pytrace=False)


@pytest.fixture(scope="module")
def server(student_dir, tmp_path_factory):
    srv = start_server(student_dir, tmp_path_factory.mktemp("vllm"))
    yield srv
    srv.stop()


def train_adapter(student_dir: Path, out: Path, answer: str, seed: int, *, learning_rate: float = 5e-3,
                  epochs: int = 4) -> Path:
    """An adapter that teaches the student to answer every addition with `answer`."""
    from cosr.training.lora import train_lora

    rng = random.Random(seed)
    examples = [Example(f"What is {rng.randint(0, 9)} + {rng.randint(0, 9)}?\nAnswer:", f" {answer}")
                for _ in range(64)]
    # 4 epochs (16 steps): at 2, embedded-v4 still answered " 9" to "What is 2 + 3?" for the " 96" adapter
    cfg = TrainingConfig(lora_r=8, lora_alpha=16, epochs=epochs, batch_size=16, learning_rate=learning_rate,
                         device="cpu")
    train_lora(student_dir, examples, cfg, out, seed=seed)
    return out


@pytest.fixture(scope="module")
def adapters(student_dir, tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("adapters")
    return train_adapter(student_dir, root / "a", "42", 0), train_adapter(student_dir, root / "b", "96", 1)


def served_student(server: VLLMServer, student_dir: Path, **kw) -> OpenAIStudent:
    return OpenAIStudent(StudentConfig(backend="openai", base_url=server.base_url, model="student",
                                       weights=student_dir, adapter_probe_tolerance=TOL, **kw))


def served_answers(student: OpenAIStudent) -> list[str]:
    return [g.text for g in student.generate(PROMPTS, temperature=0.0, max_new_tokens=6)]


def local_answers(student_dir: Path, adapter: Path | None) -> list[str]:
    """Greedy answers of the same weights run locally by transformers (+ peft)."""
    hf = HFStudent(StudentConfig(model=str(student_dir)), device="cpu")
    if adapter is not None:
        hf.load_adapter(adapter, "local")
    return [g.text for g in hf.generate(PROMPTS, temperature=0.0, max_new_tokens=6)]


def test_the_server_serves_the_student_as_transformers_runs_it(server, student_dir):
    assert server.startup_s is not None and server.startup_s < 300
    student = served_student(server, student_dir)
    served = served_answers(student)
    assert served == local_answers(student_dir, None)


def test_a_loaded_adapter_takes_effect_and_requests_go_to_it(server, student_dir, adapters):
    a, _ = adapters
    student = served_student(server, student_dir)
    base = served_answers(student)
    student.load_adapter(a, "round-001")
    assert student.model_name == student.adapter_version == "round-001"
    listed = {m["id"]: m for m in httpx.get(f"{server.base_url}/models").json()["data"]}
    assert listed["round-001"]["root"] == str(a.resolve())
    probe = student.last_probe  # float32 serving: the tolerance fitted to the served base is its floor
    assert probe is not None and probe.conclusive and probe.tolerance == TOLERANCE_FLOOR < TOL
    assert probe.served_error < probe.tolerance and probe.effect > 10 * TOL
    tuned = served_answers(student)
    assert tuned == local_answers(student_dir, a)  # what the local adapter predicts, token for token
    assert tuned != base and all("42" in t for t in tuned)


def test_reloading_a_round_name_serves_the_new_files(server, student_dir, adapters):
    a, b = adapters  # a resumed run on a server that already holds "round-002" from another run
    student = served_student(server, student_dir)
    student.load_adapter(a, "round-002")
    student.load_adapter(b, "round-002")
    assert student.last_probe.served_error < TOL
    tuned = served_answers(student)
    assert tuned == local_answers(student_dir, b) and all("96" in t for t in tuned)


def test_a_rounds_interpolated_student_is_served_then_the_trained_adapter_again(server, student_dir, adapters,
                                                                                 tmp_path):
    """What the evaluator does each round (training.interpolation): serve base + w x the trained change,
    checked by the probe against the local weights, then the trained adapter again for self-play."""
    from cosr.training.export import interpolate_adapter

    a, _ = adapters
    half = interpolate_adapter(a, tmp_path / "interpolated", 0.5)
    student = served_student(server, student_dir)
    student.load_adapter(half, "round-003-interpolated")
    assert student.last_probe.served_error < TOL and student.last_probe.effect > 10 * TOL
    assert served_answers(student) == local_answers(student_dir, half)
    student.load_adapter(a, "round-003")
    assert student.model_name == "round-003" and student.last_probe.served_error < TOL
    assert served_answers(student) == local_answers(student_dir, a)


@pytest.mark.parametrize("served_as, expected", [
    ("swapped", "neither the adapter's nor the base's"),  # the server holds adapter a, we trained b
    ("student", "the base model's"),  # the name still points at the base weights
])
def test_a_server_that_does_not_serve_the_trained_adapter_is_a_stale_adapter(server, student_dir, adapters,
                                                                              served_as, expected):
    a, b = adapters
    if served_as == "swapped":
        r = httpx.post(f"{server.base_url}/load_lora_adapter", json={"lora_name": "swapped", "lora_path": str(a)})
        assert r.status_code == 200, r.text
    with pytest.raises(StaleAdapter, match=expected):
        probe_adapter(base_url=server.base_url, base_model="student", adapter_name=served_as, adapter_dir=b,
                      weights=student_dir, prompt="What is 2 + 3?\nAnswer:", tolerance=TOL)


def test_a_server_that_cannot_start_is_a_clear_error_with_its_log(tmp_path):
    (tmp_path / "config.json").write_text('{"model_type": "no-such-architecture"}')
    with pytest.raises(VLLMUnavailable, match=r"(?s)vLLM exited with code \d+ while starting.*last 40 lines of"):
        VLLMServer(tmp_path, log_path=tmp_path / "server.log", startup_timeout_s=240).start()
