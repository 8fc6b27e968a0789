"""One-shot generation from the command line, through the same engine as the UI.

    python -m playground.generation --prompt "Is 91 prime?" [--model tiny] [--think-budget 256]
        [--server http://HOST:PORT/v1 [--api-key-env VAR]]
        [--budget-mode hard|wrapup|extend] [--min-think N] [--answer-budget N] [--temperature T] [--seed S] [--json]

Prints the thought and the answer (streamed), or with --json one JSON object with thinking, answer, thinking_tokens,
answer_tokens, seconds, model, budget_reached and more. Exit code 2 on bad input, 1 when the model cannot load.
Other settings default to `GenerationRequest`'s fields; the budgets default to unlimited, since a one-off run asks
to see the model's whole thought (an interactive chat starts from bounded budgets instead).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import fields

from playground.generation.budgets import BUDGET_MODES, BudgetError, parse_budget
from playground.generation.request import GenerationRequest
from playground.models.presets import DEVICES, QUANTS

DEFAULTS = {f.name: f.default for f in fields(GenerationRequest)}


def _budget(text: str) -> int | None:
    """argparse type for a budget: a whole number ≥ 0 or 'unlimited'; a bad one is a one-line usage error."""
    try:
        return parse_budget(text)
    except BudgetError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m playground.generation", description=__doc__.split("\n")[0])
    p.add_argument("--prompt", required=True, help="the user message ('-' reads standard input)")
    p.add_argument(
        "--model",
        default=None,
        help="preset, hub id, local folder, 'tiny' or 'auto' (default: tiny); "
        "with --server, a model the server lists (default: its first)",
    )
    p.add_argument(
        "--server", default=None, help="an OpenAI-compatible server (vLLM) to generate on: http://HOST:PORT/v1"
    )
    p.add_argument("--api-key-env", default=None, help="environment variable holding the server's API key")
    p.add_argument("--quant", choices=QUANTS, default="auto")
    p.add_argument("--device", choices=DEVICES, default="auto")
    p.add_argument("--offline", action="store_true", help="never contact the Hugging Face hub")
    p.add_argument("--system", default=DEFAULTS["system_prompt"], help="system prompt (default: the preset's)")
    p.add_argument("--think-budget", type=_budget, default=None, help="thinking tokens (0 = none; default: unlimited)")
    p.add_argument("--budget-mode", choices=BUDGET_MODES, default=DEFAULTS["budget_mode"])
    p.add_argument("--min-think", type=int, default=DEFAULTS["min_think"], help="extend mode: minimum thinking tokens")
    p.add_argument("--wrapup", default=DEFAULTS["wrapup_text"], help="wrap-up sentence (wrapup mode)")
    p.add_argument("--answer-budget", type=_budget, default=None, help="answer tokens (default: unlimited)")
    sampling = "default: the preset's, else {}"
    p.add_argument(
        "--temperature", type=float, default=None, help=f"0 = greedy ({sampling.format(DEFAULTS['temperature'])})"
    )
    p.add_argument("--top-p", type=float, default=None, help=sampling.format(DEFAULTS["top_p"]))
    p.add_argument("--top-k", type=int, default=None, help=sampling.format(DEFAULTS["top_k"]))
    p.add_argument("--seed", type=int, default=DEFAULTS["seed"])
    p.add_argument("--json", action="store_true", help="print one JSON object instead of streaming text")
    return p.parse_args(argv)


def _sampling(args: argparse.Namespace, preset) -> dict:
    """Temperature, top-p and top-k: as given, else the preset's, else the request's defaults."""
    out = {}
    for key in ("temperature", "top_p", "top_k"):
        given = getattr(args, key)
        out[key] = given if given is not None else getattr(preset, key) if preset else DEFAULTS[key]
    return out


def _request(args: argparse.Namespace, prompt: str, preset) -> GenerationRequest:
    return GenerationRequest(
        messages=[{"role": "user", "content": prompt}],
        system_prompt=args.system,
        seed=args.seed,
        think_budget=args.think_budget,
        budget_mode=args.budget_mode,
        min_think=args.min_think,
        wrapup_text=args.wrapup,
        answer_budget=args.answer_budget,
        **_sampling(args, preset),
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.offline:
        os.environ["HF_HUB_OFFLINE"] = "1"
    prompt = sys.stdin.buffer.read().decode("utf-8", "replace") if args.prompt == "-" else args.prompt
    try:  # bad input is refused before any model loads
        _request(args, prompt, None).validate()
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2

    from playground.generation.engine import Engine
    from playground.generation.request import AnswerDelta, Done, Notice, ThinkingDelta, ThinkingDone
    from playground.models.loading import ModelLoadError

    try:
        if args.server:
            from playground.generation.remote import connect

            engine = connect(args.server, args.model, args.api_key_env, args.offline)
            info = engine.describe()
        else:
            engine = Engine()
            info = engine.load(args.model or "tiny", args.quant, args.device, args.offline, fallback=False)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except ModelLoadError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    request = _request(args, prompt, info.preset)
    for note in info.notices:
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
    except RuntimeError as err:  # the server went away mid-reply
        print(f"error: {err}", file=sys.stderr)
        return 1
    if args.json:
        out = stats.to_json()
        out["source"] = info.source
        print(json.dumps(out, ensure_ascii=False))
    else:
        print(
            f"\n--- {stats.thinking_tokens} thinking + {stats.answer_tokens} answer tokens, {stats.seconds:.1f} s, "
            f"{stats.tokens_per_s:.0f} tokens/s ---"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
