"""LoRA rounds, adapters and teacher signals on tiny real models."""

from __future__ import annotations

import random

import pytest
import torch

from cosr.config import TrainingConfig
from cosr.training.data import Example
from cosr.training.export import interpolate_adapter, merge_adapter
from cosr.training.lora import train_lora

PROMPT = "What is {a} + {b}?\nAnswer:"


def additions(n: int, seed: int = 1, digits: int = 1) -> list[Example]:
    rng = random.Random(seed)
    hi = 10**digits - 1
    return [Example(PROMPT.format(a=a, b=b), f" {a + b}") for a, b in
            ((rng.randint(0, hi), rng.randint(0, hi)) for _ in range(n))]


def logits(model, tokenizer, text: str) -> torch.Tensor:
    ids = tokenizer(text, return_tensors="pt", add_special_tokens=False)
    with torch.inference_mode():
        return model(**ids).logits


def test_a_round_lowers_training_loss_changes_only_the_adapter(tiny_student, tmp_path):
    from peft import PeftModel
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM

    base_before = load_file(tiny_student / "model.safetensors")
    cfg = TrainingConfig(epochs=6, batch_size=16, learning_rate=3e-3)
    stats = train_lora(tiny_student, additions(96, digits=2), cfg, tmp_path / "round-001")
    assert stats.last_loss < stats.first_loss
    assert stats.steps == 6 * 6 and stats.tokens > 0 and stats.adapter_bytes > 0
    base_after = load_file(tiny_student / "model.safetensors")
    assert all(torch.equal(base_before[k], base_after[k]) for k in base_before)  # base weights untouched
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_student), str(tmp_path / "round-001"))
    lora_b = [p for n, p in model.named_parameters() if "lora_B" in n]
    assert lora_b and any(p.abs().sum() > 0 for p in lora_b)  # peft starts B at zero: training moved it


def test_each_round_trains_at_its_scheduled_learning_rate(tiny_student, tmp_path):
    from safetensors.torch import load_file

    cfg = TrainingConfig(epochs=2, batch_size=16, learning_rate=[3e-3, 1e-9])
    moved = {}
    for round_no in (1, 2):
        out = tmp_path / f"round-{round_no:03d}"
        stats = train_lora(tiny_student, additions(64), cfg, out, round_no=round_no)
        assert stats.learning_rate == cfg.learning_rate[round_no - 1]
        moved[round_no] = sum(v.abs().sum().item() for k, v in load_file(out / "adapter_model.safetensors").items()
                              if "lora_B" in k)  # peft starts B at zero: how far training took it
    assert moved[1] > 1000 * moved[2] > 0


@pytest.mark.parametrize("batches", [1, 2, 5, 10, 19])
def test_a_round_of_few_steps_trains(tiny_student, tmp_path, batches):
    """Any number of steps, the ones OneCycleLR's phase lengths divide by zero at (10) included."""
    stats = train_lora(tiny_student, additions(2 * batches), TrainingConfig(epochs=1, batch_size=2), tmp_path / "a")
    assert stats.steps == batches and (tmp_path / "a" / "adapter_model.safetensors").exists()


def test_adapter_save_load_merge_round_trip_gives_identical_logits(tiny_student, tmp_path):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    train_lora(tiny_student, additions(64), TrainingConfig(epochs=3, batch_size=16, learning_rate=3e-3),
               tmp_path / "adapter")
    tok = AutoTokenizer.from_pretrained(tiny_student)
    text = PROMPT.format(a=3, b=4) + " 7"
    base = AutoModelForCausalLM.from_pretrained(tiny_student).eval()
    base_logits = logits(base, tok, text)
    with_adapter = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_student), str(tmp_path / "adapter")).eval()
    reloaded = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_student), str(tmp_path / "adapter")).eval()
    merged = AutoModelForCausalLM.from_pretrained(merge_adapter(tiny_student, tmp_path / "adapter", tmp_path / "merged")).eval()
    a, b, m = logits(with_adapter, tok, text), logits(reloaded, tok, text), logits(merged, tok, text)
    assert not torch.allclose(a, base_logits, atol=1e-4)  # the adapter matters
    assert torch.equal(a, b)  # save + load is exact
    assert torch.allclose(a, m, atol=1e-5)  # merging folds the same function into the weights


@pytest.mark.parametrize("weight", [0.25, {"q_proj": 0.25, "down_proj": 0.5}], ids=["every-module", "per-module"])
def test_an_interpolated_adapter_moves_every_weight_that_share_of_the_way(tiny_student, tmp_path, weight):
    """WiSE-FT: the merged interpolated student is base + w x (adapted - base), weight by weight, w the
    module's own where one is given (1.0 for modules not named)."""
    from safetensors.torch import load_file

    train_lora(tiny_student, additions(64), TrainingConfig(epochs=3, batch_size=16, learning_rate=3e-3),
               tmp_path / "adapter")
    interpolate_adapter(tmp_path / "adapter", tmp_path / "adapter" / "interpolated", weight)

    def share(key: str) -> float:  # "model.layers.0.self_attn.q_proj.weight" -> its module's weight
        return weight if isinstance(weight, float) else weight.get(key.rsplit(".", 2)[-2], 1.0)

    base = load_file(tiny_student / "model.safetensors")
    full = load_file(merge_adapter(tiny_student, tmp_path / "adapter", tmp_path / "full") / "model.safetensors")
    part = load_file(merge_adapter(tiny_student, tmp_path / "adapter" / "interpolated", tmp_path / "part")
                     / "model.safetensors")
    moved = [k for k in base if not torch.equal(full[k], base[k])]
    assert moved  # the adapter changed the weights it targets
    assert {share(k) for k in moved} == ({0.25} if isinstance(weight, float) else {0.25, 0.5, 1.0})
    for k in base:
        assert torch.allclose(part[k], base[k] + share(k) * (full[k] - base[k]), atol=1e-6), k
    with pytest.raises(ValueError, match="in \\(0, 1\\]"):
        interpolate_adapter(tmp_path / "adapter", tmp_path / "bad", 1.5)


def test_merge_refuses_a_folder_that_is_not_an_adapter(tiny_student, tmp_path):
    with pytest.raises(FileNotFoundError, match="not a peft adapter"):
        merge_adapter(tiny_student, tmp_path, tmp_path / "out")
