"""The one answer reader (playground.puzzles.base) and the strictness of every verifier.

Right answers (each instance's reference) are mutated into wrong ones - off by one, a fraction, a decimal, digits
split by a comma or a space, a slot moved off the 5-minute grid or across a busy interval, a wrong option, a
changed move, assignment or tour - and every verifier must reject them, for every family and level of the
registry. Whether a mutation is really wrong is decided here, independently of the verifiers.
"""

from __future__ import annotations

import itertools
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from playground.puzzles import families, maze
from playground.puzzles.base import (
    BOXED,
    LINE,
    TAG,
    Instance,
    answer_choice,
    answer_dict,
    final_answer,
    read_choice,
    read_integer,
    strip_thinking,
)

# ---------------------------------------------------------------------------------------------------------------
# The reader itself

FINAL = [
    ("Final Answer: R R", (LINE,), "R R"),
    ("**Final Answer:** C", (LINE,), "C"),
    ("**Final Answer**: C", (LINE,), "C"),
    ("final answer: `d`", (LINE,), "d"),
    ("### Final Answer\n\nMonday 10:00-10:30\n", (LINE,), "Monday 10:00-10:30"),
    ("Final Answer:\n\n  R R  \nmore", (LINE,), "R R"),
    ("Final Answer: A\nno wait\nFinal Answer: B", (LINE,), "B"),
    ("Final Answer: A. That is my final answer.", (LINE,), "A. That is my final answer."),
    ("<think>Final Answer: A</think>Final Answer: B", (LINE,), "B"),
    ("Final Answer: A <think>Final Answer: B", (LINE,), "A"),
    ("<think>Final Answer: A", (LINE,), None),
    ("the final answer is C", (LINE,), None),
    ("Final Answer:", (LINE,), None),
    ("\\boxed{42}", (BOXED,), "42"),
    ("\\boxed{\\frac{1}{2}} and then \\boxed{7}", (BOXED,), "7"),
    ("\\boxed{\\frac{1}{2}}", (BOXED,), "\\frac{1}{2}"),
    ("\\boxed{42} then \\boxed{4", (BOXED,), None),  # the last box is unreadable: no earlier box stands in
    ("\\boxed{}", (BOXED,), None),
    ("\\boxed{41} Final Answer: 42", (BOXED, LINE), "42"),  # the later marker wins
    ("Final Answer: \\boxed{42}", (BOXED, LINE), "42"),
    ("Final Answer: 42", (BOXED,), None),
    ("<final_answer>{'a': 1}</final_answer>", (TAG,), "{'a': 1}"),
    ("<final_answer>x</final_answer> <FINAL_ANSWER>y</final_answer>", (TAG,), "y"),
    ("<final_answer>x</final_answer> <final_answer>y", (TAG,), "y"),
    ("Final Answer: 42", (TAG,), None),
    (None, (LINE, BOXED, TAG), None),
    (42, (LINE,), None),
    (b"Final Answer: A", (LINE,), None),
]


@pytest.mark.parametrize(("text", "forms", "expected"), FINAL)
def test_final_answer(text, forms, expected):
    assert final_answer(text, forms) == expected


INTEGERS = [
    ("42", 42),
    ("042", 42),
    ("-7", -7),
    ("+7", 7),
    ("42.0", 42),
    ("1,000", 1000),
    ("12,345,678", 12345678),
    ("1{,}000", 1000),
    ("1\\,000", 1000),
    ("1 000", 1000),
    ("1.5", None),
    ("1/7", None),
    ("1,3", None),
    ("1, 3", None),
    ("1 3", None),
    ("10,00", None),
    ("0,999", None),
    ("1,0000", None),
    ("42 dollars", None),
    ("", None),
    ("4" * 101, None),
]


@pytest.mark.parametrize(("text", "expected"), INTEGERS)
def test_read_integer_is_strict(text, expected):
    assert read_integer(text) == expected


OPTIONS = ["Northeast", "Northwest", "Southwest", "Southeast"]
CHOICES = [
    ("C", "C"),
    ("c", "C"),  # a lower-case letter on its own is unambiguous
    ("(c)", "C"),
    ("c.", "C"),
    ("\\boxed{C}", "C"),
    ("**C**", "C"),
    ("C. Southwest", "C"),
    ("D. Northeast", "D"),  # the letter wins over the text
    ("D Northeast", "D"),
    ("(B) something", "B"),
    ("northeast", "A"),
    ("It is Southeast.", "D"),
    ("a northeast", "A"),  # a lower-case letter before words is text: here the text names option A
    ("b northeast", "A"),
    ("A way to say it: north", None),
    ("E", None),
    ("e", None),
    ("Northeast or Northwest", None),
    ("North", None),
    ("", None),
]


@pytest.mark.parametrize(("text", "expected"), CHOICES)
def test_read_choice(text, expected):
    assert read_choice(text, OPTIONS) == expected


def test_answer_choice_and_dict_read_after_the_markers():
    assert answer_choice("Final Answer: b\n", OPTIONS) == "B"
    assert answer_choice("b", OPTIONS) is None
    assert answer_dict("<final_answer>{'Path': '0->1->0', 'TotalDistance': 3}</final_answer>") == {
        "path": "0->1->0",
        "totaldistance": 3,
    }
    assert answer_dict("{'Solution': 'True'}") == {"solution": "True"}  # a lost tag: the last bare dict
    assert answer_dict("<final_answer>{Path: 0->1->0, TotalDistance: 3}</final_answer>") == {
        "path": "0->1->0",
        "totaldistance": "3",
    }
    assert answer_dict("<final_answer>}}{{ garbage</final_answer>") is None
    assert answer_dict(None) is None


def test_strip_thinking():
    assert strip_thinking("<think>a</think>b<think>c</think>d") == "bd"
    assert strip_thinking("a</think>b") == "b"
    assert strip_thinking("a<think>b") == "a"
    assert strip_thinking("x<think>a</think>y</think>z") == "z"


HOSTILE = {
    "think": "<think>" * 60_000,
    "close think": "</think>" * 50_000,
    "answer tag": "<final_answer>" * 30_000,
    "tag pairs": "<final_answer>{" * 28_000,
    "final answer": "Final Answer: " * 30_000,
    "final spaces": "final" + " " * 400_000,
    "boxes": "\\boxed{" * 60_000,
    "braces": "{" * 400_000,
    "words": "a" * 400_000,
    "key soup": "{'" + "a" * 400_000,
    "think then answer": "<think>" + "x" * 400_000 + "</think>Final Answer: " + "1," * 100_000,
    "long line": "Final Answer: " + "R " * 200_000,
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_readers_are_linear_on_hostile_text(name):
    """A bound on quadratic blow-up, not a benchmark: each 400 KB input is read by every reader and verifier."""
    text = HOSTILE[name]
    assert len(text) >= 400_000
    instances = [fam.generate(0, 1) for fam in families().values()]
    start = time.perf_counter()
    final_answer(text, (LINE, BOXED, TAG))
    answer_dict(text)
    answer_choice(text, OPTIONS)
    for inst in instances:
        v = families()[inst.family].verify(inst, text)
        assert not v.correct
    assert time.perf_counter() - start < 5.0


# ---------------------------------------------------------------------------------------------------------------
# Every verifier rejects mutated references


def _hm(m: int) -> str:
    return f"{m // 60:02d}:{m % 60:02d}"


def _minutes(t: str) -> int:
    return int(t[:2]) * 60 + int(t[3:5])


def math_answers(inst: Instance) -> tuple[list[str], list[str]]:
    n = inst.data["answer"]
    digits = str(n)
    right = [inst.reference, f"Final Answer: {n}", f"\\boxed{{{n}.0}}", f"$\\boxed{{{n}}}$", f"\\boxed{{0{n}}}"]
    wrong = [f"\\boxed{{{n + 1}}}", f"\\boxed{{{n - 1}}}", f"Final Answer: {n + 1}"]
    wrong += [f"\\boxed{{{n}.5}}", f"Final Answer: {n}.5", f"\\boxed{{{n}.01}}", f"Final Answer: {n}.999"]
    wrong += [f"Final Answer: {7 * n + 1}/7", f"\\boxed{{\\frac{{{2 * n + 1}}}{{2}}}}", f"\\boxed{{-{n + 1}}}"]
    splits = [(digits[:i], digits[i:]) for i in range(1, len(digits))] or [(digits, "0"), ("0", digits)]
    for a, b in splits:  # never a group of three digits: answers are below 1000
        wrong += [f"\\boxed{{{a}, {b}}}", f"\\boxed{{{a} {b}}}", f"Final Answer: {a},{b}", f"\\boxed{{{a}\\,{b}}}"]
    return right, wrong


def _free_minutes(data: dict, day: str) -> list[bool]:
    """Minute by minute: is every participant available? (Read from the availability strings, not the module.)"""
    free = [True] * 1440
    for sched in data["availability"].values():
        mine = [False] * 1440
        for block in sched.get(day, []):
            a, b = block.split("-")
            for m in range(_minutes(a), _minutes(b)):
                mine[m] = True
        free = [x and y for x, y in zip(free, mine)]
    return free


def calendar_answers(inst: Instance) -> tuple[list[str], list[str]]:
    data = inst.data
    d = data["constraints"]["duration"]
    ref = data["solution"]
    if ref is None:  # no slot exists, so every slot is wrong
        wrong = [f"Final Answer: {day} {_hm(s)}-{_hm(s + d)}" for day in data["days"] for s in (540, 600, 780)]
        return [inst.reference, "Final Answer: no common time slot available."], wrong
    day, span = ref.split()
    s0 = _minutes(span[:5])
    right = [inst.reference, f"Final Answer: {day.lower()} {span}"]
    right += [f"**Final Answer:** {day} {span.replace('-', ' - ')}"]
    wrong = [f"Final Answer: {day} {_hm(s0 + k)}-{_hm(s0 + k + d)}" for k in (-4, -1, 1, 2, 4)]  # off the grid
    wrong += [f"Final Answer: {day} {_hm(s0)}-{_hm(s0 + d + 5)}", f"Final Answer: {day} {_hm(s0)}-{_hm(s0 + d - 5)}"]
    wrong += ["Final Answer: No common time slot available"]
    free = _free_minutes(data, day)
    lo, hi = s0, s0 + d  # the common free stretch around the reference
    while lo > 0 and free[lo - 1]:
        lo -= 1
    while hi < 1440 and free[hi]:
        hi += 1
    for start in (hi - d + 5, lo - 5):  # moved across a busy edge of the stretch, still on the grid
        if 0 <= start and start + d <= 1440:
            assert not all(free[start : start + d])
            wrong.append(f"Final Answer: {day} {_hm(start)}-{_hm(start + d)}")
    return right, wrong


def choice_answers(inst: Instance, options: list[str], letter: str) -> tuple[list[str], list[str]]:
    text = options["ABCD".index(letter)]
    right = [inst.reference, f"Final Answer: {letter.lower()}", f"Final Answer: ({letter})", f"Final Answer: {text}"]
    right += [f"**Final Answer:** {letter}. {text}", f"Final Answer: {letter.lower()}."]
    wrong = []
    for other, other_text in zip("ABCD", options):
        if other != letter:
            wrong += [f"Final Answer: {other}", f"Final Answer: {other.lower()}", f"Final Answer: {other_text}"]
            wrong += [f"Final Answer: {other}. {text}"]  # the letter wins over the text
    return right, wrong


def spatial_answers(inst: Instance) -> tuple[list[str], list[str]]:
    q = inst.data["question"]
    return choice_answers(inst, q["options"], q["answer"])


STEP = {"U": (-1, 0), "D": (1, 0), "L": (0, -1), "R": (0, 1)}


def maze_answers(inst: Instance) -> tuple[list[str], list[str]]:
    """A path of exactly the shortest length that differs from the shortest path cannot end on E (a perfect maze is
    a tree), and one move more or less never ends there either."""
    moves = inst.reference.removeprefix("Final Answer: ").split()
    right = [inst.reference, "final answer: " + " ".join(m.lower() for m in moves), "Final Answer: " + "".join(moves)]
    right += ["Final Answer: " + ", ".join({"U": "up", "D": "down", "L": "left", "R": "right"}[m] for m in moves)]
    wrong = ["Final Answer: " + " ".join(moves[:-1]), "Final Answer: " + " ".join(moves[::-1])]
    wrong += ["Final Answer: " + " ".join([*moves, m]) for m in STEP]
    for i in sorted({0, len(moves) // 2, len(moves) - 1}):
        for m in STEP:
            if m != moves[i]:
                wrong.append("Final Answer: " + " ".join([*moves[:i], m, *moves[i + 1 :]]))
    if moves[::-1] == moves:
        wrong.remove("Final Answer: " + " ".join(moves[::-1]))
    return right, wrong


def _sat_wrap(value: str) -> str:
    return "<final_answer>{'Solution': '" + value + "'}</final_answer>"


def sat_answers(inst: Instance) -> tuple[list[str], list[str]]:
    n, clauses, sol = inst.data["n_vars"], inst.data["clauses"], inst.data["solution"]

    def satisfies(values: list[bool]) -> bool:
        return all(any(values[abs(lit) - 1] == (lit > 0) for lit in c) for c in clauses)

    if sol is None:
        assignments = [[True] * n, [False] * n, [k % 2 == 0 for k in range(n)]]
        return [inst.reference, _sat_wrap("unsatisfiable")], [_sat_wrap(", ".join(map(str, a))) for a in assignments]
    right = [inst.reference, _sat_wrap(", ".join("T" if v else "F" for v in sol))]
    wrong = [_sat_wrap("Unsatisfiable"), _sat_wrap(", ".join(map(str, sol[:-1])))]
    wrong += [_sat_wrap(", ".join(map(str, sol + [True])))]
    for i in range(n):  # every single flip that breaks a clause
        flipped = [v if k != i else not v for k, v in enumerate(sol)]
        if not satisfies(flipped):
            wrong.append(_sat_wrap(", ".join(map(str, flipped))))
    return right, wrong


def _tsp_wrap(tour: list[int], total: int | str = "") -> str:
    path = "->".join(map(str, tour))
    return "<final_answer>{'Path': '" + path + "', 'TotalDistance': '" + str(total) + "'}</final_answer>"


def tsp_answers(inst: Instance) -> tuple[list[str], list[str]]:
    w, tour, opt = inst.data["weights"], inst.data["optimal_tour"], inst.data["optimal_length"]
    n = len(w)
    cycle = tour[:-1]

    def length(c: list[int]) -> int:
        return sum(w[a][b] for a, b in zip(c, c[1:] + c[:1]))

    assert length(cycle) == opt
    rotated = cycle[1:] + cycle[:1]
    right = [inst.reference, _tsp_wrap(rotated + rotated[:1], opt), _tsp_wrap(cycle[::-1] + cycle[-1:], opt)]
    wrong = [_tsp_wrap(cycle[:-1] + cycle[:1]), _tsp_wrap([*cycle[:-1], cycle[1], 0]), _tsp_wrap([*cycle, n, 0])]
    for i, j in itertools.combinations(range(1, n), 2):  # swapped cities that make a longer tour
        swapped = list(cycle)
        swapped[i], swapped[j] = swapped[j], swapped[i]
        if length(swapped) > opt:
            wrong.append(_tsp_wrap(swapped + swapped[:1], length(swapped)))
    return right, wrong


ANSWERS = {
    "math": math_answers,
    "calendar": calendar_answers,
    "spatial_map": spatial_answers,
    "maze": maze_answers,
    "sat": sat_answers,
    "tsp": tsp_answers,
}


def test_every_family_has_mutations():
    assert set(ANSWERS) == set(families())


def _check(inst: Instance) -> None:
    verify = families()[inst.family].verify
    right, wrong = ANSWERS[inst.family](inst)
    for text in right:
        v = verify(inst, text)
        assert v.correct and v.score == 1.0, (text, v.reason)
    for text in wrong:
        v = verify(inst, text)
        assert not v.correct and v.score < 1.0, (inst.seed, text, v.reason)


CASES = [(name, level) for name, fam in families().items() for level in sorted(fam.levels)]


@pytest.mark.parametrize(("name", "level"), CASES)
@settings(max_examples=4, deadline=None)
@given(seed=st.integers(0, 100_000))
def test_every_verifier_rejects_mutated_references(name, level, seed):
    inst = families()[name].generate(seed, level)
    _check(inst)
    if name == "maze":  # the multiple-choice tasks of the same maze
        for task in ("turns", "right_turns", "direction"):
            choice = maze.generate_config(maze.MazeConfig(seed=seed, level=level, task=task))
            right, wrong = choice_answers(choice, choice.data["options"], choice.data["answer_letter"])
            for text in right:
                assert maze.verify(choice, text).correct, text
            for text in wrong:
                assert not maze.verify(choice, text).correct, text


@pytest.mark.parametrize(("name", "level"), CASES)
def test_mutations_on_fixed_seeds(name, level):
    """The same properties on seeds 0-2, so that every run checks the same instances too."""
    for seed in range(3):
        _check(families()[name].generate(seed, level))
