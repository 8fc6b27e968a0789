"""Spatial map family: generation, brute force proving the statements imply the reference, verdict tables."""

from __future__ import annotations

import itertools
import json
import re

import pytest

from playground.puzzles import spatial_map as sm
from playground.puzzles.base import Instance, PuzzleConfigError
from playground.puzzles.spatial_map import SpatialMapConfig, generate, verify

LEVELS = sorted(sm.LEVELS)
SIGNS = {"Northeast": (1, 1), "Northwest": (-1, 1), "Southwest": (-1, -1), "Southeast": (1, -1)}


def read_prompt(prompt: str) -> tuple[list[str], list[tuple[str, str, str]], str, list[str]]:
    """Objects, statements, question and options, read back from the prompt text alone."""
    facts, rest = prompt.split("\n\n", 1)
    first = re.search(r"\n(.+?) is in the map\.", facts).group(1)
    stmts = re.findall(r"(?:^|\. )([^.]+?) is to the (\w+) of ([^.]+?)(?=\.)", facts.split(":\n", 1)[1])
    objs = list(dict.fromkeys([first] + [n for a, _, b in stmts for n in (a, b)]))
    question = re.search(r"information\. (.+?\?)", rest).group(1)
    opts = re.search(r"Available options: A\. (.+?), B\. (.+?), C\. (.+?), D\. (.+?)\.\n", rest).groups()
    return objs, stmts, question, list(opts)


def answers_over_all_placements(prompt: str) -> set[str]:
    """Every answer letter that some integer placement (ties allowed) consistent with the statements gives."""
    objs, stmts, question, opts = read_prompt(prompt)
    n, idx = len(objs), {o: i for i, o in enumerate(objs)}
    m = re.match(r"In which direction is (.+) relative to (.+)\?", question) or re.match(
        r"(?:Which object|How many objects) (?:is|are) in the (\w+) of (.+)\?", question
    )
    ref = idx[m.group(2)]

    def sign_patterns(axis: int) -> set[tuple[int, ...]]:
        pats = set()
        for vals in itertools.product(range(n), repeat=n):
            if all((vals[idx[a]] - vals[idx[b]]) * SIGNS[d][axis] > 0 for a, d, b in stmts):
                pats.add(tuple((v > vals[ref]) - (v < vals[ref]) for v in vals))
        return pats

    letters = set()
    for sx, sy in itertools.product(sign_patterns(0), sign_patterns(1)):
        if question.startswith("In which"):
            t = idx[m.group(1)]
            name = next((k for k, v in SIGNS.items() if v == (sx[t], sy[t])), None)
        else:
            want = SIGNS[m.group(1)]
            inside = [o for o in objs if (sx[idx[o]], sy[idx[o]]) == want]
            name = str(len(inside)) if question.startswith("How many") else (inside or [None])
        if isinstance(name, list):  # which-object: any listed option that lies there is a possible answer
            letters |= {"ABCD"[i] for i, o in enumerate(opts) if o in name}
            if not any(o in name for o in opts):
                letters.add("none")
        else:
            letters.add("ABCD"[opts.index(name)] if name in opts else "none")
    return letters


@pytest.mark.parametrize("level", LEVELS)
def test_reference_is_the_only_answer_the_statements_allow(level):
    for seed in range(12 if level < 4 else 3):
        inst = generate(seed, level)
        assert answers_over_all_placements(inst.prompt) == {inst.data["question"]["answer"]}, (level, seed)


@pytest.mark.parametrize("level", LEVELS)
def test_direction_questions_ask_about_unrelated_objects(level):
    for seed in range(20):
        inst = generate(seed, level)
        objs, stmts, question, _ = read_prompt(inst.prompt)
        assert len(objs) == len(inst.data["objects"])
        m = re.match(r"In which direction is (.+) relative to (.+)\?", question)
        if m:
            assert not any({a, b} == {m.group(1), m.group(2)} for a, _, b in stmts)


@pytest.mark.parametrize("level", LEVELS)
def test_reference_passes_and_trace_reasons_with_the_statements(level):
    for seed in range(15):
        inst = generate(seed, level)
        v = verify(inst, inst.reference)
        assert v.correct and v.score == 1.0 and v.extracted == inst.data["question"]["answer"]
        tr = sm.trace(inst)
        assert tr.isascii() and tr.splitlines()[-1] == inst.reference
        assert verify(inst, tr).correct
        # chains cite "  A is to the X of B -> ...", sketches " A is to the X of B(5,5) so ..."
        cited = re.findall(r"^ {1,2}(\w.* is to the \w+ of .+?)(?: -> |\(\d,\d\) so )", tr, re.MULTILINE)
        assert cited and all(c + "." in inst.prompt for c in cited)  # only real statements are used
        json.dumps(inst.to_json())


def test_question_types_by_level():
    kinds = {lvl: {generate(s, lvl).data["question"]["type"] for s in range(40)} for lvl in LEVELS}
    assert kinds[1] == {"direction"}
    assert kinds[2] == {"direction", "count"}
    assert kinds[4] == {"direction", "which", "count"}
    assert {len(generate(s, 4).data["statements"]) for s in range(5)} == {9}


# Hand-made: Fox Books NE of Oak Cafe, Lake Inn NE of Fox Books => Lake Inn NE of Oak Cafe (option A).
HAND = Instance(
    "spatial_map",
    1,
    0,
    "",
    "Final Answer: A",
    {
        "objects": [
            {"name": "Oak Cafe", "x": 0, "y": 0},
            {"name": "Fox Books", "x": 2, "y": 1},
            {"name": "Lake Inn", "x": 3, "y": 3},
        ],
        "statements": [["Fox Books", "Northeast", "Oak Cafe"], ["Lake Inn", "Northeast", "Fox Books"]],
        "question": {
            "type": "direction",
            "target": "Lake Inn",
            "ref": "Oak Cafe",
            "options": ["Northeast", "Northwest", "Southwest", "Southeast"],
            "answer_text": "Northeast",
            "answer": "A",
        },
    },
)
# A diagonal chain Oak (0,0) < Fox < Lake < Red < Sun (4,4), plus Wolf Den (3,1) Southeast of Lake Inn:
# Northeast of Lake Inn lie Red Barn and Sun Deli; only Sun Deli is offered.
WHICH = Instance(
    "spatial_map",
    3,
    0,
    "",
    "Final Answer: C",
    {
        "objects": [
            {"name": n, "x": i, "y": i}
            for i, n in enumerate(["Oak Cafe", "Fox Books", "Lake Inn", "Red Barn", "Sun Deli"])
        ]
        + [{"name": "Wolf Den", "x": 3, "y": 1}],
        "statements": [
            ["Fox Books", "Northeast", "Oak Cafe"],
            ["Lake Inn", "Northeast", "Fox Books"],
            ["Red Barn", "Northeast", "Lake Inn"],
            ["Sun Deli", "Northeast", "Red Barn"],
            ["Wolf Den", "Southeast", "Lake Inn"],
        ],
        "question": {
            "type": "which",
            "ref": "Lake Inn",
            "direction": "Northeast",
            "options": ["Oak Cafe", "Fox Books", "Sun Deli", "Wolf Den"],
            "answer_text": "Sun Deli",
            "answer": "C",
        },
    },
)

TABLE = [
    (HAND, "Final Answer: A", "correct", "A"),
    (HAND, "Reasoning...\n**Final Answer:** (A)", "correct", "A"),
    (HAND, "Final Answer: A. Northeast", "correct", "A"),
    (HAND, "final answer: northeast.", "correct", "A"),
    (HAND, "Final Answer: \\boxed{A}", "correct", "A"),
    (HAND, "Final Answer: It is Northeast", "correct", "A"),
    (HAND, "Final Answer: B", "wrong", "B"),
    (HAND, "Final Answer: a", "correct", "A"),  # a lower-case letter on its own reads as the option letter
    (HAND, "**Final Answer:** b", "wrong", "B"),
    (HAND, "Final Answer: e", "unparseable", None),
    (HAND, "Final Answer: Southwest", "wrong", "C"),
    (HAND, "Final Answer: D. Northeast", "wrong", "D"),  # the letter wins over the text
    (HAND, "<think>Final Answer: C</think>\nFinal Answer: A", "correct", "A"),
    (HAND, "Southwest? </think> Final Answer: A", "correct", "A"),
    (HAND, "Final Answer: A\nHmm, no.\nFinal Answer: D", "wrong", "D"),
    (HAND, "Final Answer: D\nHmm, no.\nFinal Answer: A", "correct", "A"),
    (HAND, "The answer is A", "unparseable", None),
    (HAND, "Final Answer: E", "unparseable", None),
    (HAND, "Final Answer: North", "unparseable", None),
    (HAND, "Final Answer: Northeast or Northwest", "unparseable", None),
    (HAND, "<think>Final Answer: A", "unparseable", None),
    (HAND, "Final Answer: {]]} garbage", "unparseable", None),
    (WHICH, "Final Answer: Sun Deli", "correct", "C"),
    (WHICH, "Final Answer: C. Sun Deli", "correct", "C"),
    (WHICH, "Final Answer: Wolf Den", "wrong", "D"),
    (WHICH, "Final Answer: Red Barn", "unparseable", None),  # true, but not one of the options
]


@pytest.mark.parametrize(("inst", "text", "status", "letter"), TABLE)
def test_answer_table(inst, text, status, letter):
    v = verify(inst, text)
    assert (v.status, v.extracted) == (status, letter), (text, v)
    assert v.correct == (status == "correct")
    if status == "wrong":
        assert "the answer is" in v.reason and v.details[0]["expected"].startswith(inst.data["question"]["answer"])


def test_verdict_explains_with_coordinates_and_statements():
    v = verify(HAND, "Final Answer: B")
    why = v.details[0]["why"]
    assert "(3, 3)" in why and "(0, 0)" in why
    assert "Fox Books is to the Northeast of Oak Cafe" in why
    why = verify(WHICH, "Final Answer: A").details[0]["why"]
    assert "Red Barn (3, 3)" in why and "Sun Deli (4, 4)" in why and "Wolf Den" not in why


def test_hand_trace_sketches_a_small_tree_on_a_grid():
    assert sm.trace(HAND).splitlines() == [
        "Q: In which direction is Lake Inn relative to Oak Cafe?",
        "sketch: x east, y north, from (5,5) Oak Cafe",
        " Fox Books is to the Northeast of Oak Cafe(5,5) so (6,6) Fox Books",
        " Lake Inn is to the Northeast of Fox Books(6,6) so (7,7) Lake Inn",
        " Lake Inn(7,7), Oak Cafe(5,5)",
        " x 7>5 east",
        " y 7>5 north",
        " so Lake Inn is Northeast of Oak Cafe",
        "Northeast is option A",
        "Final Answer: A",
    ]


def test_hand_trace_chains_statements_on_a_bigger_map():
    # the same question with a sixth object: too big to sketch, so the trace follows chains of statements per axis
    data = {**HAND.data, "objects": HAND.data["objects"] + [{"name": f"o{k}", "x": 9, "y": 9} for k in range(3)]}
    data["statements"] = HAND.data["statements"] + [[f"o{k}", "Northeast", "Lake Inn"] for k in range(3)]
    big = Instance("spatial_map", 1, 0, "", "Final Answer: A", data)
    assert sm.trace(big).splitlines() == [
        "Q: In which direction is Lake Inn relative to Oak Cafe?",
        " x: from Oak Cafe",
        "  Fox Books is to the Northeast of Oak Cafe -> Fox Books east of Oak Cafe",
        "  Lake Inn is to the Northeast of Fox Books -> Lake Inn east of Fox Books",
        "  so Lake Inn east of Oak Cafe",
        " y: from Oak Cafe",
        "  Fox Books is to the Northeast of Oak Cafe -> Fox Books north of Oak Cafe",
        "  Lake Inn is to the Northeast of Fox Books -> Lake Inn north of Fox Books",
        "  so Lake Inn north of Oak Cafe",
        "Lake Inn is Northeast of Oak Cafe",
        "Northeast is option A",
        "Final Answer: A",
    ]


def test_every_level_1_trace_is_a_sketch_whose_comparisons_give_the_answer():
    for seed in range(300):
        inst = generate(seed, 1)
        lines = sm.trace(inst).splitlines()
        assert lines[1].startswith("sketch: ")
        q = inst.data["question"]
        # where the sketch placed each object: "(6,6) Red Barn", the first in the "sketch:" line
        pos = {name: xy for xy, name in re.findall(r"\((\d,\d)\) (\w+ \w+)$", "\n".join(lines[1:-6]), re.M)}
        assert len(pos) == len(inst.data["objects"])
        # the look-up line copies the asked objects' coordinates from there
        assert lines[-6] == f" {q['target']}({pos[q['target']]}), {q['ref']}({pos[q['ref']]})"
        xa, ya = map(int, pos[q["target"]].split(","))
        xb, yb = map(int, pos[q["ref"]].split(","))
        assert (xa > xb, ya > yb) == {
            "Northeast": (1, 1),
            "Northwest": (0, 1),
            "Southwest": (0, 0),
            "Southeast": (1, 0),
        }[q["answer_text"]]
        assert verify(inst, "\n".join(lines)).correct


@pytest.mark.parametrize(
    ("kwargs", "msg"),
    [
        ({"n_objects": 2}, "n_objects"),
        ({"links": 0}, "links"),
        ({"qtypes": ("where",)}, "qtypes"),
        ({"qtypes": ()}, "qtypes"),
        ({"n_objects": 3, "qtypes": ("count",)}, "count"),
        ({"n_objects": 4, "qtypes": ("which",)}, "which"),
        ({"seed": -3}, "seed"),
    ],
)
def test_config_validation(kwargs, msg):
    with pytest.raises(PuzzleConfigError, match=msg):
        sm.generate_config(SpatialMapConfig(**kwargs))


def test_brute_force_sees_an_undetermined_question():
    # Lake Inn is east of Oak Cafe through Fox Books, but north/south of it is not implied: two answers
    # survive (and ties, where it lies in none of the four directions).
    prompt = (
        "Consider a map with multiple objects:\nOak Cafe is in the map. "
        "Fox Books is to the Northeast of Oak Cafe. Lake Inn is to the Southeast of Fox Books.\n\n"
        "Please answer the following multiple-choice question based on the provided information. "
        "In which direction is Lake Inn relative to Oak Cafe? "
        "Available options: A. Northeast, B. Northwest, C. Southwest, D. Southeast.\n"
    )
    assert answers_over_all_placements(prompt) == {"A", "D", "none"}
