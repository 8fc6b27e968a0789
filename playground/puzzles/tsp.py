"""Travelling salesperson puzzles (the paper's "TSP-Opt"): cities on a plane, an exact Held-Karp solver.

Weights are rounded Euclidean distances between random integer points, so the drawing matches the numbers.
Answer: `<final_answer>{'Path': '0->3->1->2->0', 'TotalDistance': '123'}</final_answer>`.
Correct iff the path is a closed tour over every city whose recomputed length is optimal, in any rotation or
direction. The stated TotalDistance is reported in the details but does not decide correctness: the tour is
the answer. An open path listing every city once is read as its closed tour (also noted in the details).
Score = optimum / tour length (= 1 / (1 + gap)) for a valid tour, 0 for an invalid one. The answer is read by
`base.answer_dict`, as for 3SAT.
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass
from itertools import permutations
from typing import Any

from playground.puzzles.base import Family, Instance, PuzzleConfigError, Verdict, answer_dict, read_integer, unparseable

LEVELS = {lv: f"{lv + 3} cities" for lv in range(1, 11)}
for _lv in range(3, 11):
    LEVELS[_lv] += f" (paper level {_lv - 2})"
ENUMERATE_UP_TO = 5  # traces list every tour up to this many cities (12 tours), Held-Karp beyond


@dataclass
class TspConfig:
    """One TSP instance; n_cities and max_coord default to what the level implies."""

    seed: int
    level: int = 1
    n_cities: int | None = None
    max_coord: int | None = None  # cities lie on the integer grid 0..max_coord (small = easy arithmetic)

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise PuzzleConfigError(f"tsp has no level {self.level}; choose one of {sorted(LEVELS)}")
        if self.n_cities is None:
            self.n_cities = self.level + 3
        if self.max_coord is None:
            self.max_coord = 10 if self.n_cities <= ENUMERATE_UP_TO else 50
        if not 3 <= self.n_cities <= 16:
            raise PuzzleConfigError(
                f"n_cities must be between 3 and 16 (Held-Karp is exponential), not {self.n_cities}"
            )
        if (self.max_coord + 1) ** 2 < 2 * self.n_cities:
            raise PuzzleConfigError(f"max_coord={self.max_coord} leaves too little room for {self.n_cities} cities")


def held_karp(w: list[list[int]]) -> tuple[int, list[int], dict[tuple[int, int], tuple[int, int]]]:
    """Exact optimum: D(S, j) = shortest path from 0 through set S (bitmask over cities 1..n-1) ending at j.

    Returns (length, tour from 0 back to 0, table {(mask, j): (cost, previous city)}).
    """
    n = len(w)
    table: dict[tuple[int, int], tuple[int, int]] = {}
    for mask in range(1, 1 << (n - 1)):
        for j in range(1, n):
            if not mask >> (j - 1) & 1:
                continue
            prev = mask ^ (1 << (j - 1))
            if prev == 0:
                table[mask, j] = (w[0][j], 0)
            else:
                table[mask, j] = min((table[prev, i][0] + w[i][j], i) for i in range(1, n) if prev >> (i - 1) & 1)
    full = (1 << (n - 1)) - 1
    length, last = min((table[full, j][0] + w[j][0], j) for j in range(1, n))
    tour, mask, j = [0], full, last
    while j != 0:  # follow the table back to 0; the tour is then read in this (reversed) direction
        tour.append(j)
        mask, j = mask ^ (1 << (j - 1)), table[mask, j][1]
    return length, tour + [0], table


def tour_length(w: list[list[int]], tour: list[int]) -> int:
    return sum(w[a][b] for a, b in zip(tour, tour[1:]))


def _enumerated(w: list[list[int]]) -> list[list[int]]:
    """Every closed tour from 0, each direction once, in lexicographic order."""
    return [[0, *p, 0] for p in permutations(range(1, len(w))) if p[0] < p[-1]]


def best_tour(w: list[list[int]]) -> list[int]:
    """The optimal tour the trace arrives at: first shortest enumerated tour (small n), else Held-Karp's."""
    if len(w) <= ENUMERATE_UP_TO:
        return min(_enumerated(w), key=lambda t: tour_length(w, t))
    return held_karp(w)[1]


def fmt_tour(tour: list[int]) -> str:
    return "->".join(map(str, tour))


def generate_config(cfg: TspConfig) -> Instance:
    rng = random.Random(cfg.seed)
    n, size = cfg.n_cities, cfg.max_coord
    assert n is not None and size is not None  # filled in by __post_init__
    coords = [list(p) for p in rng.sample([(x, y) for x in range(size + 1) for y in range(size + 1)], n)]
    w = [[int(math.dist(a, b) + 0.5) for b in coords] for a in coords]  # >= 1 off the diagonal: distinct points
    opt, _, _ = held_karp(w)
    tour = best_tour(w)
    edges = "\n".join(f"{i}-{j}: {w[i][j]}" for i in range(n) for j in range(i + 1, n))
    prompt = (
        f"A salesperson must visit each of the {n} cities 0..{n - 1} exactly once and return to the starting "
        "city. "
        f"The distance between two cities is the same in both directions:\n{edges}\n"
        "Find the shortest closed tour. Give it as city numbers joined by '->', starting and ending at the "
        "same "
        "city, with its total distance, in exactly this format:\n"
        "<final_answer>{'Path': '0->1->...->0', 'TotalDistance': '...'}</final_answer>"
    )
    data = {"n_cities": n, "coords": coords, "weights": w, "optimal_length": opt, "optimal_tour": tour}
    return Instance("tsp", cfg.level, cfg.seed, prompt, _answer(tour, opt), data)


def generate(seed: int, level: int) -> Instance:
    return generate_config(TspConfig(seed=seed, level=level))


def _answer(tour: list[int], length: int) -> str:
    return "<final_answer>{'Path': '" + fmt_tour(tour) + "', 'TotalDistance': '" + str(length) + "'}</final_answer>"


def _fmt_set(mask: int, n: int) -> str:
    return "{" + ",".join(str(c) for c in range(1, n) if mask >> (c - 1) & 1) + "}"


def trace(instance: Instance) -> str:
    w = instance.data["weights"]
    n = len(w)
    if n <= ENUMERATE_UP_TO:
        tours = _enumerated(w)
        lines = [f"{n} cities, {len(tours)} tours from city 0 (each direction once)"]
        best, best_name = 0, ""
        for k, t in enumerate(tours, 1):
            legs = [w[a][b] for a, b in zip(t, t[1:])]
            sums, total = [], legs[0]
            for leg in legs[1:]:
                sums.append(f"{total}+{leg}={total + leg}")
                total += leg
            if not best_name or total < best:
                best, best_name = total, f"t{k}"
            # Each leg is written with the smaller city first, as the prompt lists it: a copy, not a search.
            hops = " ".join(f"{min(a, b)}-{max(a, b)}={w[a][b]}" for a, b in zip(t, t[1:]))
            lines.append(f"t{k} {fmt_tour(t)}: {hops} sum {' '.join(sums)} best {best} {best_name}")
        tour = tours[int(best_name[1:]) - 1]
        lines.append(f"shortest {best_name} {fmt_tour(tour)} length {best}")
        return "\n".join(lines + [f"answer: {fmt_tour(tour)} length {best}"])
    length, tour, table = held_karp(w)
    full = (1 << (n - 1)) - 1
    lines = [
        f"{n} cities. Held-Karp: D(S,j) = shortest path from 0 through all of S ending at j.",
        "size 1: " + " ".join(f"D({{{j}}},{j})=0-{j}={w[0][j]}" for j in range(1, n)),
    ]
    for k in range(2, n - 1):
        lines.append(f"size {k}: {sum(1 for m, _ in table if m.bit_count() == k)} states")
    lines.append(
        "close: "
        + " ".join(f"j={j} {table[full, j][0]}+{w[j][0]}={table[full, j][0] + w[j][0]}" for j in range(1, n))
        + f" -> best {length}"
    )
    mask = full
    for j, i in zip(tour[1:-1], tour[2:]):  # D(mask, j) came from i, the next city of the tour
        cost = table[mask, j][0]
        if i == 0:
            lines.append(f"D({_fmt_set(mask, n)},{j})={cost} = 0-{j}={w[0][j]}")
        else:
            prev = mask ^ (1 << (j - 1))
            lines.append(
                f"D({_fmt_set(mask, n)},{j})={cost} = D({_fmt_set(prev, n)},{i})={table[prev, i][0]} "
                f"+ {j}-{i}={w[i][j]}"
            )
            mask = prev
    lines.append(f"tour {fmt_tour(tour)} length {length}")
    return "\n".join(lines + [f"answer: {fmt_tour(tour)} length {length}"])


def parse_tour(text: str) -> tuple[list[int], Any] | None:
    """(cities in the order given, stated TotalDistance or None), or None when there is no readable Path."""
    parsed = answer_dict(text)
    if parsed is None or "path" not in parsed:
        return None
    path = parsed["path"]
    if isinstance(path, (list, tuple)):
        path = ",".join(str(p) for p in path)
    tokens = [t for t in re.split(r"\s*(?:->|\u2192|-|,|\s)\s*", str(path).strip()) if t]
    if not tokens or not all(t.isdigit() and len(t) < 6 for t in tokens):
        return None
    return [int(t) for t in tokens], parsed.get("totaldistance")


def canonical(cycle: list[int]) -> list[int]:
    """Rotation starting at the smallest city, direction with the smaller second city, closed."""
    k = cycle.index(min(cycle))
    rot = cycle[k:] + cycle[:k]
    if len(rot) > 2 and rot[-1] < rot[1]:
        rot = rot[:1] + rot[1:][::-1]
    return rot + rot[:1]


def verify(instance: Instance, text: str) -> Verdict:
    parsed = parse_tour(text)
    if parsed is None:
        return unparseable("no readable {'Path': 'a->b->...'} in <final_answer> tags")
    cities, stated = parsed
    w, opt = instance.data["weights"], instance.data["optimal_length"]
    n = len(w)
    closed = len(cities) > 1 and cities[0] == cities[-1]
    cycle = cities[:-1] if closed else cities
    details: list[dict[str, Any]] = [
        {
            "check": "returns to the start city",
            "ok": closed,
            "counts": False,
            "note": "" if closed else "closing edge added; an open path over all cities is read as its tour",
        }
    ]
    bad = [c for c in cycle if c >= n]
    repeated = sorted({c for c in cycle if cycle.count(c) > 1})
    missing = [c for c in range(n) if c not in cycle]
    details.append(
        {
            "check": f"every city 0..{n - 1} exactly once",
            "ok": not (bad or repeated or missing),
            "unknown": bad,
            "repeated": repeated,
            "missing": missing,
        }
    )
    if bad or repeated or missing:
        problems = ([f"unknown city {bad[0]}"] if bad else []) + ([f"city {repeated[0]} repeated"] if repeated else [])
        problems += [f"city {missing[0]} missing"] if missing else []
        return Verdict(False, 0.0, f"wrong: not a tour ({', '.join(problems)})", "wrong", fmt_tour(cities), details)
    length = tour_length(w, cycle + cycle[:1])
    extracted = fmt_tour(canonical(cycle))
    stated_num = None if stated is None else read_integer(str(stated))
    details.append(
        {
            "check": "stated TotalDistance equals the recomputed length",
            "ok": stated_num == length,
            "counts": False,
            "stated": None if stated is None else str(stated)[:40],
            "recomputed": length,
        }
    )
    gap = (length - opt) / opt
    details.append(
        {
            "check": "tour length is optimal",
            "ok": length == opt,
            "length": length,
            "optimum": opt,
            "gap": round(gap, 4),
        }
    )
    if length == opt:
        note = "" if stated_num == length else f" (stated TotalDistance {stated!s:.20} differs)"
        note = " (no TotalDistance stated)" if stated is None else note
        return Verdict(True, 1.0, f"correct: optimal tour of length {length}{note}", "correct", extracted, details)
    reason = f"wrong: tour length {length} is {100 * gap:.1f}% above the optimum {opt}"
    return Verdict(False, opt / length, reason, "wrong", extracted, details)


FAMILY = Family(
    name="tsp",
    title="Travelling salesperson",
    description="Find the shortest closed tour through every city (exact optimum by Held-Karp).",
    levels=LEVELS,
    generate=generate,
    verify=verify,
    trace=trace,
)
