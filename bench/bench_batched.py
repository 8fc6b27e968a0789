"""Batched sampling (one generate call, num_return_sequences=N) vs N sequential generations (a script, not a test).

    python bench/bench_batched.py [--model tiny] [--n 16] [--think 64] [--repeats 3] [--threads K] [--device cpu]

Same model, same prompt and the same number of tokens on every path: every row
thinks exactly --think tokens ("extend" mode with the minimum = the budget turns an early </think> or EOS into
"Wait") and the answer budget is 0, so no row can stop early. Sequential is measured twice: N calls of
`generate_batch(n_samples=1)` (the same code path) and N calls of `Engine.generate` (the streaming path the UI
uses). Two prompts: a puzzle (maze, default level: ~500 tokens with the tiny model's character tokenizer) and a
short question. Goal: batched ≥ 6× faster than sequential on CPU with the tiny model. Prints medians of --repeats.
On a shared, oversubscribed CPU, torch's default threads can be far slower than --threads 1 for this tiny model.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere without installing
os.environ.setdefault("HF_HUB_OFFLINE", "1")

GOAL = 6.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="tiny")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda", "auto"])
    ap.add_argument("--n", type=int, default=16, help="samples")
    ap.add_argument("--think", type=int, default=64, help="thinking tokens per sample (exact)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's choice)")
    ap.add_argument("--prompt", choices=["puzzle", "short", "both"], default="both", help="which prompt to time")
    args = ap.parse_args()

    import torch

    from playground.generation.engine import Engine
    from playground.models.loading import load_model
    from playground.puzzles import get_family

    if args.threads:
        torch.set_num_threads(args.threads)
    engine = Engine(load_model(args.model, device=args.device, offline=True))
    loaded = engine.loaded
    print(
        f"model {loaded.name} ({loaded.params / 1e6:.2f}M params, {loaded.device}, {torch.get_num_threads()} threads)"
    )
    print(f"N={args.n}; every sample thinks exactly {args.think} tokens; median of {args.repeats} runs")
    fam = get_family("maze")
    prompts = {"puzzle": fam.generate(0, fam.default_level).prompt, "short": SHORT}
    for kind in ("puzzle", "short") if args.prompt == "both" else (args.prompt,):
        bench_prompt(engine, kind, prompts[kind], args)


SHORT = "Is 91 prime?"


def bench_prompt(engine, kind: str, text: str, args: argparse.Namespace) -> None:
    from playground.generation.request import GenerationRequest

    prompt = [{"role": "user", "content": text}]
    req = GenerationRequest(
        messages=prompt,
        temperature=0.8,
        seed=0,
        think_budget=args.think,
        budget_mode="extend",
        min_think=args.think,
        answer_budget=0,
    )
    count = lambda stats: sum(s.thinking_tokens + s.answer_tokens for s in stats)
    paths = {
        f"batched (1 call, N={args.n})": lambda: count(engine.generate_batch([prompt], req, n_samples=args.n)[0]),
        f"sequential ({args.n} × generate_batch n=1)": lambda: sum(
            count(engine.generate_batch([prompt], req, n_samples=1)[0]) for _ in range(args.n)
        ),
        f"sequential ({args.n} × generate, streamed)": lambda: sum(
            count([engine.generate(req)]) for _ in range(args.n)
        ),
    }
    engine.generate_batch([prompt], req, n_samples=2)  # warm-up (first-call allocations)
    rows = []
    for name, fn in paths.items():
        times, tokens = [], set()
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            tokens.add(fn())
            times.append(time.perf_counter() - t0)
        rows.append((name, statistics.median(times), tokens))
    print(f"\n{kind} prompt ({len(engine.render(req)[0])} tokens): {text[:60]!r}{'…' if len(text) > 60 else ''}")
    print(f"  {'path':<42} {'seconds':>8} {'tokens':>7} {'tokens/s':>9}")
    for name, seconds, tokens in rows:
        print(f"  {name:<42} {seconds:>8.3f} {max(tokens):>7} {max(tokens) / seconds:>9.0f}")
    counts = {t for _, _, tokens in rows for t in tokens}
    if len(counts) != 1:
        print(f"  WARNING: the paths generated different token counts {sorted(counts)}: not like for like")
    for name, seconds, _ in rows[1:]:
        ratio = seconds / rows[0][1]
        verdict = "met" if ratio >= GOAL else "NOT met"
        print(f"  speed-up vs {name.split('(')[1].rstrip(')')}: {ratio:.1f}× (goal ≥ {GOAL:.0f}×: {verdict})")


if __name__ == "__main__":
    main()
