"""The same training and generation code on a CUDA device, checked against the CPU (`pytest -m gpu`).

CI has no GPU and deselects these (`-m "not gpu"`); on a machine without CUDA they fail, never skip.
"""

from __future__ import annotations

import random

import pytest
import torch

from cosr.config import StudentConfig, TrainingConfig
from cosr.training.device import pick_device
from cosr.training.lora import train_lora
from tests.unit.test_training import PROMPT, additions, logits

pytestmark = pytest.mark.gpu


@pytest.fixture(scope="module", autouse=True)
def _cuda():
    if not torch.cuda.is_available():
        pytest.fail("these tests need a CUDA device (torch.cuda.is_available() is False)", pytrace=False)


def test_auto_picks_cuda_with_bf16():
    assert pick_device("auto") == ("cuda", torch.bfloat16)
    assert pick_device("cpu") == ("cpu", torch.float32)  # asking for the CPU still gets it


def test_a_round_on_cuda_lowers_the_loss_and_reports_device_memory(tiny_student, tmp_path):
    cfg = TrainingConfig(epochs=6, batch_size=16, learning_rate=3e-3)
    torch.cuda.reset_peak_memory_stats()
    stats = train_lora(tiny_student, additions(96, digits=2), cfg, tmp_path / "round-001")
    assert stats.device == "cuda"
    assert stats.last_loss < stats.first_loss
    assert 0 < stats.peak_memory_mb < torch.cuda.get_device_properties(0).total_memory / 2**20


def test_an_adapter_trained_on_cuda_is_the_same_function_on_the_cpu(tiny_student, tmp_path):
    """Trained in bf16 on the GPU, saved, loaded in fp32 on the CPU: the logits agree to bf16's precision
    and the adapter moved them away from the base model's."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    train_lora(tiny_student, additions(64), TrainingConfig(epochs=3, batch_size=16, learning_rate=3e-3),
               tmp_path / "adapter")
    tok = AutoTokenizer.from_pretrained(tiny_student)
    text = PROMPT.format(a=3, b=4) + " 7"

    def with_adapter(device: str, dtype) -> torch.Tensor:
        base = AutoModelForCausalLM.from_pretrained(tiny_student, dtype=dtype).to(device)
        model = PeftModel.from_pretrained(base, str(tmp_path / "adapter")).eval()
        ids = tok(text, return_tensors="pt", add_special_tokens=False).to(device)
        with torch.inference_mode():
            return model(**ids).logits.float().cpu()

    cpu, gpu = with_adapter("cpu", torch.float32), with_adapter("cuda", torch.bfloat16)
    base = logits(AutoModelForCausalLM.from_pretrained(tiny_student).eval(), tok, text)
    scale = cpu.abs().max()
    assert (gpu - cpu).abs().max() < 0.05 * scale  # bf16 keeps 8 bits of mantissa
    assert (cpu - base).abs().max() > 0.05 * scale  # the adapter matters more than the rounding
    assert torch.equal(gpu.argmax(-1), cpu.argmax(-1))


def test_the_embedded_student_answers_alike_on_cuda_and_cpu():
    """Greedy worked answers of the shipped student, bf16 on the GPU against fp32 on the CPU: a broken device
    path (wrong cache, wrong positions, wrong dtype) answers garbage; bf16's rounding may flip a near tie."""
    from cosr.graphs.collaborators import ensure_embedded_student
    from cosr.graphs.skills import SkillGraph
    from cosr.training.backends.hf import HFStudent

    skills, rng = SkillGraph.builtin(), random.Random(0)
    prompts = [skills.make_task(rng.choice(skills.names()), rng.randint(1, 3), rng.randrange(2**31)).prompt
               for _ in range(128)]
    cfg = StudentConfig(model=str(ensure_embedded_student(log=lambda m: None)), batch_size=64)
    answers = {}
    for device in ("cpu", "cuda"):
        student = HFStudent(cfg, device=device)
        assert student.device == device
        answers[device] = [g.text for g in student.generate(prompts, temperature=0.0, max_new_tokens=cfg.max_new_tokens)]
    same = sum(a == b for a, b in zip(answers["cpu"], answers["cuda"], strict=True))
    assert same >= 0.9 * len(prompts), f"{same} of {len(prompts)} greedy answers agree"


def test_an_adapter_loaded_on_cuda_changes_the_answers(tiny_student, tmp_path):
    """A round that teaches the base (one-digit sums) to answer a + b + 10, loaded into the CUDA student:
    its greedy answers follow the adapter (on the CPU, the same round gives 56 of 100; the base none)."""
    from cosr.training.backends.hf import HFStudent
    from cosr.training.data import Example

    def plus_ten(pairs) -> list[Example]:
        return [Example(PROMPT.format(a=a, b=b), f" {a + b + 10}") for a, b in pairs]

    rng = random.Random(5)
    train = plus_ten((rng.randint(0, 9), rng.randint(0, 9)) for _ in range(600))
    train_lora(tiny_student, train, TrainingConfig(epochs=10, batch_size=32, learning_rate=3e-3), tmp_path / "round-001")
    every_pair = plus_ten((a, b) for a in range(10) for b in range(10))
    student = HFStudent(StudentConfig(model=str(tiny_student), prompt_template="{prompt}", batch_size=64), device="cuda")

    def right() -> int:
        gens = student.generate([ex.prompt for ex in every_pair], temperature=0.0, max_new_tokens=6)
        return sum(g.text.strip() == ex.completion.strip() for g, ex in zip(gens, every_pair, strict=True))

    before = right()
    student.load_adapter(tmp_path / "round-001", "round-001")
    assert right() >= before + 25
