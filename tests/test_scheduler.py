"""Replies streamed at the same time decode as one batch, and each stays what it would be alone.

Real forward passes on the shipped tiny reasoner (greedy puzzles, verdicts) and on the random-weight tiny model.
Streams are opened one after another from one thread: each opened stream has its row in the batch once it yielded
its first event, so the rows join a batch that is already decoding (different prompt lengths: left padding).
"""

from __future__ import annotations

import threading

import pytest

from playground.generation.engine import Engine
from playground.generation.request import Done, GenerationRequest
from playground.models.loading import load_model
from playground.puzzles import generate, get_family
from training.tiny import DEFAULT_DIR


def run_together(engine: Engine, requests: list[GenerationRequest], stops=None, on_event=None) -> list[list]:
    """Open every stream (so all rows are in the batch), then read each to its end; returns the events per stream.
    `on_event(i, events)` is called after each event of stream i and may return "close" to close it."""
    stops = stops or [threading.Event() for _ in requests]
    streams = [engine.stream(r, s) for r, s in zip(requests, stops, strict=True)]
    events: list[list] = [[next(stream)] for stream in streams]
    for i, stream in enumerate(streams):
        for event in stream:
            events[i].append(event)
            if on_event and on_event(i, events[i]) == "close":
                stream.close()
                break
    return events


def stats_of(events: list):
    done = [e for e in events if isinstance(e, Done)]
    return done[0].stats if done else None


def reply(stats) -> tuple:
    return (
        stats.thinking,
        stats.answer,
        stats.thinking_tokens,
        stats.answer_tokens,
        stats.budget_reached,
        stats.thought_closed,
        stats.extensions,
        stats.stopped,
    )


PUZZLES = [("maze", 0), ("tsp", 0), ("sat", 1), ("spatial_map", 1), ("maze", 1), ("tsp", 1), ("maze", 5), ("sat", 3)]
BUDGETS = [
    {},  # the defaults: 512 thinking tokens, hard cut, 1024 answer tokens
    {"think_budget": None, "answer_budget": None},
    {"think_budget": 40},  # cut short
    {"think_budget": 60, "budget_mode": "wrapup", "wrapup_text": "Time is up, answer now."},
    {"think_budget": 300, "budget_mode": "extend", "min_think": 250},  # "Wait," instead of an early end
    {"answer_budget": 6},
    {"think_budget": 0},
    {"think_budget": None, "budget_mode": "extend", "min_think": 120, "answer_budget": 30},
]


@pytest.mark.skipif(not (DEFAULT_DIR / "config.json").exists(), reason="assets/tiny-reasoner not shipped")
def test_greedy_puzzle_replies_in_one_batch_equal_the_replies_alone():
    engine = Engine(load_model("tiny", quant="none", device="cpu", offline=True))
    instances = [generate(family, 1, seed) for family, seed in PUZZLES]
    requests = [
        GenerationRequest(messages=[{"role": "user", "content": inst.prompt}], temperature=0, **budget)
        for inst, budget in zip(instances, BUDGETS, strict=True)
    ]
    alone = [engine.generate(r) for r in requests]
    assert engine.scheduler.widest == 1
    together = [stats_of(events) for events in run_together(engine, requests)]
    assert engine.scheduler.widest == len(requests)  # all eight decoded in one batch

    def verdict(family, inst, stats):
        return get_family(family).verify(inst, f"<think>{stats.thinking}</think>{stats.answer}").correct

    for (family, _), inst, a, b in zip(PUZZLES, instances, alone, together, strict=True):
        assert reply(a) == reply(b)
        assert verdict(family, inst, a) == verdict(family, inst, b)
    assert sum(verdict(f, i, a) for (f, _), i, a in zip(PUZZLES, instances, alone)) >= 4  # real answers, not noise
    assert alone[4].extensions > 0 and alone[2].budget_reached and alone[3].budget_reached  # the modes did act
    # the batch loop reproduces model.generate (the path of models it does not serve)
    engine.scheduling = False
    for request, a in list(zip(requests, alone))[:3]:
        assert reply(engine.generate(request)) == reply(a)


@pytest.fixture(scope="module")
def tiny_engine(tiny_dir):
    return Engine(load_model(str(tiny_dir), device="cpu"))


def sampled(seed: int | None, content: str = "Tell me something.", temperature: float = 1.0) -> GenerationRequest:
    # "extend" with the minimum = the budget: every reply thinks exactly 80 tokens, so all rows overlap in the batch
    return GenerationRequest(
        messages=[{"role": "user", "content": content}],
        temperature=temperature,
        top_p=0.9,
        top_k=40,
        seed=seed,
        think_budget=80,
        budget_mode="extend",
        min_think=80,
        answer_budget=8,
    )


def test_a_seeded_reply_is_the_same_whatever_shares_its_batch(tiny_engine):
    alone = reply(tiny_engine.generate(sampled(7)))
    mates = [sampled(None, "a"), sampled(3, "bb"), sampled(7), sampled(None, "c" * 40), sampled(7), sampled(5, "d", 0)]
    together = [stats_of(events) for events in run_together(tiny_engine, mates)]
    assert tiny_engine.scheduler.widest >= len(mates)
    assert reply(together[2]) == reply(together[4]) == alone
    assert reply(together[1]) != alone  # another seed (and prompt) samples another reply
    assert all(s.thinking_tokens == 80 for s in together)


def test_stop_of_one_reply_ends_only_it(tiny_engine):
    requests = [sampled(1, "one"), sampled(2, "two"), sampled(None, "three", 0)]
    alone = [reply(tiny_engine.generate(r)) for r in requests]
    stops = [threading.Event() for _ in requests]

    def stop_first(i, events):
        if i == 0 and len(events) == 3:
            stops[0].set()

    together = [stats_of(events) for events in run_together(tiny_engine, requests, stops, stop_first)]
    assert together[0].stopped and together[0].thinking_tokens < 80
    assert [reply(s) for s in together[1:]] == alone[1:]


def test_closing_a_stream_ends_its_row_and_the_worker_ends_with_the_last_row(tiny_engine):
    requests = [sampled(1, "one"), sampled(2, "two")]
    alone = reply(tiny_engine.generate(requests[1]))
    before = threading.active_count()
    stops = [threading.Event() for _ in requests]

    def close_first(i, events):
        return "close" if i == 0 and len(events) == 3 else None

    events = run_together(tiny_engine, requests, stops, close_first)
    assert stops[0].is_set() and stats_of(events[0]) is None  # the closed stream set its stop and ended
    assert reply(stats_of(events[1])) == alone
    assert not tiny_engine.busy and threading.active_count() == before  # no decoding thread is left


def test_a_failing_forward_ends_its_batch_with_an_error_and_the_next_reply_works(tiny_engine):
    calls = {"n": 0}

    def fail_on_the_tenth(module, args, kwargs):
        calls["n"] += 1
        if calls["n"] == 10:
            raise RuntimeError("injected failure")

    handle = tiny_engine.loaded.model.register_forward_pre_hook(fail_on_the_tenth, with_kwargs=True)
    try:
        with pytest.raises(RuntimeError, match="Generation failed: injected failure"):
            run_together(tiny_engine, [sampled(1, "one"), sampled(2, "two")])
    finally:
        handle.remove()
    assert not tiny_engine.busy
    assert tiny_engine.generate(sampled(1, "one")).thinking_tokens == 80
