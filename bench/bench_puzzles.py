"""Throughput of every registered puzzle family at its default level (a script, not a test).

    python bench/bench_puzzles.py [--seconds 1.5]

Measures instances generated + solved per second (generate() computes the reference, so it includes the exact
solver) and verifications per second over a mix of model-like outputs: the reference, the reference after a
thinking block, another instance's reference (usually wrong) and unparseable text. Goals: 200 instances/s and
5,000 verifications/s per family. Prints one table row per family with the ratio measured / goal.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere without installing

from playground.puzzles import families  # noqa: E402
from playground.puzzles.base import Family  # noqa: E402

GEN_GOAL, VERIFY_GOAL = 200.0, 5000.0


def rate(fn, seconds: float) -> float:
    """Calls of fn() per second, timed over about `seconds` (at least 5 calls)."""
    n, start = 0, time.perf_counter()
    while True:
        fn(n)
        n += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds and n >= 5:
            return n / elapsed


def bench_family(fam: Family, seconds: float) -> tuple[float, float]:
    level = fam.default_level
    gen = rate(lambda i: fam.generate(10_000 + i, level), seconds)
    insts = [fam.generate(s, level) for s in range(20)]
    texts = []
    for k, inst in enumerate(insts):
        other = insts[(k + 1) % len(insts)].reference
        texts += [
            (inst, inst.reference),
            (inst, "<think>Let me work through this step by step. " * 8 + "</think>\n" + inst.reference),
            (inst, other),
            (inst, "I am not sure about this one."),
        ]
    ver = rate(lambda i: fam.verify(*texts[i % len(texts)]), seconds)
    return gen, ver


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=1.5, help="time per measurement (two per family)")
    args = ap.parse_args()
    head = f"{'family':<12} {'lvl':>3} {'gen+solve/s':>12} {'goal':>6} {'ratio':>6}"
    head += f"   {'verify/s':>9} {'goal':>6} {'ratio':>6}"
    print(head)
    print("-" * len(head))
    start = time.perf_counter()
    for name, fam in families().items():
        gen, ver = bench_family(fam, args.seconds)
        print(
            f"{name:<12} {fam.default_level:>3} {gen:>12,.0f} {GEN_GOAL:>6,.0f} {gen / GEN_GOAL:>6.1f}"
            f"   {ver:>9,.0f} {VERIFY_GOAL:>6,.0f} {ver / VERIFY_GOAL:>6.1f}",
            flush=True,
        )
    print(f"total {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
