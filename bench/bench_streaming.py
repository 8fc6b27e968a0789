"""Streaming path vs raw `model.generate`: same model, prompt and number of generated tokens (goal ≥ 0.95×).

    python bench/bench_streaming.py [--tokens 384] [--repeats 5] [--hidden 512 --layers 8]

The streaming path is the engine's: worker thread + TextIteratorStreamer + the thinking-budget logits processor +
the think/answer splitter. Runs alternate between the two paths so machine noise hits both alike.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from playground.generation.engine import Engine  # noqa: E402
from playground.generation.request import GenerationRequest  # noqa: E402
from playground.models.loading import load_model  # noqa: E402
from playground.models.placeholder import build_placeholder  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tokens", type=int, default=384, help="thinking tokens (the answer adds 32 more)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--hidden", type=int, default=512)
    ap.add_argument("--layers", type=int, default=8)
    ap.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads for both paths (OpenMP pools are per calling thread: the engine generates in a "
        "worker thread, so more than one here would favour one path on a busy machine)",
    )
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        path = build_placeholder(tmp, hidden=args.hidden, layers=args.layers)
        loaded = load_model(str(path), device="cpu")
        engine = Engine(loaded)
        answer = 32
        req = GenerationRequest(
            messages=[{"role": "user", "content": "Find a path through the maze."}],
            temperature=0,
            think_budget=args.tokens,
            answer_budget=answer,
        )
        ids, _, _ = engine.render(req)
        input_ids = torch.tensor([ids])
        stats = engine.generate(req)  # warm-up, and the exact token count the raw path must match
        n_new = stats.thinking_tokens + stats.answer_tokens + 2  # + </think> + end-of-sequence
        raw_t, stream_t = [], []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            with torch.inference_mode():
                out = loaded.model.generate(
                    input_ids=input_ids,
                    attention_mask=torch.ones_like(input_ids),
                    max_new_tokens=n_new,
                    min_new_tokens=n_new,
                    do_sample=False,
                    temperature=None,
                    top_p=None,
                    top_k=None,
                    pad_token_id=loaded.tokenizer.pad_token_id,
                )
            raw_t.append(time.perf_counter() - t0)
            assert out.shape[1] - input_ids.shape[1] == n_new
            t0 = time.perf_counter()
            s = engine.generate(req)
            stream_t.append(time.perf_counter() - t0)
            assert s.thinking_tokens + s.answer_tokens + 2 == n_new
        raw, stream = statistics.median(raw_t), statistics.median(stream_t)
        params = loaded.params / 1e6
        print(f"model: random Llama {params:.1f}M params (hidden {args.hidden}, {args.layers} layers), CPU")
        print(f"tokens per run: {n_new} ({stats.thinking_tokens} thinking + {stats.answer_tokens} answer + 2 tags)")
        print(f"raw model.generate : {n_new / raw:8.1f} tokens/s  (median of {args.repeats})")
        print(f"engine.stream      : {n_new / stream:8.1f} tokens/s")
        print(f"ratio stream/raw   : {raw / stream:8.3f}x   (goal >= 0.95x)")


if __name__ == "__main__":
    main()
