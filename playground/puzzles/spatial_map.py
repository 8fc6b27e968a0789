"""SpatialEval style spatial map: objects on a 2-D map, pairwise direction statements, multiple choice.

Statements use the four diagonal directions ("X is to the Northeast of Y" means X is strictly east AND
strictly north of Y), so each statement only fixes signs. A relation between two objects is *implied* exactly
when a chain of statements orders them on each axis (strict inequalities are transitive; anything else can be
realised either way). Instances are generated so that the asked question is implied by the statements, and a
direction question always asks about two objects that no single statement relates.

Answer: `Final Answer: <letter>`, read by `base.answer_choice`. The option text itself is accepted too ("Final
Answer: Northeast", or "Final Answer: B. Northwest"; with both, the letter wins) and mapped to its letter, the
extracted answer. A lower-case letter counts when it stands alone ("Final Answer: b"), not before other words.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from playground.puzzles.base import Family, Instance, PuzzleConfigError, Verdict, answer_choice, unparseable

DIRS = {"Northeast": (1, 1), "Northwest": (-1, 1), "Southwest": (-1, -1), "Southeast": (1, -1)}
AXIS_WORDS = {("x", 1): "east", ("x", -1): "west", ("y", 1): "north", ("y", -1): "south"}
LETTERS = "ABCD"
QTYPES = ("direction", "which", "count")
NAMES = [
    "Oak Cafe",
    "Fox Books",
    "Lake Inn",
    "Red Barn",
    "Sun Deli",
    "Pine Gym",
    "Moon Pub",
    "Star Mall",
    "Rose Shop",
    "Gold Bank",
    "Iron Forge",
    "Mint Spa",
    "Jade Hotel",
    "Owl Library",
    "Bear Market",
    "Elm School",
    "Wave Pool",
    "Crow Tower",
    "Silk Store",
    "Hill Farm",
    "Tide Port",
    "Kite Park",
    "Lily Bakery",
    "Wolf Den",
]
_LEVELS: dict[int, tuple[int, int, tuple[str, ...]]] = {
    1: (3, 1, ("direction",)),
    2: (4, 2, ("direction", "count")),
    3: (5, 2, QTYPES),
    4: (6, 2, QTYPES),
}
LEVELS: dict[int, str] = {
    1: "3 objects in a chain, direction question",
    2: "4 objects, each new one related to 2 earlier ones; direction or count question",
    3: "5 objects; direction, which-object or count question",
    4: "6 objects, 9 statements; all question types (SpatialEval Spatial-Map size)",
}


@dataclass
class SpatialMapConfig:
    """Sizes of one map; `for_level` fills them from LEVELS."""

    seed: int = 0
    level: int = 1
    n_objects: int = 3
    links: int = 1  # statements relating each new object to earlier ones
    qtypes: tuple[str, ...] = field(default=("direction",))

    @classmethod
    def for_level(cls, seed: int, level: int) -> SpatialMapConfig:
        if level not in _LEVELS:
            raise PuzzleConfigError(f"spatial_map has no level {level}; choose one of {sorted(_LEVELS)}")
        return cls(seed, level, *_LEVELS[level])

    def validate(self) -> None:
        if not isinstance(self.seed, int) or self.seed < 0:
            raise PuzzleConfigError(f"seed must be a non-negative integer, got {self.seed!r}")
        if not 3 <= self.n_objects <= len(NAMES):
            raise PuzzleConfigError(f"n_objects must be 3..{len(NAMES)}, got {self.n_objects}")
        if self.links not in (1, 2, 3):
            raise PuzzleConfigError(f"links must be 1, 2 or 3, got {self.links}")
        if not self.qtypes or any(q not in QTYPES for q in self.qtypes):
            raise PuzzleConfigError(f"qtypes must be a non-empty subset of {QTYPES}, got {self.qtypes}")
        if "count" in self.qtypes and self.n_objects < 4:
            raise PuzzleConfigError("a count question needs at least 4 objects (4 distinct count options)")
        if "which" in self.qtypes and self.n_objects < 5:
            raise PuzzleConfigError("a which-object question needs at least 5 objects (4 object options)")


def statement_text(s: list[str]) -> str:
    return f"{s[0]} is to the {s[1]} of {s[2]}"


def _graphs(data: dict[str, Any]) -> dict[str, dict[str, list[tuple[str, int]]]]:
    """Per axis, edges lo -> hi (hi strictly greater) tagged with the index of the statement giving them."""
    g: dict[str, dict[str, list[tuple[str, int]]]] = {"x": {}, "y": {}}
    for i, (a, d, b) in enumerate(data["statements"]):
        for axis, sign in zip("xy", DIRS[d]):
            lo, hi = (b, a) if sign > 0 else (a, b)
            g[axis].setdefault(lo, []).append((hi, i))
            g[axis].setdefault(hi, []).append((lo, ~i))  # ~i marks the reversed (decreasing) edge
    return g


def _chain(g: dict[str, list[tuple[str, int]]], ref: str, obj: str, sign: int) -> list[tuple[str, int]] | None:
    """Shortest chain of statements from ref to obj moving only up (sign +1) or down (-1) the axis."""
    prev: dict[str, tuple[str, int]] = {ref: (ref, 0)}
    todo = deque([ref])
    while todo:
        cur = todo.popleft()
        for nxt, i in g.get(cur, []):
            if (i >= 0) == (sign > 0) and nxt not in prev:
                prev[nxt] = (cur, i if i >= 0 else ~i)
                todo.append(nxt)
    if obj not in prev:
        return None
    steps = []
    while obj != ref:
        cur, i = prev[obj]
        steps.append((obj, i))
        obj = cur
    return steps[::-1]


def _sign(g: dict[str, list[tuple[str, int]]], ref: str, obj: str) -> int:
    """+1 if obj is implied greater than ref on this axis, -1 if implied smaller, 0 if not implied."""
    return 1 if _chain(g, ref, obj, 1) else -1 if _chain(g, ref, obj, -1) else 0


def _status(gs: dict[str, Any], ref: str, obj: str, direction: str) -> bool | None:
    """Is obj implied to lie in `direction` of ref (True), implied not to (False), or undetermined (None)?"""
    got = [_sign(gs[a], ref, obj) for a in "xy"]
    want = DIRS[direction]
    if any(s == -w for s, w in zip(got, want)):
        return False
    return True if got == list(want) else None


def _draw_map(rng: random.Random, cfg: SpatialMapConfig) -> dict[str, Any]:
    names = rng.sample(NAMES, cfg.n_objects)
    xs, ys = (
        rng.sample(range(2 * cfg.n_objects), cfg.n_objects),
        rng.sample(range(2 * cfg.n_objects), cfg.n_objects),
    )
    objs = [{"name": n, "x": x, "y": y} for n, x, y in zip(names, xs, ys)]
    statements = []
    for i in range(1, cfg.n_objects):
        for j in sorted(rng.sample(range(i), min(i, cfg.links))):
            a, b = objs[i], objs[j]
            d = next(k for k, (sx, sy) in DIRS.items() if (a["x"] - b["x"]) * sx > 0 and (a["y"] - b["y"]) * sy > 0)
            statements.append([a["name"], d, b["name"]])
    return {"objects": objs, "statements": statements}


def _question(rng: random.Random, data: dict[str, Any], qtype: str) -> dict[str, Any] | None:
    gs = _graphs(data)
    names = [o["name"] for o in data["objects"]]
    direct = {frozenset((a, b)) for a, _, b in data["statements"]}
    if qtype == "direction":
        pairs = [(a, b) for a in names for b in names if a != b and frozenset((a, b)) not in direct]
        rng.shuffle(pairs)
        for a, b in pairs:
            signs = (_sign(gs["x"], b, a), _sign(gs["y"], b, a))
            if 0 not in signs:
                answer = next(k for k, v in DIRS.items() if v == signs)
                return {"type": qtype, "target": a, "ref": b, "options": list(DIRS), "answer_text": answer}
        return None
    combos = [(b, d) for b in names for d in DIRS]
    rng.shuffle(combos)
    for b, d in combos:
        st = {o: _status(gs, b, o, d) for o in names if o != b}
        yes, no = [o for o, v in st.items() if v], [o for o, v in st.items() if v is False]
        if qtype == "which" and yes and len(no) >= 3:
            indirect = [o for o in yes if frozenset((o, b)) not in direct]
            answer = rng.choice(indirect or yes)  # prefer an answer that needs a chain of statements
            options = [answer, *rng.sample(no, 3)]
            rng.shuffle(options)
            return {"type": qtype, "ref": b, "direction": d, "options": options, "answer_text": answer}
        if qtype == "count" and len(yes) + len(no) == len(st):
            options = [
                str(len(yes)),
                *map(str, rng.sample([k for k in range(len(names)) if k != len(yes)], 3)),
            ]
            rng.shuffle(options)
            return {"type": qtype, "ref": b, "direction": d, "options": options, "answer_text": str(len(yes))}
    return None


def generate_config(cfg: SpatialMapConfig) -> Instance:
    cfg.validate()
    rng = random.Random(cfg.seed)
    qtype = rng.choice(cfg.qtypes)
    for attempt in range(1000):  # rejection sampling; every level finds a question within a few tries
        data = _draw_map(rng, cfg)
        q = _question(rng, data, qtype if attempt < 500 else "direction")
        if q:
            break
    else:  # pragma: no cover - would need an astronomically unlucky seed
        raise PuzzleConfigError(f"could not build a determined question for {cfg}")
    q["answer"] = LETTERS[q["options"].index(q["answer_text"])]
    data["question"] = q
    return Instance("spatial_map", cfg.level, cfg.seed, _prompt(data), f"Final Answer: {q['answer']}", data)


def generate(seed: int, level: int) -> Instance:
    return generate_config(SpatialMapConfig.for_level(seed, level))


def question_text(q: dict[str, Any]) -> str:
    if q["type"] == "direction":
        return f"In which direction is {q['target']} relative to {q['ref']}?"
    if q["type"] == "which":
        return f"Which object is in the {q['direction']} of {q['ref']}?"
    return f"How many objects are in the {q['direction']} of {q['ref']}?"


def _prompt(data: dict[str, Any]) -> str:
    q = data["question"]
    facts = " ".join(statement_text(s) + "." for s in data["statements"])
    opts = ", ".join(f"{L}. {o}" for L, o in zip(LETTERS, q["options"]))
    return (
        f"Consider a map with multiple objects:\n{data['objects'][0]['name']} is in the map. {facts}\n\n"
        "Please answer the following multiple-choice question based on the provided information. "
        f"{question_text(q)} Available options: {opts}.\n"
        'Think step by step, then give your choice on a last line as "Final Answer: <letter>".'
    )


def _axis_lines(data: dict[str, Any], g: dict[str, Any], axis: str, ref: str, obj: str, sign: int) -> list[str]:
    steps = _chain(g, ref, obj, sign) or []
    word = AXIS_WORDS[(axis, sign)]
    lines, cur = [f" {axis}: from {ref}"], ref
    for nxt, i in steps:
        lines.append(f"  {statement_text(data['statements'][i])} -> {nxt} {word} of {cur}")
        cur = nxt
    return [*lines, f"  so {obj} {word} of {ref}"]


def _solve_lines(data: dict[str, Any]) -> list[str]:
    """The solver written out: chains of statements on each axis, option by option."""
    q, gs = data["question"], _graphs(data)
    lines = [f"Q: {question_text(q)}"]
    if q["type"] == "direction":
        a, b = q["target"], q["ref"]
        for axis in "xy":
            lines += _axis_lines(data, gs[axis], axis, b, a, _sign(gs[axis], b, a))
        lines.append(f"{a} is {q['answer_text']} of {b}")
    else:
        b, d = q["ref"], q["direction"]
        objs = q["options"] if q["type"] == "which" else [o["name"] for o in data["objects"] if o["name"] != b]
        count = 0
        for o in objs:
            lines.append(f"check {o}:")
            signs = {axis: _sign(gs[axis], b, o) for axis in "xy"}
            bad = [ax for ax, w in zip("xy", DIRS[d]) if signs[ax] == -w]
            for axis in bad[:1] or ["x", "y"]:
                lines += _axis_lines(data, gs[axis], axis, b, o, signs[axis])
            lines.append(f" {o} is {'not ' if bad else ''}{d} of {b}")
            count += not bad
        if q["type"] == "count":
            lines.append(f"count = {count}")
    lines += [f"{q['answer_text']} is option {q['answer']}", f"Final Answer: {q['answer']}"]
    return lines


SKETCH_UP_TO = 5  # maps of up to this many objects, each placed by one statement, are sketched on a grid
SKETCH_START = (5, 5)


def _is_tree(data: dict[str, Any]) -> bool:
    """Does every statement place a new object relative to one already placed (the first object is given)?"""
    placed = {data["objects"][0]["name"]}
    for a, _, b in data["statements"]:
        if a in placed or b not in placed:
            return False
        placed.add(a)
    return len(placed) == len(data["objects"])


def _sketch_lines(data: dict[str, Any]) -> list[str] | None:
    """A direction question on a small tree of statements, solved by sketching the map on a grid.

    The first object goes to (5,5) (x east, y north); each statement puts its new object one step in its direction
    from the object it names (" Red Barn is to the Northeast of Owl Library(5,5) so (6,6) Red Barn"). In a tree the
    path between two objects is one chain of statements; a relation is implied exactly when that chain moves the
    same way on an axis, so unit steps put implied relations on the right side (and the generator only asks
    implied ones; None if the sketch does not give the answer). The question's two objects are then looked up and
    compared axis by axis.

    Every look-up is written so that a name is followed by its coordinates, and a placed name is written right
    *after* its coordinates ("(6,6) Red Barn"): the coordinates can come from the earlier mention of the same name
    token whose previous token is a coordinate - a same-token match plus a previous-token read, the simplest look-up
    for a small model (written as "Red Barn=(6,6)" it would need the token two after a match). Names are always
    written after a space, as the statements write them, so each is the same token; the look-up line separates its
    two entries with a comma, so no name there follows a coordinate. Steps apply a direction to the coordinates just
    written instead of choosing which statements chain, so no step mixes up the chains of the two axes.
    """
    q = data["question"]
    first = data["objects"][0]["name"]
    pos = {first: SKETCH_START}
    # named after a space, as the first statement names it (at a line's start it is another token)
    lines = [f"Q: {question_text(q)}", f"sketch: x east, y north, from {_xy(pos[first])} {first}"]
    for a, d, b in data["statements"]:
        dx, dy = DIRS[d]
        pos[a] = (pos[b][0] + dx, pos[b][1] + dy)
        lines.append(f" {statement_text([a, d, b])}{_xy(pos[b])} so {_xy(pos[a])} {a}")
    a, b = q["target"], q["ref"]
    lines.append(f" {a}{_xy(pos[a])}, {b}{_xy(pos[b])}")
    signs = []
    for axis, k in (("x", 0), ("y", 1)):
        if pos[a][k] == pos[b][k]:
            return None  # not implied on this axis: never asked, but then the sketch cannot answer
        signs.append(1 if pos[a][k] > pos[b][k] else -1)
        lines.append(f" {axis} {pos[a][k]}{'>' if signs[-1] > 0 else '<'}{pos[b][k]} {AXIS_WORDS[(axis, signs[-1])]}")
    found = next(k for k, v in DIRS.items() if v == tuple(signs))
    if found != q["answer_text"]:
        return None
    return [*lines, f" so {a} is {found} of {b}", f"{found} is option {q['answer']}", f"Final Answer: {q['answer']}"]


def _xy(p: tuple[int, int]) -> str:
    return f"({p[0]},{p[1]})"


def trace(instance: Instance) -> str:
    data = instance.data
    if data["question"]["type"] == "direction" and len(data["objects"]) <= SKETCH_UP_TO and _is_tree(data):
        sketch = _sketch_lines(data)
        if sketch:
            return "\n".join(sketch)
    return "\n".join(_solve_lines(data))


def _why(data: dict[str, Any]) -> str:
    q = data["question"]
    pos = {o["name"]: (o["x"], o["y"]) for o in data["objects"]}
    gs = _graphs(data)
    if q["type"] == "direction":
        a, b = q["target"], q["ref"]
        via = [
            " then ".join(statement_text(data["statements"][i]) for _, i in _chain(gs[ax], b, a, _sign(gs[ax], b, a)))
            for ax in "xy"
        ]
        how = f"{via[0]} (both axes)" if via[0] == via[1] else f"{via[0]} (east-west); {via[1]} (north-south)"
        return f"{a} {pos[a]} is {q['answer_text']} of {b} {pos[b]}, implied by: {how}"
    b, d = q["ref"], q["direction"]
    inside = [f"{o} {pos[o]}" for o in pos if o != b and _status(gs, b, o, d)]
    return f"{d} of {b} {pos[b]} lie: {', '.join(inside) or 'no objects'}"


def verify(instance: Instance, text: str) -> Verdict:
    """Right iff the chosen letter is the reference; details say which option was right and why."""
    q = instance.data["question"]
    try:
        got = answer_choice(text, q["options"])
    except Exception as exc:  # a verifier never raises
        return unparseable(f"could not read the answer: {exc}")
    if got is None:
        return unparseable("no option letter A-D or option text after 'Final Answer:'")
    ok = got == q["answer"]
    given = q["options"][LETTERS.index(got)]
    detail = {
        "check": "option",
        "ok": ok,
        "given": f"{got}. {given}",
        "expected": f"{q['answer']}. {q['answer_text']}",
        "why": _why(instance.data),
    }
    right = f"{q['answer']}. {q['answer_text']}"
    reason = f"{got}. {given} is " + ("right" if ok else f"wrong, the answer is {right}")
    return Verdict(ok, float(ok), reason, "correct" if ok else "wrong", got, [detail])


FAMILY = Family(
    name="spatial_map",
    title="Spatial map (SpatialEval)",
    description="Relative directions between objects on a map, from pairwise statements; multiple choice.",
    levels=LEVELS,
    generate=generate,
    verify=verify,
    trace=trace,
)
