"""Command line for the puzzle families: list them, show an instance, verify an answer.

    python -m playground.puzzles list [--json]
    python -m playground.puzzles show --family sat --level 1 --seed 0 [--json] [--trace]
    python -m playground.puzzles verify --family sat --level 1 --seed 0 --answer-file FILE [--json]

`--answer-file -` reads the answer from stdin. verify exits 0 whether the answer is right or wrong
(the verdict says which); bad input (unknown family, bad level, unreadable file) prints one line on
stderr and exits 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, NoReturn

from playground import puzzles
from playground.puzzles.base import PuzzleConfigError, Verdict


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line instead of usage + error
        self.exit(2, f"{self.prog}: error: {message}\n")


def _read_answer(path: str) -> str:
    if path == "-":  # bytes, so that a model output with invalid UTF-8 is judged rather than crashing the CLI
        return sys.stdin.buffer.read().decode("utf-8", "replace")
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError as exc:
        raise PuzzleConfigError(f"cannot read answer file {path!r}: {exc.strerror or exc}") from exc


def _print_verdict(v: Verdict) -> None:
    print(f"correct: {v.correct}\nstatus: {v.status}\nscore: {v.score:.3f}\nreason: {v.reason}")
    print(f"extracted: {v.extracted}")
    if v.details:
        print("details:")
        for d in v.details:
            extra = {k: val for k, val in d.items() if k not in ("check", "ok")}
            print(
                f"  [{'ok' if d.get('ok') else 'FAIL'}] {d.get('check')}" + (f" {json.dumps(extra)}" if extra else "")
            )


def run(args: argparse.Namespace) -> int:
    if args.command == "list":
        fams = puzzles.families()
        if args.json:
            out: dict[str, Any] = {
                n: {"title": f.title, "description": f.description, "levels": f.levels} for n, f in fams.items()
            }
            print(json.dumps(out, indent=2))
            return 0
        for name, fam in fams.items():
            print(f"{name}: {fam.title} - {fam.description}")
            for level, text in fam.levels.items():
                print(f"  level {level}: {text}")
        return 0
    fam = puzzles.get_family(args.family)
    level = fam.default_level if args.level is None else args.level
    fam.check_level(level)
    instance = fam.generate(args.seed, level)
    if args.command == "show":
        if args.json:
            out = instance.to_json() | ({"trace": fam.trace(instance)} if args.trace else {})
            print(json.dumps(out, indent=2))
        else:
            print(f"{instance.prompt}\n\n--- reference answer ---\n{instance.reference}")
            if args.trace:
                print(f"\n--- trace ---\n{fam.trace(instance)}")
        return 0
    verdict = fam.verify(instance, _read_answer(args.answer_file))
    if args.json:
        print(json.dumps(verdict.to_json(), indent=2))
    else:
        _print_verdict(verdict)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m playground.puzzles", description="List, show and verify puzzles.")
    sub = parser.add_subparsers(dest="command", required=True)
    p_list = sub.add_parser("list", help="families and their levels")
    p_list.add_argument("--json", action="store_true", help="print one JSON object")
    for name, help_text in (
        ("show", "print the prompt and the reference answer"),
        ("verify", "judge an answer"),
    ):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--family", required=True, help="family name, e.g. sat, tsp, maze")
        p.add_argument("--level", type=int, default=None, help="difficulty level (default: the family's first)")
        p.add_argument("--seed", type=int, default=0, help="instance seed (same seed, same puzzle)")
        p.add_argument("--json", action="store_true", help="print one JSON object")
        if name == "show":
            p.add_argument("--trace", action="store_true", help="also print the solver's reasoning trace")
        else:
            p.add_argument("--answer-file", required=True, help="file with the model output; '-' reads stdin")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except PuzzleConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. piped into `head`: stop quietly, as the Python docs recommend
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
