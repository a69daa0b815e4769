"""A local Hugging Face causal LM run with transformers: the embedded default student is one."""

from __future__ import annotations

import copy
import time
from collections.abc import Sequence
from pathlib import Path

from cosr.config import StudentConfig
from cosr.training.backends import BACKENDS, Generation, continued, render_prompt
from cosr.training.device import pick_device
from cosr.training.quiet import quiet_loading
from cosr.training.sampling import sample

MERGED_COPY_BYTES = 1 << 30  # models up to 1 GiB of weights generate from a merged copy (load_adapter)


class HFStudent:
    def __init__(self, cfg: StudentConfig, device: str = "auto") -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.cfg = cfg
        if cfg.model is None:
            raise ValueError("the hf backend needs student.model (the run resolves the embedded default)")
        path = Path(cfg.model)
        if not (path / "config.json").exists():
            raise FileNotFoundError(f"student.model {path} is not a Hugging Face model folder (no config.json)")
        self.trainable_path: Path | None = path
        self.id = f"hf:{path.name}"
        self.adapter_version: str | None = None
        self.continues_answers = not cfg.use_chat_template  # a chat template closes the turn the start would open
        self.device, dtype = pick_device(device)  # type: ignore[arg-type]
        quiet_loading()
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.tokenizer.padding_side = "left"  # generation continues from the right edge of every row
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.base = AutoModelForCausalLM.from_pretrained(path, dtype=dtype).to(self.device).eval()
        self.model = self.base
        self.merges = self._merged_copy()  # read once: the base's size never changes

    def _render(self, prompt: str) -> str:
        text = render_prompt(self.cfg, prompt)
        if self.cfg.use_chat_template and self.tokenizer.chat_template:
            return self.tokenizer.apply_chat_template(
                [{"role": "user", "content": text}], tokenize=False, add_generation_prompt=True)
        return text

    def generate(self, prompts: Sequence[str], *, temperature: float, max_new_tokens: int,
                 starts: Sequence[str] | None = None) -> list[Generation]:
        if not prompts:
            return []
        t0 = time.perf_counter()
        ids = self.tokenizer(continued([self._render(p) for p in prompts], starts), add_special_tokens=False)["input_ids"]
        new = sample(self.model, ids, batch_size=self.cfg.batch_size, pad_id=self.tokenizer.pad_token_id,
                     eos_id=self.tokenizer.eos_token_id, temperature=temperature, max_new_tokens=max_new_tokens)
        each = (time.perf_counter() - t0) / len(prompts)  # rows share their steps: a mean is what there is
        return [Generation(self.tokenizer.decode(tokens, skip_special_tokens=True), len(tokens), each) for tokens in new]

    def load_adapter(self, path: Path, version: str) -> None:
        """Answer with base + this adapter from now on (one at a time: rounds build on each other)."""
        from peft import PeftModel

        if self.merges:
            tuned = PeftModel.from_pretrained(copy.deepcopy(self.base), str(path), adapter_name=version)
            self.model = tuned.merge_and_unload().eval()
        elif self.model is self.base:
            self.model = PeftModel.from_pretrained(self.base, str(path), adapter_name=version).eval()
        else:
            old = self.model.active_adapter
            self.model.load_adapter(str(path), adapter_name=version)
            self.model.set_adapter(version)
            self.model.delete_adapter(old)
        self.adapter_version = version

    def _merged_copy(self) -> bool:
        """Generate with the adapter merged into a copy of the weights, where a copy is cheap. peft's LoRA
        layer is three matmuls and their bookkeeping where a merged one is one: self-play with the
        embedded student spent 86% of its time in peft's forward (worked solutions, one core). A large model
        keeps one copy of its weights and peft's layers, whose extra cost is small beside its own matmuls."""
        return sum(p.numel() * p.element_size() for p in self.base.parameters()) <= MERGED_COPY_BYTES

    def close(self) -> None:
        self.model = self.base = None  # type: ignore[assignment]


BACKENDS.register("hf", HFStudent)
