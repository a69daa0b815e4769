"""The embedded default student: a small Llama-architecture model with its own tokenizer, pretrained on
the easiest levels of the catalog. cosr ships it (training/students/, 3.6 MB) and `cosr student build
--force` rebuilds it from this spec (about 14 minutes on two CPU cores) into ~/.cache/cosr.

It is a real Hugging Face folder (`save_pretrained`), so transformers, peft and vLLM load it as they
would any Llama.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from cosr.config import cosr_home
from cosr.training.data import Example, batches, encode, train_step

SPEC_VERSION = "embedded-v5"


@dataclass(frozen=True)
class EmbeddedSpec:
    # ~0.9M parameters: measured 8k training tokens/s on two cores (hidden 192 gave 4.4k, 256 gave 2.6k).
    hidden_size: int = 128
    layers: int = 4
    heads: int = 2  # head_dim 64: a size every vLLM attention backend supports
    intermediate_size: int = 384
    max_positions: int = 512
    vocab_size: int = 512
    # Data, not size, held the student back: twice the steps of fresh examples taught more, a larger model
    # given the same data no faster (docs/history.md).
    examples: int = 307_200
    steps: int = 4800
    batch_size: int = 64
    learning_rate: float = 1e-3  # 3e-3 diverged (9% on one-digit addition after 300 steps; 1e-3: 100%)
    seed: int = 0


def default_path() -> Path:
    """Where `cosr student build` writes the embedded student."""
    return cosr_home() / "students" / SPEC_VERSION


def shipped_path() -> Path | None:
    """The copy that ships with cosr (3.6 MB), if it was built from this very spec version."""
    path = Path(__file__).with_name("students") / SPEC_VERSION
    meta = path / "cosr_embedded.json"
    if meta.exists() and json.loads(meta.read_text()).get("version") == SPEC_VERSION:
        return path
    return None


def train_tokenizer(texts: Sequence[str], vocab_size: int):
    """Byte-level BPE with every digit its own token (numbers are never merged, so arithmetic stays learnable)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=["<pad>", "<s>", "</s>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(texts, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>",
                                   model_max_length=512)


def examples_digest(examples: Sequence[Example]) -> str:
    """A digest of the pretraining examples, in order: what the student was trained on, in 64 characters."""
    h = hashlib.sha256()
    for e in examples:
        h.update(f"{e.prompt}\x00{e.completion}\x00".encode())
    return h.hexdigest()


def build_embedded_student(
    examples: Sequence[Example], out: Path, spec: EmbeddedSpec = EmbeddedSpec(),
    log: Callable[[str], None] = print,
) -> Path:
    """Train tokenizer and model from scratch on `examples`; write the folder atomically."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from cosr.training.device import pick_device

    t0 = time.perf_counter()
    device, _ = pick_device("auto")
    torch.manual_seed(spec.seed)
    tokenizer = train_tokenizer([e.prompt + e.completion for e in examples], spec.vocab_size)
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=spec.hidden_size, intermediate_size=spec.intermediate_size,
        num_hidden_layers=spec.layers, num_attention_heads=spec.heads, num_key_value_heads=spec.heads,
        max_position_embeddings=spec.max_positions, tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
    )
    model = LlamaForCausalLM(config).to(device)
    encoded = encode(tokenizer, examples, spec.max_positions)
    opt = torch.optim.AdamW(model.parameters(), lr=spec.learning_rate, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=spec.learning_rate, total_steps=spec.steps, pct_start=0.05)
    rng, step, tokens = random.Random(spec.seed), 0, 0
    model.train()
    while step < spec.steps:
        for batch in batches(encoded, spec.batch_size, tokenizer.pad_token_id, rng, device):
            loss, n = train_step(model, batch, opt, sched)
            step += 1
            tokens += n
            if step % 100 == 0 or step == spec.steps:
                log(f"pretraining step {step}/{spec.steps}  loss {loss:.3f}  "
                    f"{tokens / (time.perf_counter() - t0):.0f} tok/s")
            if step >= spec.steps:
                break
    tmp = out.with_name(out.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    model.eval().save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    (tmp / "cosr_embedded.json").write_text(json.dumps(
        {"spec": asdict(spec), "version": SPEC_VERSION, "examples": len(examples), "tokens": tokens,
         "seconds": round(time.perf_counter() - t0, 1), "final_loss": round(loss, 4),
         # `cosr audit --student` replays the pretraining stream and checks it is this one before it trusts it
         "examples_sha256": examples_digest(examples)}, indent=2))
    shutil.rmtree(out, ignore_errors=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp.rename(out)  # a half-built folder is never mistaken for a student
    return out
