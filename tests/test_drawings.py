"""Puzzle drawings (playground.ui.drawings): one figure per family, the answer drawn and judged in the title."""

from __future__ import annotations

import plotly.graph_objects as go
import pytest

from playground.puzzles import calendar_planning as cal
from playground.puzzles import families, get_family, sat, spatial_map, tsp
from playground.puzzles import math_problems as mp
from playground.ui.drawings import DRAWERS, draw


def test_every_family_has_a_drawing() -> None:
    assert set(DRAWERS) == set(families())


@pytest.mark.parametrize("name", sorted(DRAWERS))
def test_draw_dispatches_on_the_family(name: str) -> None:
    fam = get_family(name)
    inst = fam.generate(1, fam.default_level)
    assert isinstance(draw(inst), go.Figure)
    fig = draw(inst, inst.reference)
    assert isinstance(fig, go.Figure) and fig.layout.title.text
    assert isinstance(draw(inst, "garbage"), go.Figure)
    assert isinstance(draw(inst, None), go.Figure)


def test_unknown_family_is_a_clear_error() -> None:
    inst = get_family("sat").generate(0, 1)
    inst.family = "chess"
    with pytest.raises(ValueError, match="no drawing for puzzle family 'chess'"):
        draw(inst)


def test_sat() -> None:
    inst = next(sat.generate(s, 1) for s in range(20) if sat.generate(s, 1).data["satisfiable"])
    fig = draw(inst, inst.reference)
    assert "satisfies" in fig.layout.title.text
    assert "unparseable" in draw(inst, "no idea").layout.title.text
    assert isinstance(draw(inst, "<final_answer>{'Solution': 'True'}</final_answer>"), go.Figure)


def test_tsp() -> None:
    def answer(path: str) -> str:
        return "<final_answer>{'Path': '" + path + "', 'TotalDistance': ''}</final_answer>"

    inst = tsp.generate_config(tsp.TspConfig(seed=2, level=3))
    fig = draw(inst, answer("0->1->2->3->4->5->0"))
    names = [t.name for t in fig.data]
    assert "proposed" in names and any(str(n).startswith("optimal") for n in names)
    styles = {t.name: t.line.dash for t in fig.data if t.name in ("proposed",) or str(t.name).startswith("optimal")}
    assert len(set(styles.values())) == 2  # the two tours are drawn in different styles
    assert "unparseable" in draw(inst, "I give up").layout.title.text
    assert isinstance(draw(inst, answer("0->9->0")), go.Figure)
    right = draw(inst, inst.reference)  # an optimal answer is drawn alone: a second optimum would read as a mistake
    assert "proposed" in [t.name for t in right.data]
    assert not any(str(t.name).startswith("optimal") for t in right.data)


def test_calendar() -> None:
    inst = next(cal.generate(s, 4) for s in range(30) if cal.generate(s, 4).data["solution"])
    fig = draw(inst, inst.reference)
    assert "proposed" in [t.name for t in fig.data] and "all constraints pass" in fig.layout.title.text
    day = inst.data["solution"].split()[0]
    assert "fails" in draw(inst, f"Final Answer: {day} 03:00-03:15").layout.title.text
    assert "unparseable" in draw(inst, "garbage").layout.title.text


def test_spatial_map() -> None:
    which = next(i for s in range(40) if (i := spatial_map.generate(s, 4)).data["question"]["type"] == "which")
    assert "right" in draw(which, which.reference).layout.title.text
    wrong = next(letter for letter in "ABCD" if letter != which.data["question"]["answer"])
    fig = draw(which, f"Final Answer: {wrong}")
    assert "wrong" in fig.layout.title.text and "answer" in [t.name for t in fig.data]  # the picked object ringed
    assert "unparseable" in draw(which, "no idea").layout.title.text


def test_math() -> None:
    inst = mp.generate(3, 3)
    assert "right" in draw(inst, inst.reference).layout.title.text
    assert "wrong" in draw(inst, "\\boxed{1000}").layout.title.text
    assert "unparseable" in draw(inst, "garbage").layout.title.text


def test_maze_path_and_wall_hit() -> None:
    inst = get_family("maze").generate(0, 2)
    fig = draw(inst, inst.reference)
    assert "correct" in fig.layout.title.text and "answer path" in [t.name for t in fig.data]
    r, c = inst.data["start"]
    wall = next(
        m
        for m, (dr, dc) in {"U": (-1, 0), "D": (1, 0), "L": (0, -1), "R": (0, 1)}.items()
        if inst.data["grid"][r + dr][c + dc] == "#"
    )
    fig = draw(inst, f"Final Answer: {wall}")
    assert any(str(t.name).startswith("wall hit") for t in fig.data)
    assert "unparseable" in draw(inst, "no idea").layout.title.text


def _shown_text(fig: go.Figure) -> str:
    """Every text a drawing shows: title, annotations, trace names and labels, table headers and cells."""
    parts = [str(fig.layout.title.text or "")] + [str(a.text or "") for a in fig.layout.annotations]
    for trace in fig.data:
        if trace.type == "table":
            parts += map(str, [*trace.header["values"], *(v for col in trace.cells["values"] for v in col)])
            continue
        parts.append(str(trace.name or ""))
        text = trace.text if trace.text is not None else []
        parts += map(str, text if isinstance(text, list | tuple) else [text])
    return "\n".join(parts)


def _points(fig: go.Figure) -> list[list[tuple]]:
    """The (x, y) points of each drawn trace."""
    return [list(zip(t.x, t.y)) for t in fig.data if getattr(t, "x", None) is not None and t.y is not None]


def _reveals(inst, fig: go.Figure) -> list[str]:
    """What in `fig`, a drawing of `inst`, gives its answer away (an empty list: nothing does)."""
    d = inst.data
    text, points, found = _shown_text(fig), _points(fig), []
    if inst.family == "tsp":
        tour = [tuple(d["coords"][c]) for c in d["optimal_tour"]]
        found += ["the optimal tour"] * any(p == tour for p in points)
        found += ["'optimal'"] * ("optimal" in text.lower())
    elif inst.family == "spatial_map":
        q = d["question"]
        true_places = {(o["x"], o["y"]) for o in d["objects"]}
        found += ["the true map"] * any(len(p) > 1 and set(p) <= true_places for p in points)
        found += ["the answer"] * (f"{q['answer']}. {q['answer_text']}" in text)
    elif inst.family == "calendar":
        found += ["the reference slot"] * (str(d["solution"] or cal.NO_SLOT) in text or "reference" in text)
    elif inst.family == "math":
        _, steps, ref = mp.solve(d)
        found += ["a worked step"] * any(step in text for step in steps)
        found += ["the answer"] * (f"answer {ref}" in text)
    elif inst.family == "sat":
        found += ["satisfiability"] * any(w in text for w in ("Unsatisfiable", "reference", d["category"]))
    elif inst.family == "maze":
        found += ["the shortest path"] * ("shortest path" in text or d["solution_moves"] in text)
    return found


@pytest.mark.parametrize("name", sorted(DRAWERS))
def test_a_fresh_puzzle_is_drawn_without_its_solution(name: str) -> None:
    fam = get_family(name)
    puzzles = [fam.generate(seed, level) for level in fam.levels for seed in (0, 1, 2)]
    for inst in puzzles:  # what the Puzzles tab shows of a fresh puzzle
        assert _reveals(inst, draw(inst)) == [], (name, inst.level, inst.seed)
    # the checks can fail: asked for, the solution is drawn, and after an answer it is drawn beside it
    assert all(_reveals(inst, draw(inst, solution=True)) for inst in puzzles)
    if name in ("tsp", "calendar", "spatial_map", "math"):  # (a 3SAT or maze answer is drawn on its own)
        assert all(_reveals(inst, draw(inst, inst.reference)) for inst in puzzles)


def test_spatial_map_statements_are_marked_with_their_directions() -> None:
    inst = spatial_map.generate(3, 4)
    marks = [a.text for a in draw(inst).layout.annotations if a.text]
    short = {"Northeast": "NE", "Northwest": "NW", "Southeast": "SE", "Southwest": "SW"}
    assert sorted(marks) == sorted(short.get(d, d[0]) for _, d, _ in inst.data["statements"])
