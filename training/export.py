"""Merged export: the base weights with a LoRA adapter folded in, as a plain Hugging Face folder that
any runtime (transformers, vLLM without --enable-lora) serves like the base model."""

from __future__ import annotations

from pathlib import Path


def merge_adapter(base: Path, adapter: Path, out: Path) -> Path:
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if not (adapter / "adapter_config.json").exists():
        raise FileNotFoundError(f"{adapter} is not a peft adapter folder (no adapter_config.json)")
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base), str(adapter))
    merged = model.merge_and_unload()
    out.mkdir(parents=True, exist_ok=True)
    merged.save_pretrained(out)
    AutoTokenizer.from_pretrained(base).save_pretrained(out)
    return out
