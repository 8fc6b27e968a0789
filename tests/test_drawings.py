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
