"""Thinking/answer budgets on a real (tiny, random-weight) model: exact for every mode, greedy and sampled, batch>1,
both template styles, and the 4-bit NF4 CPU path."""

from __future__ import annotations

import pytest
import torch
from transformers import LogitsProcessor, LogitsProcessorList

from playground.generation.engine import Engine
from playground.generation.request import GenerationRequest
from playground.generation.thinking import Budget, ThinkingBudgetProcessor, ThinkTags
from playground.models.loading import load_model


class Boost(LogitsProcessor):
    """Test helper: make one token the model's favourite at a given step (or every step)."""

    def __init__(self, token: int, steps: set[int] | None, prompt_len: int, amount: float = 50.0):
        self.token, self.steps, self.prompt_len, self.amount = token, steps, prompt_len, amount

    def __call__(self, input_ids, scores):
        step = input_ids.shape[1] - self.prompt_len
        if self.steps is None or step in self.steps:
            scores[:, self.token] += self.amount
        return scores


def thinking_tokens(ids: list[int], tags: ThinkTags, opened: bool) -> int:
    """Count thinking tokens independently: positions between the open tag (or the start) and the close tag."""
    (open_id,), (close_id,) = tags.open_ids, tags.close_ids
    start = 0 if opened else (ids.index(open_id) + 1 if open_id in ids else None)
    if start is None:
        return 0
    end = ids.index(close_id, start) if close_id in ids[start:] else len(ids)
    stop = [i for i in range(start, end) if ids[i] in tags.eos_ids]
    return (stop[0] if stop else end) - start


def answer_tokens(ids: list[int], tags: ThinkTags) -> int:
    (close_id,) = tags.close_ids
    tail = ids[ids.index(close_id) + 1 :] if close_id in ids else []
    return next((i for i, t in enumerate(tail) if t in tags.eos_ids), len(tail))


def run(engine: Engine, budget: Budget, opened: bool, batch: int, sample: bool, extra=(), seed=0, n_new=120):
    loaded = engine.loaded
    tok, tags = loaded.tokenizer, engine.tags
    prompts = [f"question {i}: " + "x" * i for i in range(batch)]
    texts = [
        tok.apply_chat_template([{"role": "user", "content": p}], tokenize=False, add_generation_prompt=True)
        for p in prompts
    ]
    enc = tok(texts, return_tensors="pt", padding=True, add_special_tokens=False)
    proc = ThinkingBudgetProcessor(tags, budget, opened)
    procs = [*extra(enc.input_ids.shape[1]), proc] if extra else [proc]
    torch.manual_seed(seed)
    out = loaded.model.generate(
        **enc,
        max_new_tokens=n_new,
        do_sample=sample,
        temperature=1.0 if sample else None,
        top_p=None,
        top_k=None,
        logits_processor=LogitsProcessorList(procs),
        pad_token_id=tok.pad_token_id,
        eos_token_id=tags.eos_ids,
    )
    return [row[enc.input_ids.shape[1] :].tolist() for row in out], proc


@pytest.fixture(scope="module")
def plain_engine(tiny_dir_plain):
    return Engine(load_model(str(tiny_dir_plain), device="cpu"))


@pytest.mark.parametrize("mode", ["hard", "wrapup", "extend"])
@pytest.mark.parametrize("sample", [False, True])
@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("think", [0, 7, 33])
def test_thinking_never_exceeds_budget_prompt_opened(engine, mode, sample, batch, think):
    tags = engine.tags
    wrap = engine.loaded.tokenizer("\nTime is up.\n", add_special_tokens=False)["input_ids"]
    budget = Budget(
        think=think,
        mode=mode,
        min_think=min(5, think),
        answer=9,
        wrapup_ids=wrap,
        wait_ids=engine.loaded.tokenizer("\nWait,", add_special_tokens=False)["input_ids"],
    )
    rows, proc = run(engine, budget, opened=True, batch=batch, sample=sample, seed=think)
    for ids, row in zip(rows, proc.rows):
        n = thinking_tokens(ids, tags, opened=True)
        assert n <= think
        assert tags.close_ids[0] in ids, "the thought must be closed once the budget is spent"
        assert answer_tokens(ids, tags) <= 9
        if n == think:
            assert row.budget_reached or think == 0
        text = engine.loaded.tokenizer.decode(ids)
        if mode == "wrapup" and think >= len(wrap):
            assert "Time is up." in text.split("</think>")[0]
        if mode == "wrapup" and think < len(wrap):  # a sentence that does not fit is left out, never cut
            assert "Time is" not in text.split("</think>")[0]


def test_wrapup_longer_than_the_budget_is_said_and_left_out(engine):
    from playground.generation.request import Notice, ThinkingDelta

    sentence = "Considering the limited time, I have to give the solution based on the thinking directly now."
    request = GenerationRequest(
        messages=[{"role": "user", "content": "hi"}],
        temperature=0,
        think_budget=8,
        budget_mode="wrapup",
        wrapup_text=sentence,
        answer_budget=4,
    )
    events = list(engine.stream(request))
    notices = [e.text for e in events if isinstance(e, Notice)]
    assert any("longer than the thinking budget of 8" in n and "without it" in n for n in notices), notices
    thought = "".join(e.text for e in events if isinstance(e, ThinkingDelta))
    assert "Considering" not in thought


@pytest.mark.parametrize("mode", ["hard", "wrapup"])
@pytest.mark.parametrize("sample", [False, True])
def test_budget_when_the_model_emits_think_itself(plain_engine, mode, sample):
    tags = plain_engine.tags
    budget = Budget(
        think=12,
        mode=mode,
        answer=5,
        wrapup_ids=plain_engine.loaded.tokenizer("\nok\n", add_special_tokens=False)["input_ids"],
    )
    force_open = lambda n: [Boost(tags.open_ids[0], {0}, n, 1e4)]
    rows, _ = run(plain_engine, budget, opened=False, batch=2, sample=sample, extra=force_open)
    for ids in rows:
        assert ids[0] == tags.open_ids[0]
        assert thinking_tokens(ids, tags, opened=False) == 12  # random weights never close early by themselves
        assert answer_tokens(ids, tags) <= 5


def test_budget_zero_bans_opening_the_thought(plain_engine):
    tags = plain_engine.tags
    # the model is pushed hard towards <think>, yet with budget 0 it may not open it
    favour_open = lambda n: [Boost(tags.open_ids[0], None, n, 30.0)]
    rows, _ = run(plain_engine, Budget(think=0, answer=6), opened=False, batch=2, sample=False, extra=favour_open)
    for ids in rows:
        assert tags.open_ids[0] not in ids
        assert len([t for t in ids if t not in tags.eos_ids]) <= 6 + 1


def test_extend_mode_replaces_an_early_end_by_wait(engine):
    tags, tok = engine.tags, engine.loaded.tokenizer
    wait = tok("\nWait,", add_special_tokens=False)["input_ids"]
    # make the model want to close its thought right away, every step
    want_close = lambda n: [Boost(tags.close_ids[0], None, n, 50.0)]
    budget = Budget(think=60, mode="extend", min_think=20, answer=4, wait_ids=wait)
    rows, proc = run(engine, budget, opened=True, batch=2, sample=True, extra=want_close)
    for ids, row in zip(rows, proc.rows):
        n = thinking_tokens(ids, tags, opened=True)
        assert 20 <= n <= 60
        assert row.extensions >= 3
        assert "Wait," in tok.decode(ids).split("</think>")[0]
    # without the minimum, the same model closes at once
    rows, _ = run(engine, Budget(think=60, mode="hard", answer=4), opened=True, batch=1, sample=True, extra=want_close)
    assert thinking_tokens(rows[0], tags, opened=True) == 0


def test_engine_stream_counts_match_ids_and_budget(engine):
    req = GenerationRequest(
        messages=[{"role": "user", "content": "2+2?"}], temperature=0.9, seed=4, think_budget=25, answer_budget=12
    )
    stats = engine.generate(req)
    assert stats.thinking_tokens == 25 and stats.budget_reached and stats.thought_closed
    assert stats.answer_tokens <= 12
    # special tokens sampled inside the thought are hidden from the text, so re-tokenizing can only give fewer
    assert 0 < len(engine.loaded.tokenizer(stats.thinking, add_special_tokens=False)["input_ids"]) <= 25


def test_generate_batch_exact_per_row(engine):
    req = GenerationRequest(messages=[], temperature=0.8, seed=2, think_budget=15, answer_budget=6)
    prompts = [[{"role": "user", "content": "a"}], [{"role": "user", "content": "a longer question"}]]
    res = engine.generate_batch(prompts, req, n_samples=4)
    assert [len(r) for r in res] == [4, 4]
    for sample in (s for r in res for s in r):
        assert sample.thinking_tokens <= 15 and sample.answer_tokens <= 6
        assert sample.thinking_tokens == 15 and sample.budget_reached


def test_4bit_nf4_cpu_path_respects_budgets(tiny_dir):
    loaded = load_model(str(tiny_dir), quant="4bit", device="cpu")
    assert "Linear4bit" in type(loaded.model.model.layers[0].self_attn.q_proj).__name__
    eng = Engine(loaded)
    for mode in ("hard", "wrapup", "extend"):
        req = GenerationRequest(
            messages=[{"role": "user", "content": "hi"}],
            temperature=0.7,
            seed=1,
            think_budget=18,
            budget_mode=mode,
            min_think=10,
            answer_budget=5,
            wrapup_text="ok",
        )
        stats = eng.generate(req)
        assert stats.thinking_tokens <= 18 and stats.answer_tokens <= 5 and stats.thought_closed
