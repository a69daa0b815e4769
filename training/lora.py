"""One LoRA round: fine-tune an adapter on verified trajectories (rejection-sampling fine-tuning), and with
cfg.training.objective = "rloo" on the round's wrong samples too (learning from mistakes, agents/mistakes.py).

The objective (training/data.py, `weighted_loss`): a supervised example (weight 1) takes its completion's
token cross-entropy; a weighted one (weight = its advantage A) the PPO/GRPO clipped surrogate
-min(r A, clip(r, 1 - eps, 1 + eps) A) per completion token, r the ratio of its probability now to that under
the policy that sampled the round, eps = cfg.clip_epsilon. That policy is the model as loaded (the previous
adapter, or the base), so before any update the round takes the log-probs of every weighted example's
completion (`with_old_logprobs`: one forward pass over those rows). Token losses are summed per row and
divided by the batch's completion tokens, one scale for both kinds of row.

A plain loop rather than TRL's SFTTrainer: the data are a few hundred short examples, the loss is on
the completion only, and the loop stays readable top to bottom (nanoGPT-style); TRL would add a
heavy import and a dataset layer for no measured gain at this size. peft's LoraConfig is reused as is.
"""

from __future__ import annotations

import math
import random
import resource
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from cosr.config import TrainingConfig
from cosr.training.adapter_probe import write_probe_texts
from cosr.training.data import Example, batches, encode, train_step, with_old_logprobs
from cosr.training.device import pick_device
from cosr.training.quiet import quiet_loading


@dataclass(frozen=True)
class RoundStats:
    examples: int
    steps: int
    tokens: int
    seconds: float
    tokens_per_s: float
    first_loss: float
    last_loss: float
    peak_memory_mb: float
    device: str
    adapter_bytes: int
    learning_rate: float

    def to_dict(self) -> dict:
        return asdict(self)


def _peak_memory_mb(device: str) -> float:
    import torch

    if device == "cuda":
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def train_lora(
    base_path: Path, examples: Sequence[Example], cfg: TrainingConfig, out_dir: Path, *,
    init_adapter: Path | None = None, seed: int = 0, max_len: int = 512, round_no: int = 1,
) -> RoundStats:
    """Train (or continue training) an adapter on `examples` and save it to `out_dir`; `round_no` picks the
    learning rate from the config's schedule. Examples of a weight other than 1 take the clipped surrogate
    against the model as loaded (module docstring)."""
    import torch
    from peft import LoraConfig, PeftModel, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if not examples:
        raise ValueError("a LoRA round needs at least one example")
    device, dtype = pick_device(cfg.device)
    torch.manual_seed(seed)
    quiet_loading()
    tokenizer = AutoTokenizer.from_pretrained(base_path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    base = AutoModelForCausalLM.from_pretrained(base_path, dtype=dtype).to(device)
    if init_adapter is not None:  # rounds build on each other: start from the previous adapter
        model = PeftModel.from_pretrained(base, str(init_adapter), is_trainable=True)
    else:
        model = get_peft_model(base, LoraConfig(
            r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
            target_modules=cfg.target_modules, task_type="CAUSAL_LM"))
    # The old log-probs come first, from the model as loaded: the policy that sampled the weighted rows.
    encoded = with_old_logprobs(model, encode(tokenizer, examples, max_len), cfg.batch_size,
                                tokenizer.pad_token_id, device)
    lr = cfg.learning_rate_for(round_no)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr)
    total = max(3, cfg.epochs * math.ceil(len(encoded) / cfg.batch_size))
    # Warm up, then decay to zero: a round that ends at full learning rate leaves the weights noisy. A tenth
    # of the steps warms up, at least two: OneCycleLR divides by (warm-up steps - 1), so a round of exactly
    # 10 steps (2 epochs of 5 batches) raised ZeroDivisionError.
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=total,
                                                pct_start=max(0.1, 2 / total), anneal_strategy="linear")
    rng, losses, tokens, steps = random.Random(seed), [], 0, 0
    t0 = time.perf_counter()
    model.train()
    for _ in range(cfg.epochs):
        for batch in batches(encoded, cfg.batch_size, tokenizer.pad_token_id, rng, device):
            loss, n = train_step(model, batch, opt, sched, cfg.clip_epsilon)
            losses.append(loss)
            tokens += n
            steps += 1
    seconds = time.perf_counter() - t0
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    size = sum(f.stat().st_size for f in out_dir.iterdir() if f.is_file())
    # The adapter check on a served student probes where this adapter moves the model most: its own examples.
    write_probe_texts(examples, out_dir)
    head = losses[: max(1, len(losses) // 10)]
    tail = losses[-max(1, len(losses) // 10):]
    return RoundStats(
        examples=len(examples), steps=steps, tokens=tokens, seconds=round(seconds, 2),
        tokens_per_s=round(tokens / seconds, 1) if seconds else 0.0,
        first_loss=round(sum(head) / len(head), 4), last_loss=round(sum(tail) / len(tail), 4),
        peak_memory_mb=round(_peak_memory_mb(device), 1), device=device, adapter_bytes=size, learning_rate=lr,
    )
