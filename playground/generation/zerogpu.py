"""Running on a ZeroGPU Space: a backend's GPU work inside `@spaces.GPU`, with a duration asked for per request.

On ZeroGPU the main process has no GPU. A function decorated with `spaces.GPU(duration=...)` gets one for each call:
it runs in a forked worker (its arguments and results, or each value a generator yields, are pickled across), and
the duration it asks for is computed from the call's own arguments, here the request's budgets and the number of
rows. `wrap_for_space(backend)` decorates a backend's `stream`, `generate` and `generate_batch` so, on that backend
itself (it stays the same object, an `Engine` keeps its model cache and attributes); off ZeroGPU it returns the
backend untouched, and nothing here imports `spaces`, touches CUDA or compiles anything.

A stop `threading.Event` cannot cross into the worker: a stream is stopped by closing it (ZeroGPU then closes the
generator in the worker, which ends the generation at the next token), and a batch is stopped between batches.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from playground.generation.request import (
    AnswerDelta,
    Done,
    Event,
    GenerationRequest,
    GenerationStats,
    Notice,
    ThinkingDelta,
    final_stats,
)
from playground.models.loading import on_zerogpu

STARTUP_S = 15  # a worker's start: the process forks and the weights move onto the GPU
DECODE_STEPS_PER_S = 20.0  # a conservative decode rate of one row of a 14B model in bf16
ROWS_PER_STEP = 32  # a decode step over R rows costs (1 + R / ROWS_PER_STEP) steps of one row
UNLIMITED_TOKENS = 8192  # what an unlimited budget is counted as (the duration is capped anyway)
MIN_S, MAX_S = 30, 240  # every call asks for at least / at most this many seconds

GPU = Callable[..., Callable[[Callable], Callable]]  # spaces.GPU: GPU(duration=...)(function)


def request_tokens(request: GenerationRequest) -> int:
    """Tokens a request may generate per row: its thinking budget plus its answer budget."""
    think = UNLIMITED_TOKENS if request.think_budget is None else request.think_budget
    answer = UNLIMITED_TOKENS if request.answer_budget is None else request.answer_budget
    return think + answer


def gpu_seconds(request: GenerationRequest, rows: int = 1) -> int:
    """Seconds of GPU to ask for: start-up plus the request's decode steps over `rows` rows, within MIN_S..MAX_S."""
    seconds = STARTUP_S + request_tokens(request) * (1 + max(rows, 1) / ROWS_PER_STEP) / DECODE_STEPS_PER_S
    return int(min(MAX_S, max(MIN_S, math.ceil(seconds))))


def stream_seconds(request: GenerationRequest) -> int:
    """The duration a streamed reply asks for (called with the decorated function's arguments)."""
    return gpu_seconds(request, 1)


def batch_seconds(prompts: list[list[dict[str, str]]], request: GenerationRequest, n_samples: int = 1) -> int:
    """The duration a batch of `n_samples` replies per prompt asks for (the decorated function's arguments)."""
    return gpu_seconds(request, len(prompts) * max(n_samples, 1))


def wrap_for_space(backend: Any, gpu: GPU | None = None) -> Any:
    """On a ZeroGPU Space: `backend` with its GPU work decorated by `spaces.GPU` (imported here, before any model
    loads, as ZeroGPU requires). Elsewhere: `backend` unchanged. `gpu` replaces `spaces.GPU` (tests)."""
    if gpu is None:
        if not on_zerogpu():
            return backend
        import spaces

        gpu = spaces.GPU
    stream, generate_batch = backend.stream, backend.generate_batch  # the backend's own, bound

    def stream_on_gpu(request: GenerationRequest) -> Iterator[Event]:
        yield from stream(request, None)

    def batch_on_gpu(
        prompts: list[list[dict[str, str]]], request: GenerationRequest, n_samples: int = 1
    ) -> list[list[GenerationStats]]:
        return generate_batch(prompts, request, n_samples, None)

    gpu_stream = gpu(duration=stream_seconds)(stream_on_gpu)
    gpu_batch = gpu(duration=batch_seconds)(batch_on_gpu)

    def zerogpu_stream(request: GenerationRequest, stop: threading.Event | None = None) -> Iterator[Event]:
        request.validate()  # a bad request is refused here, before a GPU is asked for
        info = backend.describe()
        return _stoppable(gpu_stream(request), stop, info.name if info else "")

    def zerogpu_generate(request: GenerationRequest, stop: threading.Event | None = None) -> GenerationStats:
        return final_stats(zerogpu_stream(request, stop))

    def zerogpu_generate_batch(
        prompts: list[list[dict[str, str]]],
        request: GenerationRequest,
        n_samples: int = 1,
        stop: threading.Event | None = None,
    ) -> list[list[GenerationStats]]:
        if stop is not None and stop.is_set():
            return [[GenerationStats(stopped=True) for _ in range(n_samples)] for _ in prompts]
        return gpu_batch(prompts, request, n_samples)

    backend.stream, backend.generate = zerogpu_stream, zerogpu_generate
    backend.generate_batch = zerogpu_generate_batch
    backend.zerogpu = True
    return backend


def _stoppable(events: Iterator[Event], stop: threading.Event | None, model: str = "") -> Iterator[Event]:
    """`events` until they end or `stop` is set; on Stop the stream is closed (which ends the generation in the
    worker) and a `Done` made of what arrived ends it, marked stopped."""
    stats, t0 = GenerationStats(model=model), time.perf_counter()
    try:
        for event in events:
            yield event
            if isinstance(event, Done):
                return
            if isinstance(event, ThinkingDelta):
                stats.thinking += event.text
                stats.thinking_tokens = event.n_tokens
            elif isinstance(event, AnswerDelta):
                stats.answer += event.text
                stats.answer_tokens = event.n_tokens
            elif isinstance(event, Notice):
                stats.notices.append(event.text)
            if stop is not None and stop.is_set():
                break
    finally:
        close = getattr(events, "close", None)
        if close is not None:
            close()
    stats.seconds, stats.stopped = time.perf_counter() - t0, bool(stop is not None and stop.is_set())
    yield Done(stats)
