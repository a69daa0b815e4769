"""The student's sampler (training/sampling.py) against transformers' own `generate`: greedy, it must
give the very same tokens, row by row, however the rows differ in length and end and however few of
them are computed at once (rows that end make room for waiting prompts), with or without a LoRA
adapter; every row stops at its end-of-sequence token or at the token limit."""

from __future__ import annotations

import pytest
import torch

from cosr.training.sampling import sample

PROMPTS = ["What is 3 + 4?\nAnswer:", "What is 12345 + 9?\nAnswer:", "1 + 1 =", "What is 8 + 8?\nAnswer: 1",
           "What is the sum of 2 and 7? Think it over, then answer.\nAnswer:", "\nAnswer:"]


def _load(folder, adapter: bool):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(folder)
    tok.padding_side = "left"
    model = AutoModelForCausalLM.from_pretrained(folder).eval()
    if adapter:  # a LoRA adapter whose B matrices are not zero, so it changes what the model says
        from peft import LoraConfig, get_peft_model

        torch.manual_seed(1)
        model = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj", "down_proj"]))
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.data.normal_(0, 0.5)
        model.eval()
    return tok, model


def _ids(tok, prompts: list[str]) -> list[list[int]]:
    return tok(prompts, add_special_tokens=False)["input_ids"]


@pytest.mark.parametrize("adapter", [False, True])
@pytest.mark.parametrize("max_new", [1, 5, 24])
@pytest.mark.parametrize("batch_size", [1, 4, 64])
def test_greedy_is_token_for_token_what_generate_gives(tiny_student, adapter, max_new, batch_size):
    tok, model = _load(tiny_student, adapter)
    prompts = PROMPTS * 3  # with batch_size 4: rows end and waiting prompts join a batch under way
    enc = tok(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
    with torch.inference_mode():
        ref = model.generate(**enc, max_new_tokens=max_new, do_sample=False, pad_token_id=tok.pad_token_id,
                             eos_token_id=tok.eos_token_id)
    expected = [[t for t in row if t != tok.pad_token_id] for row in ref[:, enc["input_ids"].shape[1]:].tolist()]
    got = sample(model, _ids(tok, prompts), batch_size=batch_size, pad_id=tok.pad_token_id, eos_id=tok.eos_token_id,
                 temperature=0.0, max_new_tokens=max_new)
    assert got == expected
    if max_new == 24:  # rows end at different steps: some by their end token, some at the limit
        assert len({len(row) for row in got}) > 1


def test_rows_stop_at_their_end_token_or_the_limit_and_a_seed_repeats_them(tiny_student):
    tok, model = _load(tiny_student, adapter=False)
    ids = _ids(tok, PROMPTS * 8)

    def draw(seed: int, batch_size: int = 8) -> list[list[int]]:
        torch.manual_seed(seed)
        return sample(model, ids, batch_size=batch_size, pad_id=tok.pad_token_id, eos_id=tok.eos_token_id,
                      temperature=1.5, max_new_tokens=10)

    rows = draw(0)
    assert len(rows) == len(PROMPTS) * 8
    for row in rows:
        assert 1 <= len(row) <= 10 and tok.eos_token_id not in row[:-1]  # nothing after an end token
        assert row[-1] == tok.eos_token_id or len(row) == 10
    assert any(row[-1] == tok.eos_token_id for row in rows) and any(len(row) == 10 for row in rows)
    assert draw(0) == rows and draw(1) != rows  # torch's seed decides the samples


def test_a_prompts_sample_is_its_own_whatever_rows_share_its_batch(tiny_student):
    """Every (prompt, position) has its own uniform number: the batch size and the order rows enter and
    leave change nothing, so the batch size can be tuned for speed without resampling a run."""
    tok, model = _load(tiny_student, adapter=False)
    ids = _ids(tok, PROMPTS * 8)

    def draw(batch_size: int) -> list[list[int]]:
        torch.manual_seed(0)
        return sample(model, ids, batch_size=batch_size, pad_id=tok.pad_token_id, eos_id=tok.eos_token_id,
                      temperature=1.5, max_new_tokens=10)

    rows = draw(1)
    assert draw(5) == rows and draw(64) == rows
    # and sampling, not the same answer each time: the copies of one prompt differ among themselves
    assert len({tuple(rows[i]) for i in range(0, len(rows), len(PROMPTS))}) > 1


def test_no_prompts_is_no_rows_and_an_empty_prompt_or_batch_is_refused(tiny_student):
    tok, model = _load(tiny_student, adapter=False)
    args = {"pad_id": tok.pad_token_id, "eos_id": tok.eos_token_id, "temperature": 0.0, "max_new_tokens": 4}
    assert sample(model, [], batch_size=4, **args) == []
    with pytest.raises(ValueError, match="no tokens"):
        sample(model, [_ids(tok, ["1 + 1 ="])[0], []], batch_size=4, **args)
    with pytest.raises(ValueError, match="batch_size"):
        sample(model, _ids(tok, ["1 + 1 ="]), batch_size=0, **args)


def test_a_draw_follows_the_softmax_at_its_temperature_and_never_picks_an_impossible_token():
    from cosr.training.sampling import pick

    torch.manual_seed(0)
    probs = torch.tensor([0.5, 0.3, 0.2, 0.0])
    logits = probs.log().expand(40000, 4)  # log 0 = -inf: that token must never come
    counts = torch.bincount(pick(logits, 1.0), minlength=4) / 40000
    assert counts[3] == 0
    assert torch.allclose(counts[:3], probs[:3], atol=0.01)  # 40000 draws: a standard error of ~0.0025
    hot = torch.bincount(pick(logits, 2.0), minlength=4) / 40000  # temperature 2: p ** (1/2), renormalised
    flat = probs[:3].sqrt() / probs[:3].sqrt().sum()
    assert torch.allclose(hot[:3], flat, atol=0.01) and hot[3] == 0
    assert pick(torch.tensor([[0.1, 2.0, -1.0]]), 0.0).tolist() == [1]  # temperature 0: the most likely
    # a given uniform number picks where it falls in the cumulative sum (0.5 | 0.3 | 0.2)
    at = pick(probs.log().expand(4, 4), 1.0, torch.tensor([0.0, 0.49, 0.51, 0.99]))
    assert at.tolist() == [0, 0, 1, 2]
