"""One-shot generation from the command line, through the same engine as the UI.

    python -m playground.generation --prompt "Is 91 prime?" [--model tiny] [--think-budget 256]
        [--budget-mode hard|wrapup|extend] [--min-think N] [--answer-budget N] [--temperature T] [--seed S] [--json]

Prints the thought and the answer (streamed), or with --json one JSON object with thinking, answer, thinking_tokens,
answer_tokens, seconds, model, budget_reached and more. Exit code 2 on bad input, 1 when the model cannot load.
"""

from __future__ import annotations

import argparse
import json
import os
import sys


def _budget(text: str) -> int | None:
    if text.lower() in ("none", "unlimited", "inf"):
        return None
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("budgets are ≥ 0, or 'none' for unlimited")
    return value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m playground.generation", description=__doc__.split("\n")[0])
    p.add_argument("--prompt", required=True, help="the user message ('-' reads standard input)")
    p.add_argument("--model", default="tiny", help="preset, hub id, local folder, 'tiny' or 'auto'")
    p.add_argument("--quant", choices=["auto", "4bit", "8bit", "none"], default="auto")
    p.add_argument("--device", choices=["auto", "cuda", "cpu"], default="auto")
    p.add_argument("--offline", action="store_true", help="never contact the Hugging Face hub")
    p.add_argument("--system", default=None, help="system prompt (default: the preset's)")
    p.add_argument("--think-budget", type=_budget, default=None, help="thinking tokens (0 = none; default unlimited)")
    p.add_argument("--budget-mode", choices=["hard", "wrapup", "extend"], default="hard")
    p.add_argument("--min-think", type=int, default=0, help="extend mode: minimum thinking tokens")
    p.add_argument("--wrapup", default=None, help="wrap-up sentence (wrapup mode)")
    p.add_argument("--answer-budget", type=_budget, default=None, help="answer tokens (default unlimited)")
    p.add_argument("--temperature", type=float, default=None, help="0 = greedy (default: the preset's or 0.6)")
    p.add_argument("--top-p", type=float, default=None)
    p.add_argument("--top-k", type=int, default=None)
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--json", action="store_true", help="print one JSON object instead of streaming text")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.offline:
        os.environ["HF_HUB_OFFLINE"] = "1"
    from playground.generation.engine import (
        AnswerDelta,
        Done,
        Engine,
        GenerationRequest,
        Notice,
        ThinkingDelta,
        ThinkingDone,
    )
    from playground.generation.thinking import DEFAULT_WRAPUP
    from playground.models.loading import ModelLoadError

    prompt = sys.stdin.read() if args.prompt == "-" else args.prompt
    engine = Engine()
    try:
        loaded = engine.load(args.model, args.quant, args.device, args.offline)
    except ModelLoadError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    preset = loaded.preset
    request = GenerationRequest(
        messages=[{"role": "user", "content": prompt}],
        system_prompt=args.system,
        temperature=args.temperature if args.temperature is not None else (preset.temperature if preset else 0.6),
        top_p=args.top_p if args.top_p is not None else (preset.top_p if preset else 0.95),
        top_k=args.top_k if args.top_k is not None else (preset.top_k if preset else 20),
        seed=args.seed,
        think_budget=args.think_budget,
        budget_mode=args.budget_mode,
        min_think=args.min_think,
        wrapup_text=args.wrapup if args.wrapup is not None else DEFAULT_WRAPUP,
        answer_budget=args.answer_budget,
    )
    for note in loaded.notices:
        print(f"note: {note}", file=sys.stderr)
    try:
        request.validate()
        stats = None
        for event in engine.stream(request):
            if isinstance(event, Done):
                stats = event.stats
            elif args.json:
                continue
            elif isinstance(event, Notice):
                print(f"note: {event.text}", file=sys.stderr)
            elif isinstance(event, ThinkingDelta | AnswerDelta):
                print(event.text, end="", flush=True)
            elif isinstance(event, ThinkingDone):
                reached = " (budget reached)" if event.budget_reached else ""
                print(f"\n--- thought for {event.seconds:.1f} s · {event.n_tokens} tokens{reached} ---", flush=True)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.json:
        out = stats.to_json()
        out["source"] = loaded.source
        print(json.dumps(out, ensure_ascii=False))
    else:
        print(
            f"\n--- {stats.thinking_tokens} thinking + {stats.answer_tokens} answer tokens, {stats.seconds:.1f} s, "
            f"{stats.tokens_per_s:.0f} tokens/s ---"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
