"""Merged export: the base weights with a LoRA adapter folded in, as a plain Hugging Face folder that
any runtime (transformers, vLLM without --enable-lora) serves like the base model."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from cosr.training.quiet import quiet_loading


def merge_adapter(base: Path, adapter: Path, out: Path) -> Path:
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if not (adapter / "adapter_config.json").exists():
        raise FileNotFoundError(f"{adapter} is not a peft adapter folder (no adapter_config.json)")
    quiet_loading()
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base), str(adapter))
    merged = model.merge_and_unload()
    out.mkdir(parents=True, exist_ok=True)
    merged.save_pretrained(out)
    AutoTokenizer.from_pretrained(base).save_pretrained(out)
    return out


INTERPOLATED = "interpolated"  # the folder, inside a round's adapter, of the student that round delivers


def delivered_adapter(round_adapter: Path) -> Path:
    """The adapter of the student a round delivers: its interpolated one when the trainer wrote one
    (training.interpolation below 1), else the trained adapter itself."""
    interpolated = round_adapter / INTERPOLATED
    return interpolated if interpolated.exists() else round_adapter


def interpolate_adapter(adapter: Path, out: Path, weight: float | Mapping[str, float]) -> Path:
    """The adapter with its change to the base weights scaled by `weight`: base + weight x (adapted - base),
    the weight-space ensemble of WiSE-FT (Wortsman et al., 2022, "Robust fine-tuning of zero-shot
    models"). Exact for LoRA, whose change scaling x B x A is linear in B, so only the B matrices scale.
    `weight` is one number for every adapted module, or one per module name ("q_proj": 0.5), 1.0 for
    the modules it does not name."""
    import shutil

    from safetensors.torch import load_file, save_file

    weights = dict(weight) if isinstance(weight, Mapping) else {}
    default = 1.0 if isinstance(weight, Mapping) else float(weight)
    for w in [default, *weights.values()]:
        if not 0.0 < w <= 1.0:
            raise ValueError(f"interpolation weight must be in (0, 1], got {w}")
    tensors = adapter / "adapter_model.safetensors"
    if not tensors.exists():
        raise FileNotFoundError(f"{adapter} is not a peft adapter folder (no adapter_model.safetensors)")
    out.mkdir(parents=True, exist_ok=True)
    for f in adapter.iterdir():
        if f.is_file() and f.name != tensors.name:
            shutil.copy2(f, out / f.name)

    def scale(key: str) -> float:  # "...layers.0.self_attn.q_proj.lora_B.weight" -> weights["q_proj"]
        return weights.get(key.split(".lora_B.")[0].rsplit(".", 1)[-1], default)

    scaled = {k: v * scale(k) if ".lora_B." in k else v for k, v in load_file(tensors).items()}
    save_file(scaled, out / tensors.name, metadata={"format": "pt"})
    return out


def interpolates(weight: float | Mapping[str, float]) -> bool:
    """Whether `weight` moves any module (some weight below 1)."""
    return any(w < 1.0 for w in (weight.values() if isinstance(weight, Mapping) else [weight]))
