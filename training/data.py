"""Supervised examples as token ids: loss on the completion only, the prompt is context."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from cosr.domain import Annotation


@dataclass(frozen=True)
class Example:
    prompt: str  # already rendered with the student's prompt template
    completion: str  # what the student should have written after the prompt


def encode(tokenizer, examples: Sequence[Example], max_len: int) -> list[tuple[list[int], list[int]]]:
    """(input_ids, labels) per example; labels are -100 over the prompt. Too-long examples are cut from the left."""
    prompts = tokenizer([ex.prompt for ex in examples], add_special_tokens=False)["input_ids"]
    completions = tokenizer([ex.completion for ex in examples], add_special_tokens=False)["input_ids"]
    out = []
    for p, c in zip(prompts, completions, strict=True):
        c = c + [tokenizer.eos_token_id]
        out.append(((p + c)[-max_len:], ([-100] * len(p) + c)[-max_len:]))
    return out


def batches(encoded: list[tuple[list[int], list[int]]], batch_size: int, pad_id: int, rng: random.Random,
            device: str = "cpu") -> Iterator[dict]:
    """Shuffled, right-padded batches of (input_ids, attention_mask, labels) tensors.

    Rows of similar length share a batch (sorted within shuffled windows of 32 batches): with a mix of
    short arithmetic and long code prompts, random batches spent most of their compute on padding.
    """
    import torch

    order = list(range(len(encoded)))
    rng.shuffle(order)
    window = batch_size * 32
    chunks = []
    for w in range(0, len(order), window):
        part = sorted(order[w:w + window], key=lambda i: len(encoded[i][0]))
        chunks += [part[s:s + batch_size] for s in range(0, len(part), batch_size)]
    rng.shuffle(chunks)
    for chunk in chunks:
        rows = [encoded[i] for i in chunk]
        width = max(len(ids) for ids, _ in rows)
        ids = torch.full((len(rows), width), pad_id)
        labels = torch.full((len(rows), width), -100)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for r, (i, l) in enumerate(rows):
            ids[r, :len(i)], labels[r, :len(l)], mask[r, :len(i)] = torch.tensor(i), torch.tensor(l), 1
        yield {"input_ids": ids.to(device), "attention_mask": mask.to(device), "labels": labels.to(device)}


def train_step(model, batch: dict, opt, sched) -> tuple[float, int]:
    """One optimizer step on `batch` (gradient clipped at 1.0); returns (loss, tokens in the batch)."""
    import torch

    loss = model(**batch).loss
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    sched.step()
    opt.zero_grad(set_to_none=True)
    return loss.item(), int(batch["attention_mask"].sum())


def annotated(completion: str, annotation: Annotation | None) -> str:
    """TeacherLM's format: fundamentals, chain of thought and common mistakes before the answer, when
    the sample carries them; the bare completion otherwise."""
    if annotation is None:
        return completion
    parts = [("Fundamentals", annotation.fundamentals), ("Chain of thought", annotation.chain_of_thought),
             ("Common mistakes", annotation.common_mistakes)]
    lines = [f"{name}: {text.strip()}" for name, text in parts if text.strip()]
    return (" " + "\n".join(lines) + "\nAnswer:" + completion) if lines else completion
