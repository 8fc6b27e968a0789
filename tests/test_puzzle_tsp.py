"""TSP family: generation, Held-Karp cross-checked by brute force, verifier tables, trace."""

from __future__ import annotations

import itertools
import math
import random
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from playground.puzzles import tsp
from playground.puzzles.base import Instance, PuzzleConfigError
from playground.puzzles.tsp import TspConfig, generate, verify


def answer(path: str, total: str | int = "") -> str:
    return "<final_answer>{'Path': '" + path + "', 'TotalDistance': '" + str(total) + "'}</final_answer>"


def brute_optimum(w: list[list[int]]) -> int:
    n = len(w)
    return min(sum(w[a][b] for a, b in zip((0, *p), (*p, 0))) for p in itertools.permutations(range(1, n)))


# corners of a 3x4 rectangle: sides 3 and 4, diagonals 5.
# Tours: 0-1-2-3 = 14 (optimal), 0-1-3-2 = 16, 0-2-1-3 = 18
RECT = Instance(
    "tsp",
    1,
    0,
    "",
    "",
    {
        "n_cities": 4,
        "coords": [[0, 0], [0, 3], [4, 3], [4, 0]],
        "weights": [[0, 3, 5, 4], [3, 0, 4, 5], [5, 4, 0, 3], [4, 5, 3, 0]],
        "optimal_length": 14,
        "optimal_tour": [0, 1, 2, 3, 0],
    },
)

TABLE = [
    (answer("0->1->2->3->0", 14), "correct"),
    (answer("2->1->0->3->2", 14), "correct"),  # rotation and reversal of the optimum
    (answer("0 -> 3 -> 2 -> 1 -> 0", "14"), "correct"),
    ("<final_answer>{'Path': [0, 1, 2, 3, 0], 'TotalDistance': 14}</final_answer>", "correct"),
    ('<final_answer>{"Path": "0-1-2-3-0", "TotalDistance": "14"}</final_answer>', "correct"),
    (answer("0->1->2->3", 14), "correct"),  # open path: the closing edge is implied
    (answer("0->1->2->3->0", 99), "correct"),  # stated total is wrong, the tour is what counts
    ("Best tour: " + answer("0->1->2->3->0", 14) + " Done.", "correct"),
    (answer("0->1->3->2->0", 16), "wrong"),
    (answer("0->2->1->3->0", 18), "wrong"),
    (answer("0->1->1->3->0", 12), "wrong"),
    (answer("0->1->2->0", 12), "wrong"),
    (answer("0->1->2->7->0", 12), "wrong"),
    ("<think>" + answer("0->1->3->2->0", 16) + "</think>" + answer("0->1->2->3->0", 14), "correct"),
    ("<think>" + answer("0->1->2->3->0", 14) + "</think>" + answer("0->1->3->2->0", 16), "wrong"),
    ("hmm " + answer("0->1->3->2->0", 16) + " </think> " + answer("0->1->2->3->0", 14), "correct"),
    (answer("0->1->2->3->0", 14) + " or rather " + answer("0->2->1->3->0", 18), "wrong"),
    ("<think>unfinished " + answer("0->1->2->3->0", 14), "unparseable"),
    ("<final_answer>{'Path': 'zero one two', 'TotalDistance': '3'}</final_answer>", "unparseable"),
    ("<final_answer>{'TotalDistance': '14'}</final_answer>", "unparseable"),
    ("<final_answer>not json at all</final_answer>", "unparseable"),
    ("0->1->2->3->0", "unparseable"),
    ("", "unparseable"),
]


@pytest.mark.parametrize("text,status", TABLE)
def test_answer_table(text: str, status: str) -> None:
    v = verify(RECT, text)
    assert v.status == status, v.reason
    assert v.correct == (status == "correct")


def test_reasons_scores_and_details() -> None:
    v = verify(RECT, answer("0->1->3->2->0", 16))
    assert v.reason == "wrong: tour length 16 is 14.3% above the optimum 14"
    assert v.score == pytest.approx(14 / 16) and v.extracted == "0->1->3->2->0"
    assert verify(RECT, answer("0->1->1->3->0")).reason == "wrong: not a tour (city 1 repeated, city 2 missing)"
    assert "unknown city 7" in verify(RECT, answer("0->1->2->7->0")).reason
    v = verify(RECT, answer("0->1->2->3->0", 99))
    stated = next(d for d in v.details if d["check"].startswith("stated TotalDistance"))
    assert not stated["ok"] and stated["recomputed"] == 14 and "differs" in v.reason and v.score == 1
    extracted = {verify(RECT, answer(p, 14)).extracted for p in ["0->1->2->3->0", "3->2->1->0->3", "1->2->3->0"]}
    assert extracted == {"0->1->2->3->0"}


def test_config_validation() -> None:
    with pytest.raises(PuzzleConfigError, match="n_cities"):
        TspConfig(seed=0, n_cities=2)
    with pytest.raises(PuzzleConfigError, match="n_cities"):
        TspConfig(seed=0, n_cities=30)
    with pytest.raises(PuzzleConfigError, match="max_coord"):
        TspConfig(seed=0, level=7, max_coord=1)


@pytest.mark.parametrize("level", sorted(tsp.LEVELS))
def test_reference_passes(level: int) -> None:
    inst = generate(level, level)
    d = inst.data
    assert d["n_cities"] == level + 3 and verify(inst, inst.reference).correct
    w, coords = d["weights"], d["coords"]
    for i, j in itertools.combinations(range(len(w)), 2):  # symmetric positive integers, rounded distances
        assert w[i][j] == w[j][i] == round(math.dist(coords[i], coords[j])) >= 1
    if level <= 5:  # independent optimum by brute force over every permutation
        assert d["optimal_length"] == brute_optimum(w)


def test_held_karp_matches_brute_force_on_random_matrices() -> None:
    rng = random.Random(1)
    for n in range(3, 9):
        for _ in range(3):
            w = [[0] * n for _ in range(n)]
            for i, j in itertools.combinations(range(n), 2):
                w[i][j] = w[j][i] = rng.randint(1, 99)
            length, tour, _ = tsp.held_karp(w)
            assert length == brute_optimum(w) == tsp.tour_length(w, tour)
            assert sorted(tour[:-1]) == list(range(n)) and tour[0] == tour[-1] == 0


def test_every_optimal_tour_is_accepted_and_normalised_alike() -> None:
    inst = generate(4, 2)
    w, opt = inst.data["weights"], inst.data["optimal_length"]
    seen, n_optimal = set(), 0
    for p in itertools.permutations(range(5)):
        length = sum(w[a][b] for a, b in zip(p, p[1:] + p[:1]))
        v = verify(inst, answer("->".join(map(str, p + p[:1])), length))
        assert v.correct == (length == opt)
        if v.correct:
            seen.add(v.extracted)
            n_optimal += 1
    assert n_optimal == 10 * len(seen)  # 5 rotations x 2 directions of each optimal cycle share one normal form
    assert inst.reference.split("'")[3] in seen


def _check_hk_trace(inst: Instance, text: str) -> None:
    w = inst.data["weights"]
    steps = re.findall(
        r"^D\(\{([\d,]+)\},(\d+)\)=(\d+) = (?:D\(\{([\d,]+)\},(\d+)\)=(\d+) \+ (\d+)-(\d+)=(\d+)|"
        r"0-(\d+)=(\d+))$",
        text,
        flags=re.MULTILINE,
    )
    assert len(steps) == len(w) - 1
    for s, j, cost, s2, i, cost2, a, b, hop, j0, hop0 in steps:
        if s2:
            assert set(s.split(",")) - set(s2.split(",")) == {j} and {a, b} == {i, j}
            assert int(hop) == w[int(i)][int(j)] and int(cost) == int(cost2) + int(hop)
        else:
            assert s == j == j0 and int(cost) == int(hop0) == w[0][int(j)]
    best = re.search(r"-> best (\d+)$", text, flags=re.MULTILINE)
    assert best and int(best.group(1)) == inst.data["optimal_length"]


@pytest.mark.parametrize("level", [1, 2, 3, 6])
def test_trace_follows_and_names_the_answer(level: int) -> None:
    for seed in range(3):
        inst = generate(seed, level)
        text = tsp.trace(inst)
        assert text.isascii()
        path, length = re.fullmatch(r"answer: ([\d>-]+) length (\d+)", text.splitlines()[-1]).groups()
        assert answer(path, length) == inst.reference and int(length) == inst.data["optimal_length"]
        w = inst.data["weights"]
        if level <= 2:  # every enumerated tour's running sum ends at its true length
            rows = re.findall(r"^t\d+ ([\d>-]+): .* (\d+)\+\d+=(\d+) best", text, flags=re.MULTILINE)
            assert len(rows) == math.factorial(len(w) - 1) // 2
            for tour, _, total in rows:
                assert tsp.tour_length(w, [int(c) for c in tour.split("->")]) == int(total)
            # every leg is written as the prompt lists it (smaller city first) with its true length
            for a, b, d in re.findall(r" (\d+)-(\d+)=(\d+)", text):
                assert int(a) < int(b) and w[int(a)][int(b)] == int(d) and f"\n{a}-{b}: {d}\n" in inst.prompt
        else:
            _check_hk_trace(inst, text)


@given(
    st.lists(
        st.sampled_from(
            [
                "<final_answer>",
                "</final_answer>",
                "{",
                "}",
                "'Path'",
                "'TotalDistance'",
                ":",
                "'",
                "0",
                "1",
                "2",
                "3",
                "99999999",
                "->",
                ",",
                "[",
                "]",
                "</think>",
                " ",
                "-1",
            ]
        ),
        max_size=30,
    )
)
@settings(max_examples=200, deadline=None)
def test_verify_never_raises_on_near_answers(parts: list[str]) -> None:
    v = verify(RECT, "".join(parts))
    assert v.status in ("correct", "wrong", "unparseable") and 0 <= v.score <= 1
