"""Faults a shared app meets: running out of memory mid-generation, Stop at every moment of a reply, and a long
soak of chats and evaluations. Each must end cleanly: a clear message, no stuck engine, no leaked threads, bounded
memory. The figures (thread counts, memory growth) are printed; run with -s to see them."""

from __future__ import annotations

import gc
import os
import threading
import time
from pathlib import Path

import pytest
import torch

from playground.evaluation.run import EvalConfig, run_evaluation
from playground.generation.engine import Engine
from playground.generation.request import AnswerDelta, Done, GenerationRequest, ThinkingDelta
from playground.models.loading import load_model

QUESTION = [{"role": "user", "content": "Count the sheep."}]


@pytest.fixture(scope="module")
def fresh(tiny_dir) -> Engine:
    """An engine of its own: these tests break its forward pass on purpose."""
    return Engine(load_model(str(tiny_dir), device="cpu"))


def _threads_settle(baseline: int, within: float = 10.0) -> int:
    """The live thread count once finished workers have exited (waits up to `within` seconds)."""
    deadline = time.monotonic() + within
    while threading.active_count() > baseline and time.monotonic() < deadline:
        time.sleep(0.05)
    return threading.active_count()


def _rss_mb() -> float:
    with open(f"/proc/{os.getpid()}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


class _OutOfMemoryOnce:
    """A forward hook that raises the error CUDA raises when memory runs out, on the `after`-th forward only."""

    def __init__(self, after: int):
        self.calls, self.after = 0, after

    def __call__(self, module, args, output):
        self.calls += 1
        if self.calls == self.after:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
        return output


@pytest.mark.parametrize("after", [1, 5], ids=["prefill", "decoding"])
def test_out_of_memory_gives_a_clear_error_and_the_next_request_works(fresh, after):
    baseline = threading.active_count()
    layer = fresh.loaded.model.model.layers[0]
    handle = layer.register_forward_hook(_OutOfMemoryOnce(after))
    request = GenerationRequest(messages=QUESTION, temperature=0, think_budget=32, answer_budget=8)
    try:
        with pytest.raises(RuntimeError, match="(?i)out of memory") as err:
            list(fresh.stream(request))
    finally:
        handle.remove()
    assert not isinstance(err.value, torch.OutOfMemoryError)  # the UI gets the engine's message, not a CUDA error
    assert not fresh.busy
    stats = fresh.generate(request)  # the next request runs normally on the same weights
    assert stats.thinking_tokens > 0
    assert _threads_settle(baseline) <= baseline, "a generation thread outlived its failed request"


def _stop_when(engine: Engine, moment: str) -> tuple[list, float]:
    """Stream a long reply and set its stop event at `moment` (before / thinking / answer / after); return the events
    and how long the stream ran after the stop."""
    stop = threading.Event()
    request = GenerationRequest(messages=QUESTION, temperature=1.0, seed=3, think_budget=None, answer_budget=None)
    if moment == "answer":
        request = GenerationRequest(messages=QUESTION, temperature=1.0, seed=3, think_budget=0, answer_budget=None)
    if moment == "after":
        request = GenerationRequest(messages=QUESTION, temperature=1.0, seed=3, think_budget=32, answer_budget=16)
    if moment == "before":
        stop.set()
    events, stopped_at = [], None
    for event in engine.stream(request, stop):
        events.append(event)
        trigger = {"thinking": ThinkingDelta, "answer": AnswerDelta}.get(moment)
        if trigger and isinstance(event, trigger) and stopped_at is None:
            stop.set()
            stop.set()  # a double Stop is the same as one
            stopped_at = time.monotonic()
    if moment == "after":
        stop.set()
        stopped_at = time.monotonic()
    return events, time.monotonic() - (stopped_at or time.monotonic())


@pytest.mark.parametrize("moment", ["before", "thinking", "answer", "after"])
def test_stop_at_any_moment_ends_the_reply_and_leaks_no_thread(engine, moment):
    baseline = threading.active_count()
    events, after_stop = _stop_when(engine, moment)
    assert isinstance(events[-1], Done)
    stats = events[-1].stats
    if moment != "after":
        assert stats.thinking_tokens + stats.answer_tokens < 500, "the reply ran on after its Stop"
        assert after_stop < 30
    assert not engine.busy
    left = _threads_settle(baseline)
    print(f"\n[faults] stop {moment}: {stats.thinking_tokens}+{stats.answer_tokens} tokens, threads {baseline}->{left}")
    assert left <= baseline


def test_closing_a_stream_early_releases_the_engine(engine):
    baseline = threading.active_count()
    stream = engine.stream(GenerationRequest(messages=QUESTION, temperature=1.0, think_budget=None, answer_budget=None))
    for event in stream:
        if isinstance(event, ThinkingDelta):
            break
    stream.close()  # what a disconnected visitor's generator gets
    assert _threads_settle(baseline) <= baseline
    deadline = time.monotonic() + 10
    while engine.busy and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not engine.busy


@pytest.mark.slow
def test_soak_chats_and_evaluations_keep_memory_bounded(engine, tmp_path: Path):
    """100 short chats and 25 small evaluations; memory after warm-up must stay within 50 MB."""
    request = GenerationRequest(messages=QUESTION, temperature=0.7, think_budget=12, answer_budget=6)
    config = dict(family="maze", levels=[1], puzzles=2, samples=2, budgets=[0, 16], answer_budget=8, temperature=0.7)
    for i in range(20):  # warm-up of both paths (one reply, batched replies): allocator pools and caches settle
        engine.generate(GenerationRequest(**{**request.__dict__, "seed": i}))
    for i in range(3):
        run_evaluation(engine, EvalConfig(**config, seed=i, name=f"warm-{i}"), runs_dir=tmp_path)
    gc.collect()
    start = _rss_mb()
    samples = []
    for i in range(100):
        engine.generate(GenerationRequest(**{**request.__dict__, "seed": i}))
        if i % 25 == 24:
            gc.collect()
            samples.append(round(_rss_mb() - start, 1))
    for i in range(25):
        run_evaluation(engine, EvalConfig(**config, seed=i, name=f"soak-{i}"), runs_dir=tmp_path)
        if i % 5 == 4:
            gc.collect()
            samples.append(round(_rss_mb() - start, 1))
    growth = _rss_mb() - start
    print(f"\n[soak] RSS {start:.0f} MB after warm-up; growth every 25 chats / 5 evaluations (MB): {samples}")
    assert growth < 50, f"memory grew by {growth:.0f} MB over the soak"
