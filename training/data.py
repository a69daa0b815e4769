"""Supervised examples as token ids: loss on the completion only, the prompt is context."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Example:
    prompt: str  # already rendered with the student's prompt template
    completion: str  # what the student should have written after the prompt


def encode(tokenizer, examples: Sequence[Example], max_len: int) -> list[tuple[list[int], list[int]]]:
    """(input_ids, labels) per example; labels are -100 over the prompt. Too-long examples are cut from the left."""
    out = []
    for ex in examples:
        p = tokenizer(ex.prompt, add_special_tokens=False)["input_ids"]
        c = tokenizer(ex.completion, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
        ids, labels = (p + c)[-max_len:], ([-100] * len(p) + c)[-max_len:]
        out.append((ids, labels))
    return out


def batches(encoded: list[tuple[list[int], list[int]]], batch_size: int, pad_id: int, rng: random.Random,
            device: str = "cpu") -> Iterator[dict]:
    """Shuffled, right-padded batches of (input_ids, attention_mask, labels) tensors."""
    import torch

    order = list(range(len(encoded)))
    rng.shuffle(order)
    for start in range(0, len(order), batch_size):
        rows = [encoded[i] for i in order[start:start + batch_size]]
        width = max(len(ids) for ids, _ in rows)
        ids = torch.full((len(rows), width), pad_id)
        labels = torch.full((len(rows), width), -100)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for r, (i, l) in enumerate(rows):
            ids[r, :len(i)], labels[r, :len(l)], mask[r, :len(i)] = torch.tensor(i), torch.tensor(l), 1
        yield {"input_ids": ids.to(device), "attention_mask": mask.to(device), "labels": labels.to(device)}
