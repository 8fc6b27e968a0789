"""3SAT family: generation, DPLL cross-checked with pysat and brute force, verifier tables, trace."""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pysat.solvers import Minisat22

from playground.puzzles import sat
from playground.puzzles.base import Instance, PuzzleConfigError
from playground.puzzles.sat import SatConfig, generate, generate_config, verify

CATEGORIES = ["hard", "easy_under", "easy_over", "unique"]


def wrap(value: str) -> str:
    return "<final_answer>{'Solution': '" + value + "'}</final_answer>"


def brute_solutions(n: int, clauses: list[list[int]]) -> list[tuple[bool, ...]]:
    return [
        a
        for a in itertools.product([True, False], repeat=n)
        if all(any(a[abs(lit) - 1] == (lit > 0) for lit in c) for c in clauses)
    ]


def hand_instance(clauses: list[list[int]], solution: list[bool] | None) -> Instance:
    data = {
        "n_vars": 3,
        "category": "hard",
        "ratio": 1.0,
        "clauses": clauses,
        "satisfiable": solution is not None,
        "n_solutions": -1,
        "solution": solution,
    }
    return Instance("sat", 1, 0, "", "", data)


# (x1 | x2 | x3) & (-x1 | -x2 | x3) & (x1 | -x2 | -x3): TTT and FTF satisfy it, FFF breaks c1, TTF breaks c2
SAT3 = hand_instance([[1, 2, 3], [-1, -2, 3], [1, -2, -3]], [True, True, True])
UNSAT3 = hand_instance([[a * 1, b * 2, c * 3] for a in (1, -1) for b in (1, -1) for c in (1, -1)], None)

TABLE = [
    (SAT3, wrap("True, True, True"), "correct"),
    (SAT3, wrap("False, True, False"), "correct"),  # another satisfying assignment is just as right
    (SAT3, "So the answer is " + wrap("true, true, true") + " as shown.", "correct"),
    (SAT3, '<final_answer>{"Solution": "True, True, True"}</final_answer>', "correct"),
    (SAT3, "<final_answer>{'Solution': ['True', 'True', 'True']}</final_answer>", "correct"),
    (SAT3, "<final_answer>{'Solution': 'T, T, T'}</final_answer>", "correct"),
    (SAT3, "{'Solution': 'True, True, True'}", "correct"),  # tag forgotten: the bare dict still reads
    (SAT3, wrap("False, False, False"), "wrong"),
    (SAT3, wrap("True, True, False"), "wrong"),
    (SAT3, wrap("True, True"), "wrong"),
    (SAT3, wrap("Unsatisfiable"), "wrong"),
    (SAT3, "<think>maybe " + wrap("False, False, False") + "</think>" + wrap("True, True, True"), "correct"),
    (SAT3, "<think>first " + wrap("True, True, True") + "</think>" + wrap("False, False, False"), "wrong"),
    (
        SAT3,
        "thinking " + wrap("False, False, False") + " hmm </think> " + wrap("True, True, True"),
        "correct",
    ),
    (SAT3, wrap("True, True, True") + " wait, no: " + wrap("True, True, False"), "wrong"),
    (SAT3, wrap("True, True, False") + " wait, no: " + wrap("True, True, True"), "correct"),
    (SAT3, "<think>never closed " + wrap("True, True, True"), "unparseable"),
    (SAT3, "<final_answer>{'Solution': 'yes'}</final_answer>", "unparseable"),
    (SAT3, "<final_answer>{'Answer': 'True, True, True'}</final_answer>", "unparseable"),
    (SAT3, "<final_answer>}}{{ garbage</final_answer>", "unparseable"),
    (SAT3, "True, True, True", "unparseable"),
    (SAT3, "", "unparseable"),
    (UNSAT3, wrap("Unsatisfiable"), "correct"),
    (UNSAT3, wrap("unsatisfiable"), "correct"),
    (UNSAT3, wrap("True, True, True"), "wrong"),
]


@pytest.mark.parametrize("instance,text,status", TABLE)
def test_answer_table(instance: Instance, text: str, status: str) -> None:
    v = verify(instance, text)
    assert v.status == status, v.reason
    assert v.correct == (status == "correct")


def test_wrong_answers_explain_themselves() -> None:
    v = verify(SAT3, wrap("True, True, False"))
    assert v.reason.startswith("wrong: c2 (-x1 -x2 x3) is false") and v.score == pytest.approx(2 / 3)
    assert [d["ok"] for d in v.details] == [True, False, True]
    v = verify(SAT3, wrap("True, True"))
    assert "2 values given for 3 variables" in v.reason and v.score == 0
    v = verify(SAT3, wrap("Unsatisfiable"))
    assert "satisfiable" in v.reason and v.details[0]["witness"] == "True, True, True"
    assert verify(SAT3, wrap("T, t, TRUE")).extracted == verify(SAT3, wrap("True, True, True")).extracted


def test_config_validation() -> None:
    with pytest.raises(PuzzleConfigError, match="unknown sat category"):
        generate_config(SatConfig(seed=0, category="medium"))
    with pytest.raises(PuzzleConfigError, match="n_vars"):
        generate_config(SatConfig(seed=0, n_vars=2))


@pytest.mark.parametrize("level", sorted(sat.LEVELS))
def test_reference_passes_and_pysat_agrees(level: int) -> None:
    for seed in range(6):
        for category in ["mixed", *CATEGORIES]:
            inst = generate_config(SatConfig(seed=seed, level=level, category=category))
            d = inst.data
            assert verify(inst, inst.reference).correct, (seed, category)
            assert all(len({abs(lit) for lit in c}) == 3 for c in d["clauses"])
            with Minisat22(bootstrap_with=d["clauses"]) as solver:
                assert solver.solve() == d["satisfiable"], (seed, category)
            if category == "unique":
                assert d["n_solutions"] == 1


@pytest.mark.parametrize("level", [1, 2, 3])
def test_brute_force_agrees(level: int) -> None:
    for seed in range(12):
        inst = generate(seed, level)
        sols = brute_solutions(inst.data["n_vars"], inst.data["clauses"])
        assert len(sols) == inst.data["n_solutions"]
        assert bool(sols) == inst.data["satisfiable"]
        for sol in sols[:5]:  # every satisfying assignment is accepted, not only the stored one
            assert verify(inst, wrap(", ".join(map(str, sol)))).correct
        unsat_assignments = [a for a in itertools.product([True, False], repeat=inst.data["n_vars"]) if a not in sols]
        a = unsat_assignments[0]
        v = verify(inst, wrap(", ".join(map(str, a))))
        n_ok = sum(any(a[abs(lit) - 1] == (lit > 0) for lit in c) for c in inst.data["clauses"])
        assert not v.correct and v.score == pytest.approx(n_ok / len(inst.data["clauses"]))


def test_level_one_mixes_sat_and_unsat() -> None:
    kinds = {generate(seed, 1).data["satisfiable"] for seed in range(20)}
    assert kinds == {True, False}


def _follow_trace(inst: Instance) -> dict[int, bool]:
    """Replay the trace: every unit and conflict step must be justified by the state it claims."""
    clauses, state = inst.data["clauses"], {}
    for line in sat.trace(inst).splitlines():
        if m := re.fullmatch(r"try x(\d+)=([TF])(?: with (.*))?", line):
            state = {int(v): val == "T" for v, val in re.findall(r"x(\d+)=([TF])", m.group(3) or "")}
            state[int(m.group(1))] = m.group(2) == "T"
        elif m := re.fullmatch(r"c(\d+) \((.*)\) (unit -> x(\d+)=([TF])|conflict -> backtrack)", line):
            clause = clauses[int(m.group(1)) - 1]
            assert m.group(2) == " ".join(f"x{x}" if x > 0 else f"-x{-x}" for x in clause)
            false = [lit for lit in clause if abs(lit) in state and state[abs(lit)] != (lit > 0)]
            if m.group(4):
                var, val = int(m.group(4)), m.group(5) == "T"
                assert len(false) == 2 and var not in state and (var if val else -var) in clause
                state[var] = val
            else:
                assert len(false) == 3
        elif m := re.fullmatch(r"x(\d+) free -> T", line):
            state[int(m.group(1))] = True
    return state


def _check_brute_force(inst: Instance, text: str) -> None:
    """Each clause with the assignments that falsify it, then every assignment in order, True first, with the first
    clause it falsifies, up to the first solution."""
    n, clauses = inst.data["n_vars"], inst.data["clauses"]
    listed = re.findall(r"^c(\d+): \((.*)\) false at ((?:[TF]+=c\d+ ?)+)$", text, flags=re.MULTILINE)
    assert [int(i) for i, _, _ in listed] == list(range(1, len(clauses) + 1))
    every = ["".join(w) for w in itertools.product("TF", repeat=n)]
    for (i, lits, words), clause in zip(listed, clauses):
        assert lits == " OR ".join(f"x{x}" if x > 0 else f"-x{-x}" for x in clause)
        falsified = [w for w in every if all((w[abs(lit) - 1] == "T") != (lit > 0) for lit in clause)]
        assert words.split() == [f"{w}=c{i}" for w in falsified] and len(falsified) == 2 ** (n - 3)
    lines = re.findall(r"^([TF]+)=(?:c(\d+) false|none, all true)$", text, flags=re.MULTILINE)
    assert [word for word, _ in lines] == every[: len(lines)]
    for word, bad in lines:
        values = [ch == "T" for ch in word]
        falsified = [i for i, c in enumerate(clauses, 1) if all(values[abs(lit) - 1] != (lit > 0) for lit in c)]
        assert (int(bad) if bad else None) == (falsified[0] if falsified else None)
    if inst.data["satisfiable"]:
        assert [ch == "T" for ch in lines[-1][0]] == inst.data["solution"]  # DPLL's solution: the first in order
    else:
        assert len(lines) == 2**n and "no assignment works" in text


@pytest.mark.parametrize("level", [1, 2, 4])
def test_trace_is_consistent_and_names_the_answer(level: int) -> None:
    for seed in range(8 if level > 1 else 40):
        inst = generate(seed, level)
        text = sat.trace(inst)
        assert text.isascii()
        last = text.splitlines()[-1]
        assert wrap(last.removeprefix("answer: ")) == inst.reference
        if inst.data["n_vars"] <= sat.BRUTE_FORCE_UP_TO:
            _check_brute_force(inst, text)
            continue
        state = _follow_trace(inst)
        if inst.data["satisfiable"]:
            assert [state[v] for v in range(1, inst.data["n_vars"] + 1)] == inst.data["solution"]
            checked = re.findall(r"^c(\d+) .* ok x\d+=[TF]$", text, flags=re.MULTILINE)
            assert checked == [str(i) for i in range(1, len(inst.data["clauses"]) + 1)]
        else:
            assert last == "answer: Unsatisfiable"


@given(
    st.lists(
        st.sampled_from(
            [
                "<final_answer>",
                "</final_answer>",
                "{",
                "}",
                "'Solution'",
                ":",
                "'",
                "True",
                "False",
                ",",
                "[",
                "]",
                "Unsatisfiable",
                "<think>",
                "</think>",
                " ",
                "x1=",
                "((",
            ]
        ),
        max_size=30,
    )
)
@settings(max_examples=200, deadline=None)
def test_verify_never_raises_on_near_answers(parts: list[str]) -> None:
    v = verify(SAT3, "".join(parts))
    assert v.status in ("correct", "wrong", "unparseable") and 0 <= v.score <= 1
