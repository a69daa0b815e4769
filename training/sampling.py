"""Batched sampling with a KV cache, the batch refilled from a queue of prompts as its rows end.

Why not `model.generate`: a batch there runs until its longest row ends, every row computed to the
end, and its cache grows by concatenation. The embedded student writes worked solutions of 10 to 100
tokens (27 on average over levels 1-5), so most of a batch's compute went to rows already finished.
512 tasks of every skill and level, batches of 64, one core: 14.0 s with `generate` at temperature
1.0, 6.7 s with finished rows leaving the batch; greedy, 16.9 s and 6.9-8.3 s, the same tokens.

Rows leave the batch once a quarter of it has ended (each leave copies the whole cache), and as long as
prompts wait, new ones take the free places (their prompts computed in one forward pass, their cache
left-padded to the batch's). Without the refill, a batch of 64 ran on for its few longest rows, at a
step's fixed cost for a handful of rows: a round of `random` (8156 samples at temperature 1.0, in calls
of 512, one core) took 48-63 s, and 46-51 s with it. `benchmarks/training_bench.py` prints the rate.

Sampling is the plain kind self-play uses: greedy at temperature 0, else the full softmax at that
temperature (no top-k or top-p), from torch's global random state, so a seeded run samples the same
answers again (`pick`). Each (prompt, token position) has its own uniform number, drawn for the whole call
up front, so a prompt's sample does not depend on which rows share its batch: the batch size is a speed
setting, not a source of other samples (before, one draw per row at each step: a batch of 256 sampled
other answers than one of 64 for two thirds of 8164 prompts).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def sample(model: Any, prompts: Sequence[Sequence[int]], *, batch_size: int, pad_id: int, eos_id: int,
           temperature: float, max_new_tokens: int) -> list[list[int]]:
    """New tokens for each prompt (token ids, no padding), up to and including its end-of-sequence token;
    at most `batch_size` rows are computed at once."""
    import torch

    if batch_size < 1 or max_new_tokens < 1:
        raise ValueError(f"batch_size and max_new_tokens must be >= 1, got {batch_size} and {max_new_tokens}")
    if any(len(p) == 0 for p in prompts):
        raise ValueError("a prompt of no tokens has nothing to continue from")
    out: list[list[int]] = [[] for _ in prompts]
    if not prompts:
        return out
    # From the CPU's generator whatever the device, so a GPU samples what a CPU would from the same seed
    draws = torch.rand(len(prompts), max_new_tokens) if temperature > 0 else None
    batch = _Batch(model, pad_id, temperature, draws)
    # Shortest first: prompts that enter together share a width, so little goes to padding.
    queue = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))

    def refill_due() -> bool:  # prompts wait and a quarter of the places are free
        return bool(queue) and (batch_size - batch.live) * 4 >= batch_size

    with torch.inference_mode():
        while queue or batch.size:
            if refill_due():
                batch.drop_ended()
                free = batch_size - batch.live
                take, queue = queue[:free], queue[free:]
                batch.add(take, [prompts[i] for i in take])
            for r, t in batch.latest():
                out[r].append(t)
            batch.end_rows(eos_id, max_new_tokens)
            # Ended rows leave once they are a quarter of the batch, unless the refill is about to drop them.
            if not batch.live or (not refill_due() and (batch.size - batch.live) * 4 >= batch.size):
                batch.drop_ended()
            if batch.size:
                batch.step()
    return out


class _Batch:
    """The rows being computed: which prompt each is, its latest token (not yet fed to the model), how many
    tokens it has, whether it has ended; their KV cache and attention mask (left-padded)."""

    def __init__(self, model: Any, pad_id: int, temperature: float, draws: Any) -> None:
        import torch

        self.model, self.pad_id, self.temperature = model, pad_id, temperature
        self.device = next(model.parameters()).device
        self.draws = None if draws is None else draws.to(self.device)  # [prompt, token position]: its uniform number
        empty = torch.zeros(0, dtype=torch.long, device=self.device)
        self.rows, self.token, self.count = empty, empty, empty
        self.ended = empty.bool()
        self.mask = torch.zeros(0, 0, dtype=torch.long, device=self.device)
        self.cache: Any = None

    @property
    def size(self) -> int:
        return int(self.rows.numel())

    @property
    def live(self) -> int:
        return self.size - int(self.ended.sum())

    def latest(self) -> list[tuple[int, int]]:
        """(prompt index, token) for every row that has not ended."""
        keep = ~self.ended
        return list(zip(self.rows[keep].tolist(), self.token[keep].tolist(), strict=True))

    def end_rows(self, eos_id: int, max_new_tokens: int) -> None:
        self.ended |= (self.token == eos_id) | (self.count >= max_new_tokens)

    def step(self) -> None:
        import torch

        self.mask = torch.cat([self.mask, self.mask.new_ones(self.size, 1)], dim=1)
        res = self.model(input_ids=self.token[:, None], position_ids=self.mask.sum(-1, keepdim=True) - 1,
                         attention_mask=self.mask, past_key_values=self.cache, use_cache=True)
        self.cache, self.token = res.past_key_values, pick(res.logits[:, -1], self.temperature, self._draw(self.rows, self.count))
        self.count = self.count + 1

    def add(self, rows: list[int], prompts: list[Sequence[int]]) -> None:
        """Compute the prompts of new rows and join them to the batch, each with its first token."""
        import torch

        width = max(len(p) for p in prompts)
        ids = torch.tensor([[self.pad_id] * (width - len(p)) + list(p) for p in prompts], device=self.device)
        mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts], device=self.device)
        res = self.model(input_ids=ids, attention_mask=mask, position_ids=(mask.cumsum(-1) - 1).clamp(min=0),
                         use_cache=True)
        if self.cache is None or not self.size:
            self.cache, self.mask = res.past_key_values, mask
        else:
            length = max(self.mask.shape[1], width)
            self.mask = torch.cat([_left_pad(self.mask, length, 1), _left_pad(mask, length, 1)])
            for old, new in zip(self.cache.layers, res.past_key_values.layers, strict=True):
                old.keys = torch.cat([_left_pad(old.keys, length, 2), _left_pad(new.keys, length, 2)])
                old.values = torch.cat([_left_pad(old.values, length, 2), _left_pad(new.values, length, 2)])
        n = len(rows)
        new = torch.tensor(rows, device=self.device)
        self.rows = torch.cat([self.rows, new])
        self.token = torch.cat([self.token, pick(res.logits[:, -1], self.temperature, self._draw(new, torch.zeros_like(new)))])
        self.count = torch.cat([self.count, self.count.new_ones(n)])
        self.ended = torch.cat([self.ended, self.ended.new_zeros(n)])

    def _draw(self, rows, position):
        """Each row's uniform number at its position; a row that has ended (its pick is not kept) may be past
        the last one until it leaves."""
        return None if self.draws is None else self.draws[rows, position.clamp(max=self.draws.shape[1] - 1)]

    def drop_ended(self) -> None:
        """Rows that have ended leave, their cache with them, and so do the columns that were padding for
        every row left (the cache's positions are in the mask's sums, not its width)."""
        if not self.ended.any():
            return
        keep = (~self.ended).nonzero().squeeze(1)
        self.rows, self.token, self.count, self.ended = self.rows[keep], self.token[keep], self.count[keep], self.ended[keep]
        self.mask = self.mask[keep]
        self.cache.batch_select_indices(keep)
        first = int(self.mask.any(0).int().argmax()) if self.size else 0
        if first:
            self.mask = self.mask[:, first:]
            for layer in self.cache.layers:
                layer.keys, layer.values = layer.keys[:, :, first:], layer.values[:, :, first:]


def pick(logits, temperature: float, u=None):
    """One token per row: the most likely at temperature 0, else drawn from softmax(logits / temperature) by
    inverting its cumulative sum at one uniform number per row (`u`, in [0, 1); drawn here if not given).
    torch.multinomial draws an exponential for every entry: 880 us a call for 64 rows of the embedded
    student's 346 tokens, a tenth of a step, where this takes 80 us."""
    import torch

    logits = logits.float()
    if temperature <= 0:
        return logits.argmax(-1)
    cdf = torch.softmax(logits / temperature, dim=-1).cumsum(-1)
    u = torch.rand(cdf.shape[0], device=cdf.device) if u is None else u
    u = u[:, None] * cdf[:, -1:]  # the sum, not 1: rounding
    # The first entry whose cumulative sum exceeds u: a token of probability 0 never has one.
    return torch.searchsorted(cdf, u, right=True).squeeze(1).clamp(max=cdf.shape[1] - 1)


def _left_pad(t, length: int, dim: int):
    """`t` with zeros before its entries along `dim` (a mask's columns, a cache's positions) up to `length`."""
    import torch

    short = length - t.shape[dim]
    if not short:
        return t
    shape = list(t.shape)
    shape[dim] = short
    return torch.cat([t.new_zeros(shape), t], dim=dim)
