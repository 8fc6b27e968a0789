"""ZeroGPU wiring, checked on CPU. The ZeroGPU service cannot run here, so `StandInGPU` stands in for
`spaces.GPU`: like it, it evaluates the requested duration with each call's own arguments, and like its worker
queue it pickles the arguments and every value returned or yielded. The real `spaces` package is checked to be a
no-op off ZeroGPU. The engine is the tiny random-weight model: real forward passes."""

from __future__ import annotations

import functools
import inspect
import itertools
import pickle
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from playground.generation import zerogpu
from playground.generation.request import Done, GenerationRequest, ThinkingDelta
from playground.generation.zerogpu import batch_seconds, gpu_seconds, stream_seconds, wrap_for_space

ROOT = Path(__file__).resolve().parent.parent


class StandInGPU:
    """Records each call as (function name, requested seconds); pickles what crosses the process boundary."""

    def __init__(self):
        self.calls: list[tuple[str, int]] = []
        self.closed = 0

    def __call__(self, duration):
        def decorate(fn):
            if inspect.isgeneratorfunction(fn):

                @functools.wraps(fn)
                def run_generator(*args, **kwargs):
                    self.calls.append((fn.__name__, duration(*args, **kwargs)))
                    args, kwargs = pickle.loads(pickle.dumps((args, kwargs)))
                    inner = fn(*args, **kwargs)
                    try:
                        for value in inner:
                            yield pickle.loads(pickle.dumps(value))
                    finally:
                        inner.close()
                        self.closed += 1

                return run_generator

            @functools.wraps(fn)
            def run(*args, **kwargs):
                self.calls.append((fn.__name__, duration(*args, **kwargs)))
                args, kwargs = pickle.loads(pickle.dumps((args, kwargs)))
                return pickle.loads(pickle.dumps(fn(*args, **kwargs)))

            return run

        return decorate


@pytest.fixture(autouse=True)
def off_zerogpu(monkeypatch):
    monkeypatch.delenv("SPACES_ZERO_GPU", raising=False)
    monkeypatch.delenv("ZEROGPU_CUDA_TOTAL_MEMORY", raising=False)


@pytest.fixture(scope="module")
def fresh_engine(tiny_dir):
    """An engine of its own: wrapping changes the instance, and the session's shared engine must stay plain."""
    import torch

    from playground.generation.engine import Engine
    from playground.models.loading import load_model

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield lambda: Engine(load_model(str(tiny_dir), device="cpu"))
    torch.set_num_threads(before)


def request(**kw) -> GenerationRequest:
    base = dict(messages=[{"role": "user", "content": "Is 91 prime?"}], temperature=0.0, think_budget=12)
    return GenerationRequest(**{**base, "answer_budget": 6, **kw})


def test_durations_follow_the_budgets_and_rows():
    small = request(think_budget=512, answer_budget=128)
    assert stream_seconds(small) == gpu_seconds(small) == 15 + round(640 * (1 + 1 / 32) / 20)
    assert stream_seconds(request(think_budget=0, answer_budget=16)) == zerogpu.MIN_S
    assert stream_seconds(request(think_budget=None, answer_budget=None)) == zerogpu.MAX_S
    seconds = [stream_seconds(request(think_budget=b, answer_budget=64)) for b in (256, 512, 1024, 2048)]
    assert seconds == sorted(seconds) and len(set(seconds)) == 4
    prompts = [[{"role": "user", "content": "x"}]] * 8
    assert batch_seconds(prompts, small, 8) > batch_seconds(prompts, small, 1) > stream_seconds(small)
    assert batch_seconds(prompts * 100, small, 64) == zerogpu.MAX_S


def test_off_zerogpu_nothing_changes_and_spaces_is_a_no_op(fresh_engine):
    import spaces  # the real package: off ZeroGPU its decorator returns the function itself

    engine = fresh_engine()
    assert wrap_for_space(engine) is engine and "stream" not in vars(engine)
    assert spaces.GPU(duration=stream_seconds)(stream_seconds) is stream_seconds


def test_a_stream_is_one_gpu_call_with_its_duration_and_the_same_reply(fresh_engine):
    plain = fresh_engine()
    expected = [e for e in plain.stream(request())]
    gpu = StandInGPU()
    engine = wrap_for_space(fresh_engine(), gpu)
    assert engine.zerogpu is True
    got = list(engine.stream(request()))
    assert gpu.calls == [("stream_on_gpu", stream_seconds(request()))]
    # the same events and text; how text splits into deltas depends on how fast the reader drains the streamer
    strip = lambda events: [  # noqa: E731
        (kind, "".join(getattr(e, "text", "") or "" for e in group))
        for kind, group in itertools.groupby(events, key=lambda e: type(e).__name__)
    ]
    assert strip(got) == strip(expected)
    assert got[-1].stats.answer == expected[-1].stats.answer and got[-1].stats.thinking_tokens <= 12
    stats = engine.generate(request(think_budget=8))  # generate streams too: one more call, its own duration
    assert gpu.calls[-1] == ("stream_on_gpu", stream_seconds(request(think_budget=8)))
    assert len(gpu.calls) == 2 and stats.thinking_tokens <= 8
    with pytest.raises(ValueError):
        engine.stream(request(temperature=float("nan")))
    assert len(gpu.calls) == 2  # refused before asking for a GPU


def test_a_batch_is_one_gpu_call_and_an_evaluation_one_per_batch(fresh_engine, tmp_path):
    from playground.evaluation.run import EvalConfig, run_evaluation

    prompts = [[{"role": "user", "content": f"Is {n} prime?"}] for n in (7, 9)]
    req = request(temperature=0.8, seed=3)
    expected = fresh_engine().generate_batch(prompts, req, 3)
    gpu = StandInGPU()
    engine = wrap_for_space(fresh_engine(), gpu)
    got = engine.generate_batch(prompts, req, 3)
    assert gpu.calls == [("batch_on_gpu", batch_seconds(prompts, req, 3))]
    assert [[s.answer for s in row] for row in got] == [[s.answer for s in row] for row in expected]
    config = EvalConfig(family="maze", puzzles=4, samples=2, budgets=[0, 8], answer_budget=8, batch_rows=4)
    gpu.calls.clear()
    result = run_evaluation(engine, config, runs_dir=tmp_path)
    assert len(result.records) == 4 * 2 * 2
    assert [name for name, _ in gpu.calls] == ["batch_on_gpu"] * 4  # 2 budgets × 2 batches of 2 puzzles × 2 samples
    stop = threading.Event()
    stop.set()
    assert engine.generate_batch(prompts, req, 2, stop)[1][1].stopped and len(gpu.calls) == 4


def test_stop_closes_the_gpu_stream_and_ends_with_a_stopped_done(fresh_engine):
    gpu = StandInGPU()
    engine = wrap_for_space(fresh_engine(), gpu)
    stop = threading.Event()
    events = []
    for event in engine.stream(request(think_budget=None, answer_budget=None), stop):
        events.append(event)
        if isinstance(event, ThinkingDelta) and event.n_tokens >= 3:
            stop.set()
    done = events[-1]
    assert isinstance(done, Done) and done.stats.stopped and 3 <= done.stats.thinking_tokens < 50
    assert gpu.closed == 1 and not engine.busy  # the worker's generator was closed and the generation ended


def test_on_zerogpu_auto_never_asks_torch_cuda(monkeypatch):
    import torch

    from playground.models import loading

    def no_cuda(*args, **kwargs):
        raise AssertionError("torch.cuda was asked on ZeroGPU's main process")

    monkeypatch.setenv("SPACES_ZERO_GPU", "true")
    for name in ("is_available", "mem_get_info", "device_count", "empty_cache"):
        monkeypatch.setattr(torch.cuda, name, no_cuda)
    assert loading.on_zerogpu()
    assert loading.resolve_device("auto") == "cuda" and loading.resolve_device("cpu") == "cpu"
    assert loading.resolve_quant("auto", "cuda") == "none"  # bf16: no GPU while loading for bitsandbytes
    assert loading.free_memory_gb("cuda") == loading.ZEROGPU_MEMORY_GB
    bf16 = loading.resolve_quant("auto", "cuda")
    assert loading._auto_choice("cuda", True, [], bf16) == "phi-4-reasoning-plus"  # 14.7B in bf16 fits in 70 GB
    monkeypatch.setenv("ZEROGPU_CUDA_TOTAL_MEMORY", str(8 * 10**9))
    assert loading.free_memory_gb("cuda") == 8.0
    assert loading._auto_choice("cuda", True, [], bf16) == "qwen3-1.7b"  # sized for bf16 ...
    assert loading._auto_choice("cuda", True, [], "4bit") == "phi-4-mini-reasoning"  # ... not for 4-bit
    loading.unload(None)
    loading.unload(loading.LoadedModel(None, None, "x", "x", None, "none", "cuda", ""))


def test_importing_the_app_touches_no_cuda_and_nothing_compiles():
    code = """
import torch
def no_cuda(*a, **k):
    raise SystemExit("CUDA touched at import")
for name in ("is_available", "mem_get_info", "device_count", "init", "_lazy_init"):
    setattr(torch.cuda, name, no_cuda)
import pkgutil, importlib, app, playground
for mod in pkgutil.walk_packages(playground.__path__, "playground."):
    if not mod.name.endswith("__main__"):
        importlib.import_module(mod.name)
app.parse_args([])
print("ok", torch.cuda.is_initialized())
"""
    env = {"SPACES_ZERO_GPU": "true", "HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and proc.stdout.split() == ["ok", "False"], proc.stderr[-2000:]
    for path in [ROOT / "app.py", *(ROOT / "playground").rglob("*.py")]:
        assert "torch.compile" not in path.read_text(), path


def test_models_a_visitor_loads_on_zerogpu_run_inside_spaces_gpu(fresh_engine, tiny_dir_plain, monkeypatch):
    import types

    from playground.generation.pool import ModelCache, model_key

    gpu = StandInGPU()
    monkeypatch.setenv("SPACES_ZERO_GPU", "true")
    monkeypatch.setitem(sys.modules, "spaces", types.SimpleNamespace(GPU=gpu))  # the service cannot run here
    cache = ModelCache(fresh_engine(), capacity=2, offline=True)
    with cache.using(model_key(str(tiny_dir_plain), "none", "cpu")) as other:
        assert getattr(other, "zerogpu", False) is True
        stats = other.generate(request())
    assert gpu.calls == [("stream_on_gpu", stream_seconds(request()))] and stats.thinking_tokens <= 12
