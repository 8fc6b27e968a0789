"""Seeded sampling repeats exactly, whatever else the process samples at the same time."""

from __future__ import annotations

import threading

import torch

from playground.generation.request import GenerationRequest


def _request(seed: int | None) -> GenerationRequest:
    return GenerationRequest(
        messages=[{"role": "user", "content": "Tell me something."}],
        temperature=1.0,
        top_p=0.9,
        top_k=40,
        seed=seed,
        think_budget=24,
        answer_budget=8,
    )


def test_a_seed_repeats_a_reply_while_another_thread_samples(engine):
    alone = engine.generate(_request(7))
    busy = threading.Event()

    def noise() -> None:  # another visitor: draws from torch's global generator all the time
        while not busy.is_set():
            torch.rand(64)

    thread = threading.Thread(target=noise, daemon=True)
    thread.start()
    try:
        crowded = engine.generate(_request(7))
        torch.manual_seed(12345)  # someone reseeds the global generator mid-way: no effect on a seeded request
        again = engine.generate(_request(7))
    finally:
        busy.set()
        thread.join()
    assert (alone.thinking, alone.answer) == (crowded.thinking, crowded.answer) == (again.thinking, again.answer)
    other = engine.generate(_request(8))
    assert (other.thinking, other.answer) != (alone.thinking, alone.answer)  # the seed matters


def test_seeded_batches_repeat_and_their_samples_differ(engine):
    prompts = [[{"role": "user", "content": "a"}], [{"role": "user", "content": "b"}]]
    first = engine.generate_batch(prompts, _request(3), n_samples=3)
    torch.rand(1000)
    second = engine.generate_batch(prompts, _request(3), n_samples=3)

    def texts(out):
        return [[s.thinking + s.answer for s in samples] for samples in out]

    assert texts(first) == texts(second)
    assert len(set(texts(first)[0])) > 1  # three samples of one prompt are three draws, not one
