"""Evaluate a model on a puzzle family over a sweep of thinking budgets, from the command line.

    python -m playground.evaluation --family maze --level 2 --puzzles 20 --samples 8 --budgets 0,128,512,unlimited
        [--levels 1,2] [--model tiny] [--adapter DIR] [--temperature 0.8] [--seed 0] [--budget-mode hard]
        [--answer-budget 512] [--out DIR] [--json] [--server http://HOST:PORT/v1 [--api-key-env VAR]]

Prints a table (average pass@1 ± std, majority vote, best-of-N, worst-of-N, tokens per response) and writes
results.jsonl, summary.json and <run>-summary.csv to --out (default runs/eval-<family>-<time>). A tqdm progress bar goes
to stderr. With --json, stdout is one JSON object: per budget label ("0", "128", "unlimited"), pass1 {mean, std},
majority, best_of_n, worst_of_n, mean_tokens, tokens and a per-level breakdown.
Exit codes: 0 done, 1 the model could not load, 2 bad input, 130 interrupted (partial results are kept).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from playground.evaluation.run import EvalConfig, check_out_dir
from playground.generation.budgets import BUDGET_MODES, budget_label, parse_budget, parse_budgets
from playground.models.presets import DEVICES, QUANTS

DEFAULTS = EvalConfig(family="")  # the CLI's defaults are the config's field defaults (family is required)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, not usage + message
        print(f"error: {message} (see --help)", file=sys.stderr)
        sys.exit(2)


def _int_list(text: str) -> list[int]:
    try:
        return [int(p) for p in text.split(",") if p.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated whole numbers, got {text!r}") from None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = _Parser(prog="python -m playground.evaluation", description=__doc__.split("\n")[0])
    p.add_argument("--family", required=True, help="puzzle family (python -m playground.puzzles list)")
    p.add_argument("--level", type=int, default=None, help="one level (default: the family's default)")
    p.add_argument("--levels", type=_int_list, default=None, help="several levels, e.g. 1,2,3")
    d = DEFAULTS
    p.add_argument("--puzzles", type=int, default=d.puzzles, help="puzzles per level (seeds first-seed, +1, ...)")
    p.add_argument("--samples", type=int, default=d.samples, help="samples per puzzle (N runs)")
    budgets = ",".join(map(budget_label, d.budgets))
    p.add_argument("--budgets", default=budgets, help="thinking budgets, comma-separated; 'unlimited' = no limit")
    p.add_argument("--model", default=None, help="preset, hub id, local folder or 'tiny' (default: the adapter's base)")
    p.add_argument("--adapter", default=None, help="a PEFT adapter folder applied on the model")
    p.add_argument(
        "--server", default=None, help="an OpenAI-compatible server (vLLM) to generate on: http://HOST:PORT/v1"
    )
    p.add_argument("--api-key-env", default=None, help="environment variable holding the server's API key")
    p.add_argument("--quant", choices=QUANTS, default="auto")
    p.add_argument("--device", choices=DEVICES, default="auto")
    p.add_argument("--offline", action="store_true", help="never contact the Hugging Face hub")
    p.add_argument("--temperature", type=float, default=d.temperature, help="0 = greedy (all samples identical)")
    p.add_argument("--top-p", type=float, default=d.top_p)
    p.add_argument("--top-k", type=int, default=d.top_k)
    p.add_argument("--seed", type=int, default=d.seed, help="sampling seed: the same seed repeats the run")
    p.add_argument("--first-seed", type=int, default=d.first_seed, help="seed of the first puzzle")
    p.add_argument("--budget-mode", choices=BUDGET_MODES, default=d.budget_mode)
    answer = budget_label(d.answer_budget)
    p.add_argument("--answer-budget", default=answer, help="tokens after </think>; 'unlimited' = no limit")
    p.add_argument("--batch-rows", type=int, default=d.batch_rows, help="rows (puzzles × samples) per generate call")
    p.add_argument("--save-thinking", action="store_true", help="keep every thought in results.jsonl")
    p.add_argument("--out", default=None, help="output folder (default: <runs-dir>/eval-<family>-<time>)")
    p.add_argument("--runs-dir", default="runs", help="where run folders are created")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p.parse_args(argv)


def _config(args: argparse.Namespace):
    """Arguments → a validated EvalConfig (ValueError with a user-facing message otherwise)."""
    from playground.puzzles import get_family

    if args.level is not None and args.levels is not None:
        raise ValueError("give --level or --levels, not both")
    levels = args.levels if args.levels is not None else [args.level or get_family(args.family).default_level]
    if args.adapter and not (Path(args.adapter).expanduser() / "adapter_config.json").is_file():
        raise ValueError(f"--adapter {args.adapter}: not a PEFT adapter folder (no adapter_config.json)")
    config = EvalConfig(
        family=args.family,
        levels=levels,
        puzzles=args.puzzles,
        samples=args.samples,
        budgets=parse_budgets(args.budgets),
        temperature=args.temperature,
        top_p=args.top_p,
        top_k=args.top_k,
        seed=args.seed,
        first_seed=args.first_seed,
        budget_mode=args.budget_mode,
        answer_budget=parse_budget(args.answer_budget, "answer budget"),
        batch_rows=args.batch_rows,
        save_thinking=args.save_thinking,
    )
    config.validate()
    if args.out:
        check_out_dir(args.out)
    return config


def _backend(args: argparse.Namespace):
    """The backend to evaluate on: a server (--server) or a model loaded here, with the adapter if one is given."""
    if args.server:
        from playground.generation.remote import connect

        backend = connect(args.server, args.model, args.api_key_env, args.offline)
        if args.adapter:
            backend.load_adapter(args.adapter, args.offline)
        return backend
    from playground.generation.engine import Engine
    from playground.models.adapters import adapter_base, apply_adapter
    from playground.models.loading import load_model

    name = args.model or (adapter_base(args.adapter) if args.adapter else None) or "tiny"
    loaded = load_model(name, args.quant, args.device, args.offline, fallback=False)
    if args.adapter:
        apply_adapter(loaded, args.adapter)
    return Engine(loaded)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.offline:
        os.environ["HF_HUB_OFFLINE"] = "1"
    try:
        config = _config(args)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2

    from tqdm import tqdm

    from playground.evaluation.run import Evaluation
    from playground.models.loading import ModelLoadError

    try:
        backend = _backend(args)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except ModelLoadError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    info = backend.describe()
    for note in info.notices:
        print(f"note: {note}", file=sys.stderr)
    ev = Evaluation(backend, config, runs_dir=args.runs_dir, out_dir=args.out)
    bar = tqdm(total=ev.total, unit="gen", desc=config.family, file=sys.stderr, disable=args.no_progress)
    try:
        for message in ev.steps():
            bar.set_postfix_str(message)
            bar.update(ev.done - bar.n)
    except ValueError as err:  # the output folder could not be written
        bar.close()
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        bar.close()
        print(f"interrupted. {ev.saved_message()}", file=sys.stderr)
        return 130
    except RuntimeError as err:  # e.g. the server stopped answering: what was evaluated is kept
        bar.close()
        done = f"{ev.done}/{ev.total} generations"
        print(f"error: {err}\nPartial results ({done}). {ev.saved_message()}", file=sys.stderr)
        return 1
    bar.close()
    result = ev.result()
    if args.json:
        print(json.dumps(result.to_json(), ensure_ascii=False))
        return 0
    model = info.name + (f" (adapter {info.adapter})" if info.adapter else "")
    print(f"{config.family} levels {','.join(map(str, config.levels))} · {config.puzzles} puzzles/level × ", end="")
    print(f"{config.samples} samples · T={config.temperature} · seed {config.seed} · {model}")
    print("rates in %; tokens per response as mean ± std")
    print(result.frame(compact=True).to_string(index=False))
    print(f"{ev.saved_message()} ({result.seconds:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
