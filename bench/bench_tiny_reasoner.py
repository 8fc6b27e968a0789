"""The shipped tiny reasoner's accuracy table (family × thinking budget) and its CPU generation speed (a script).

    python bench/bench_tiny_reasoner.py [--model assets/tiny-reasoner] [--puzzles 30] [--quant none|4bit]
                                        [--families sat maze ...] [--speed-only]

Accuracy: greedy pass@1 at level 1 on held-out seeds 0..N-1 (never trained on), with the thinking budget at 0, 25%,
50% and unlimited of the family's median reference-trace length (training/tiny_eval.py). Speed: generated tokens/s
of one stream and of a batch of 16 prompts (greedy, unlimited thinking) on CPU. Goals: ≥ 60% average
unlimited pass@1 on four families with maze and 3SAT among them; ≥ 30 points drop at budget 0 on two families;
4-bit within 5 points.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere without installing
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from playground.generation.engine import Engine  # noqa: E402
from playground.generation.request import GenerationRequest  # noqa: E402
from playground.models.loading import load_model  # noqa: E402
from playground.puzzles import generate  # noqa: E402
from training.tiny import DEFAULT_DIR, DEFAULT_FAMILIES  # noqa: E402
from training.tiny_eval import FRACTIONS, evaluate_family, markdown_table  # noqa: E402


def trained_families(model_dir: str) -> list[str]:
    """The families the model was trained on (its training_run.json), else the recipe's defaults."""
    run = Path(model_dir) / "training_run.json"
    if run.exists():
        return json.loads(run.read_text())["recipe"]["families"]
    return list(DEFAULT_FAMILIES)


def speed(engine: Engine, batch: int) -> float:
    """Generated tokens per second for `batch` 3SAT prompts at once (greedy, unlimited thinking)."""
    prompts = [[{"role": "user", "content": generate("sat", 1, seed).prompt}] for seed in range(batch)]
    request = GenerationRequest(messages=[], temperature=0.0, think_budget=None, answer_budget=96)
    t0 = time.perf_counter()
    results = engine.generate_batch(prompts, request)
    seconds = time.perf_counter() - t0
    return sum(s.thinking_tokens + s.answer_tokens for (s,) in results) / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(DEFAULT_DIR))
    parser.add_argument("--puzzles", type=int, default=30)
    parser.add_argument("--quant", default="none", choices=["none", "4bit"])
    parser.add_argument("--families", nargs="+", help="default: the families the model was trained on")
    parser.add_argument("--speed-only", action="store_true")
    args = parser.parse_args()
    args.families = args.families or trained_families(args.model)
    engine = Engine(load_model(args.model, quant=args.quant, device="cpu", offline=True))
    print(f"model: {engine.loaded.description} ({args.quant})")
    print(f"tokens/s: one stream {speed(engine, 1):,.0f}, batch of 16 {speed(engine, 16):,.0f}", flush=True)
    if args.speed_only:
        return
    cells = []
    for family in args.families:
        new = evaluate_family(engine, family, 1, args.puzzles, FRACTIONS)
        for c in new:
            print(
                f"{family:12s} budget {c.label:>9s} ({c.budget or '-'} tok): {c.accuracy:4.0%} "
                f"({c.correct}/{c.n}), {c.thinking_tokens:.0f} thinking tokens, {c.seconds:.0f}s",
                flush=True,
            )
        cells += new
    print()
    print(markdown_table(cells))
    full = {c.family: c.accuracy for c in cells if c.fraction is None}
    none = {c.family: c.accuracy for c in cells if c.fraction == 0}
    good = [f for f in full if full[f] >= 0.60]
    met = len(good) >= 4 and {"sat", "maze"} <= set(good)
    drops = [f for f in full if full[f] - none.get(f, 0) >= 0.30]
    print(
        f"\nfamilies at ≥ 60% pass@1 with unlimited thinking: {', '.join(good) or 'none'} "
        f"(goal: four, maze and sat among them: {'met' if met else 'NOT met'})"
    )
    print(
        f"families with a ≥ 30-point drop at budget 0: {', '.join(drops) or 'none'} "
        f"(goal: two: {'met' if len(drops) >= 2 else 'NOT met'})"
    )


if __name__ == "__main__":
    main()
