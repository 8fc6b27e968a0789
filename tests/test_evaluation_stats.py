"""The paper's statistics on hand-built records, with every expected number worked out by hand in the comments."""

from __future__ import annotations

import math

import pytest

from playground.evaluation.run import EvalConfig
from playground.evaluation.stats import (
    accuracy_by_n,
    best_of_n,
    majority_vote,
    mean_std,
    pass_at_1,
    summarize,
    summarize_sweep,
    table_rows,
    worst_of_n,
)
from playground.generation.budgets import parse_budgets
from playground.puzzles import PuzzleConfigError


def rec(seed, sample, correct, extracted, think=0, answer=0, level=1, budget=0, status=None):
    return {
        "family": "maze",
        "level": level,
        "seed": seed,
        "budget": budget,
        "sample": sample,
        "correct": correct,
        "extracted": extracted,
        "status": status or ("correct" if correct else ("wrong" if extracted else "unparseable")),
        "thinking_tokens": think,
        "answer_tokens": answer,
    }


# 3 puzzles × 4 samples:            sample 0  1  2  3
#   puzzle 0 (answers a a b a):            T  T  F  T
#   puzzle 1 (answers x y - y):            F  F  F  F
#   puzzle 2 (answers c c c c):            T  T  T  T
CORRECT = [[True, True, False, True], [False, False, False, False], [True, True, True, True]]
ANSWERS = [["a", "a", "b", "a"], ["x", "y", None, "y"], ["c", "c", "c", "c"]]


def records(budget=0, level=1, think=(10, 20, 30, 40)):
    return [
        rec(p, j, CORRECT[p][j], ANSWERS[p][j], think=think[j], answer=5 + j, level=level, budget=budget)
        for p in range(3)
        for j in range(4)
    ]


def test_pass_at_1_mean_and_sample_std_across_runs():
    # run accuracies: sample 0 → 2/3, 1 → 2/3, 2 → 1/3, 3 → 2/3; mean = (2+2+1+2)/12 = 7/12
    # deviations from 7/12: +1/12, +1/12, -3/12, +1/12 → squares sum 12/144; / (4-1) = 1/36 → std = 1/6
    mean, std, runs = pass_at_1(CORRECT)
    assert runs == pytest.approx([2 / 3, 2 / 3, 1 / 3, 2 / 3])
    assert mean == pytest.approx(7 / 12)
    assert std == pytest.approx(1 / 6)
    # population std (ddof=0): sqrt((12/144) / 4) = sqrt(1/48)
    assert pass_at_1(CORRECT, ddof=0)[1] == pytest.approx(math.sqrt(1 / 48))


def test_one_run_has_zero_std_and_no_puzzles_is_nan():
    assert pass_at_1([[True], [False]])[:2] == (0.5, 0.0)
    assert all(math.isnan(v) for v in pass_at_1([])[:2])


def test_best_and_worst_of_n():
    assert best_of_n(CORRECT) == pytest.approx(2 / 3)  # puzzles 0 and 2 have a right sample
    assert worst_of_n(CORRECT) == pytest.approx(1 / 3)  # only puzzle 2 is right every time


@pytest.mark.parametrize(
    "samples, expected",
    [
        ([("a", True), ("a", True), ("b", False), ("a", True)], ("a", True)),  # plain majority
        ([("x", False), ("y", False), (None, False), ("y", False)], ("y", False)),
        ([("b", False), ("a", True), ("a", True), ("b", False)], ("b", False)),  # 2-2 tie: b appeared first
        ([("a", True), ("b", False), ("b", False), ("a", True)], ("a", True)),  # 2-2 tie: a appeared first
        ([(None, False), (None, False), (None, False), ("a", True)], ("a", True)),  # unparseable never wins
        ([(None, False), (None, False)], (None, False)),  # nobody voted
        ([("7", True)], ("7", True)),
    ],
)
def test_majority_vote(samples, expected):
    assert majority_vote(samples) == expected


def test_mean_std_by_hand():
    # 10, 20, 30, 40: mean 25; squared deviations 225+25+25+225 = 500; /3 → std = sqrt(500/3)
    assert mean_std([10, 20, 30, 40]) == pytest.approx((25.0, math.sqrt(500 / 3)))
    assert mean_std([7]) == (7.0, 0.0)


def test_summarize_one_budget():
    s = summarize(records())
    assert (s["puzzles"], s["samples"]) == (3, 4)
    assert s["pass1"]["mean"] == pytest.approx(7 / 12) and s["pass1"]["std"] == pytest.approx(1 / 6)
    assert s["majority"] == pytest.approx(2 / 3)  # a (right), y (wrong), c (right)
    assert s["best_of_n"] == pytest.approx(2 / 3) and s["worst_of_n"] == pytest.approx(1 / 3)
    # thinking per response: 10,20,30,40 for each of 3 puzzles → mean 25, sample std over 12 values:
    # squared deviations 3 × 500 = 1500; / 11 → sqrt(1500/11)
    assert s["tokens"]["thinking"]["mean"] == 25
    assert s["tokens"]["thinking"]["std"] == pytest.approx(math.sqrt(1500 / 11))
    # answer tokens 5,6,7,8 → mean 6.5; total = 15,26,37,48 → mean 31.5
    assert s["tokens"]["answer"]["mean"] == 6.5 and s["tokens"]["total"]["mean"] == 31.5 == s["mean_tokens"]
    assert s["unparseable"] == pytest.approx(1 / 12)  # the one None in puzzle 1


def test_record_order_does_not_matter():
    shuffled = list(reversed(records()))
    assert summarize(shuffled)["pass1"]["runs"] == pytest.approx([2 / 3, 2 / 3, 1 / 3, 2 / 3])
    assert summarize(shuffled)["majority"] == pytest.approx(2 / 3)


def test_uneven_samples_are_refused():
    with pytest.raises(ValueError, match="same number of samples"):
        summarize(records()[:-1])


def test_accuracy_by_n_uses_the_first_n_samples():
    curve = accuracy_by_n(records())
    assert curve["n"] == [1, 2, 3, 4]
    # n=1: samples 0 only → T,F,T: every measure = 2/3
    # n=2: puzzle 0 T,T; puzzle 1 F,F (x vs y tie → x, wrong); puzzle 2 T,T → best 2/3, worst 2/3, majority 2/3
    # n=3: puzzle 0 T,T,F → best yes, worst no; majority a (right) → best 2/3, worst 1/3, majority 2/3
    assert curve["best_of_n"] == pytest.approx([2 / 3, 2 / 3, 2 / 3, 2 / 3])
    assert curve["worst_of_n"] == pytest.approx([2 / 3, 2 / 3, 1 / 3, 1 / 3])
    assert curve["majority"] == pytest.approx([2 / 3, 2 / 3, 2 / 3, 2 / 3])


def test_sweep_per_budget_and_level_breakdown():
    # budget 0: level 1 as above; level 2 all right (4 samples × 3 puzzles)
    level2 = [rec(p, j, True, "z", level=2) for p in range(3) for j in range(4)]
    # budget 64: every sample wrong
    wrong = [rec(p, j, False, "q", think=64, budget=64) for p in range(3) for j in range(4)]
    sweep = summarize_sweep(records() + level2 + wrong, [0, 64, None])
    assert list(sweep) == ["0", "64"]  # an unlimited budget with no records is left out
    b0 = sweep["0"]
    # all six puzzles: run accuracies (2+3)/6, (2+3)/6, (1+3)/6, (2+3)/6 → mean 19/24
    assert b0["pass1"]["mean"] == pytest.approx(19 / 24)
    assert b0["levels"]["1"]["pass1"]["mean"] == pytest.approx(7 / 12)
    assert b0["levels"]["2"]["pass1"]["mean"] == 1.0 and b0["levels"]["2"]["pass1"]["std"] == 0.0
    assert b0["best_of_n"] == pytest.approx(5 / 6) and b0["worst_of_n"] == pytest.approx(4 / 6)
    assert sweep["64"]["pass1"]["mean"] == 0 and sweep["64"]["tokens"]["thinking"] == {"mean": 64, "std": 0}
    rows = table_rows(sweep)
    assert [(r["budget"], r["level"]) for r in rows] == [("0", "all"), ("0", "1"), ("0", "2"), ("64", "all")]


def test_an_unlimited_budget_is_keyed_and_labelled_unlimited():
    unlimited = [rec(p, j, True, "a", think=90, budget=None) for p in range(3) for j in range(4)]
    sweep = summarize_sweep(records() + unlimited, [0, None])
    assert list(sweep) == ["0", "unlimited"] and sweep["unlimited"]["budget"] is None
    assert sweep["unlimited"]["pass1"]["mean"] == 1.0
    assert [r["budget"] for r in table_rows(sweep)] == ["0", "unlimited"]


@pytest.mark.parametrize(
    "text, expected",
    [("0,128,512", [0, 128, 512]), ("0, none", [0, None]), ("64,Unlimited,64", [64, None]), ("inf", [None])],
)
def test_parse_budgets(text, expected):
    assert parse_budgets(text) == expected


@pytest.mark.parametrize("text", ["", "abc", "-1", "1.5", " , "])
def test_parse_budgets_rejects(text):
    with pytest.raises(ValueError):
        parse_budgets(text)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"family": "nope"}, "unknown puzzle family"),
        ({"levels": [99]}, "no level 99"),
        ({"levels": []}, "at least one level"),
        ({"samples": 0}, "≥ 1"),
        ({"budgets": []}, "at least one"),
        ({"budgets": [-4]}, "≥ 0"),
        ({"budgets": [0, None, 0]}, "each thinking budget once"),
        ({"budget_mode": "soft"}, "unknown budget mode"),
        ({"temperature": -1}, "temperature"),
        ({"name": "../x"}, "bad run name"),
    ],
)
def test_config_validation(changes, message):
    with pytest.raises((ValueError, PuzzleConfigError), match=message):
        EvalConfig(**{"family": "maze", **changes}).validate()


def test_the_statistics_import_no_model_code():
    """The statistics are pure: summaries can be recomputed from a saved results.jsonl without torch."""
    import subprocess
    import sys
    from pathlib import Path

    code = "import sys, playground.evaluation.stats; print(sorted({'torch', 'transformers'} & set(sys.modules)))"
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
