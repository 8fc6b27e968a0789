"""Maze family: generation, BFS vs networkx, path replay and multiple-choice verifier, trace."""

from __future__ import annotations

import math
import re

import networkx as nx
import pytest

from playground.puzzles import maze
from playground.puzzles.base import Instance, PuzzleConfigError
from playground.puzzles.maze import MazeConfig, generate, generate_config, verify

DELTA = {"U": (-1, 0), "D": (1, 0), "L": (0, -1), "R": (0, 1)}


def make(seed: int, level: int, task: str) -> Instance:
    return generate_config(MazeConfig(seed=seed, level=level, task=task))


def graph(grid: list[str]) -> nx.Graph:
    g = nx.Graph()
    cells = [(r, c) for r, row in enumerate(grid) for c, ch in enumerate(row) if ch != "#"]
    g.add_nodes_from(cells)
    g.add_edges_from(
        ((r, c), (r + dr, c + dc)) for r, c in cells for dr, dc in ((0, 1), (1, 0)) if (r + dr, c + dc) in g
    )
    return g


# a corridor: S at (1,1), E at (1,3), one open square between
LINE = Instance(
    "maze",
    1,
    0,
    "",
    "Final Answer: R R",
    {
        "task": "path",
        "grid": ["#####", "#S.E#", "#####"],
        "start": [1, 1],
        "end": [1, 3],
        "shortest_length": 2,
    },
)
CHOICE = Instance(
    "maze",
    1,
    0,
    "",
    "Final Answer: C",
    {
        "task": "turns",
        "grid": ["#####", "#SXE#", "#####"],
        "start": [1, 1],
        "end": [1, 3],
        "shortest_length": 2,
        "question": "How many turns?",
        "options": ["5", "6", "4", "0"],
        "answer_letter": "C",
    },
)
TABLE = [
    (LINE, "Final Answer: R R", "correct"),
    (LINE, "final answer: right, right", "correct"),
    (LINE, "Final Answer: RR", "correct"),
    (LINE, "**Final Answer:** R R.", "correct"),
    (LINE, "I will go right twice.\nFinal Answer:\nR R\n", "correct"),
    (LINE, "Final Answer: R L R R", "correct"),  # a detour is still a valid path
    (LINE, "Final Answer: R", "wrong"),
    (LINE, "Final Answer: U", "wrong"),
    (LINE, "Final Answer: R R R", "wrong"),
    (LINE, "<think>Final Answer: L</think>\nFinal Answer: R R", "correct"),
    (LINE, "<think>Final Answer: R R</think>\nFinal Answer: L", "wrong"),
    (LINE, "try... Final Answer: L ... </think> Final Answer: R R", "correct"),
    (LINE, "Final Answer: R R\nHmm, actually\nFinal Answer: R", "wrong"),
    (LINE, "Final Answer: R\nHmm, actually\nFinal Answer: R R", "correct"),
    (LINE, "<think>Final Answer: R R", "unparseable"),
    (LINE, "Final Answer: go east twice", "unparseable"),
    (LINE, "R R", "unparseable"),
    (LINE, "", "unparseable"),
    (CHOICE, "Final Answer: C", "correct"),
    (CHOICE, "Final Answer: (C)", "correct"),
    (CHOICE, "Final Answer: C. 4", "correct"),
    (CHOICE, "**Final Answer:** C", "correct"),
    (CHOICE, "Final Answer: 4", "correct"),  # the option's text instead of its letter
    (CHOICE, "Final Answer: A", "wrong"),
    (CHOICE, "Final Answer: c", "correct"),  # a lower-case letter on its own reads as the option letter
    (CHOICE, "Final Answer: (c).", "correct"),
    (CHOICE, "Final Answer: a", "wrong"),
    (CHOICE, "Final Answer: e", "unparseable"),
    (CHOICE, "Final Answer: A total of 4 turns", "correct"),  # "A" before words is text, not option A
    (CHOICE, "Final Answer: 4 or 5", "unparseable"),
    (CHOICE, "<think>Final Answer: C</think> Final Answer: B", "wrong"),
    (CHOICE, "Final Answer: B\nno wait\nFinal Answer: C", "correct"),
    (CHOICE, "Final Answer: E", "unparseable"),
    (CHOICE, "The answer is C", "unparseable"),
]


@pytest.mark.parametrize("instance,text,status", TABLE)
def test_answer_table(instance: Instance, text: str, status: str) -> None:
    v = verify(instance, text)
    assert v.status == status, v.reason
    assert v.correct == (status == "correct")


def test_reasons_and_details() -> None:
    v = verify(LINE, "Final Answer: R U")
    assert v.reason == "wrong: move 2 (U) from (1,2) runs into a wall" and v.score == 0
    assert v.details[0]["step"] == 2 and v.details[0]["into"] == [0, 2]
    v = verify(LINE, "Final Answer: R")
    assert v.reason == "wrong: the path ends at (1,2), not on E (1,3)" and v.score == 0.5
    v = verify(LINE, "Final Answer: R L R R")
    assert v.details[1]["moves"] == 4 and v.details[1]["shortest"] == 2 and v.extracted == "R L R R"
    assert verify(LINE, "Final Answer: right right").extracted == verify(LINE, "Final Answer: RR").extracted
    v = verify(CHOICE, "Final Answer: A")
    assert v.reason == "wrong: A. 5, expected C" and v.extracted == "A"


def test_every_task_is_deterministic() -> None:
    for task in maze.TASKS:
        assert make(5, 3, task).to_json() == make(5, 3, task).to_json()


def test_config_validation() -> None:
    with pytest.raises(PuzzleConfigError, match="unknown maze task"):
        MazeConfig(seed=0, task="escape")
    with pytest.raises(PuzzleConfigError, match="between 2 and 30"):
        MazeConfig(seed=0, rows=40)


@pytest.mark.parametrize("level", sorted(maze.LEVELS))
def test_reference_passes_and_networkx_agrees(level: int) -> None:
    for seed in range(3):
        for task in maze.TASKS:
            inst = make(seed, level, task)
            d = inst.data
            assert verify(inst, inst.reference).correct, (seed, task)
            grid, s, e = d["grid"], tuple(d["start"]), tuple(d["end"])
            k = maze.LEVEL_CELLS[level]
            assert len(grid) == len(grid[0]) == 2 * k + 1
            assert set(grid[0] + grid[-1] + "".join(row[0] + row[-1] for row in grid)) == {"#"}
            assert grid[s[0]][s[1]] == "S" and grid[e[0]][e[1]] == "E" and "".join(grid).count("S") == 1
            g = graph(grid)
            assert nx.is_tree(g)  # a perfect maze: connected, no loops
            nodes = nx.shortest_path(g, s, e)
            assert d["shortest_length"] == len(nodes) - 1
            vecs = [(b[0] - a[0], b[1] - a[1]) for a, b in zip(nodes, nodes[1:])]
            cross = [u[1] * v[0] - u[0] * v[1] for u, v in zip(vecs, vecs[1:])]  # >0: clockwise on screen
            if task == "path":
                assert len(inst.reference.split()) - 2 == len(nodes) - 1
            elif task == "direction":
                angle = math.degrees(math.atan2(s[0] - e[0], e[1] - s[1])) % 360  # 0 = right, 90 = up
                sector = [
                    "directly right",
                    "upper right",
                    "directly above",
                    "upper left",
                    "directly left",
                    "lower left",
                    "directly below",
                    "lower right",
                ]
                exact = {0: 0, 90: 2, 180: 4, 270: 6}
                want = sector[exact[angle]] if angle in exact else sector[1 + 2 * int(angle // 90)]
                assert d["options"][ord(d["answer_letter"]) - 65] == want
            else:
                n_turns = sum(1 for c in cross if c > 0 or (c and task == "turns"))
                assert d["options"][ord(d["answer_letter"]) - 65] == str(n_turns)
                assert {(r, c) for r, row in enumerate(grid) for c, ch in enumerate(row) if ch == "X"} == set(
                    nodes[1:-1]
                )
            if task != "path":
                assert len(set(d["options"])) == 4 and inst.prompt.count("Available options: A. ") == 1


def test_wrong_paths_on_generated_mazes() -> None:
    for seed in range(5):
        inst = make(seed, 2, "path")
        grid, (r, c) = inst.data["grid"], inst.data["start"]
        wall = next(m for m, (dr, dc) in DELTA.items() if grid[r + dr][c + dc] == "#")
        v = verify(inst, f"Final Answer: {wall}")
        assert not v.correct and v.reason.startswith(f"wrong: move 1 ({wall}) from ({r},{c}) runs into a wall")
        moves = inst.reference.removeprefix("Final Answer: ").split()
        assert "not on E" in verify(inst, "Final Answer: " + " ".join(moves[:-1])).reason
        back = {"U": "D", "D": "U", "L": "R", "R": "L"}
        detour = [moves[0], back[moves[0]], *moves]
        v = verify(inst, "Final Answer: " + " ".join(detour))
        assert v.correct and v.details[1]["moves"] == len(moves) + 2


CLOCKWISE = {"U": "R", "R": "D", "D": "L", "L": "U"}


def _check_walk(inst: Instance, text: str) -> None:
    """The walk keeps its right hand on the wall: each line tries moves right turn first and rotating left after
    every wall, marks what the grid really holds, stops at the first open square; the path line is the shortest path,
    padded to the line's fixed width."""
    grid, start, end = inst.data["grid"], tuple(inst.data["start"]), tuple(inst.data["end"])
    walk = re.findall(r"^((?: \(\d+,\d+\)[UDLR][#.SE])+)$", text, flags=re.MULTILINE)
    assert walk
    pos, heading = start, "U"
    for line in walk:
        tried = re.findall(r" \((\d+),(\d+)\)([UDLR])([#.SE])", line)
        move = CLOCKWISE[heading]
        for k, (r, c, m, mark) in enumerate(tried):
            assert (int(r), int(c)) == pos and m == move
            dr, dc = DELTA[m]
            target = grid[pos[0] + dr][pos[1] + dc]
            assert mark == ("." if target == "X" else target)
            assert (mark == "#") == (k < len(tried) - 1)  # walls until the first open square
            move = {v: k for k, v in CLOCKWISE.items()}[m]
        heading = tried[-1][2]
        pos = (pos[0] + DELTA[heading][0], pos[1] + DELTA[heading][1])
    assert pos == end and text.count("E\n") == 1
    path = re.search(r"^path:((?: \(\d+,\d+\)[UDLR])*)(-*)$", text, flags=re.MULTILINE)
    steps = re.findall(r"\((\d+),(\d+)\)([UDLR])", path.group(1))
    assert " ".join(m for *_, m in steps) == inst.reference.removeprefix("Final Answer: ")
    square = start
    for r, c, m in steps:
        assert (int(r), int(c)) == square
        square = (square[0] + DELTA[m][0], square[1] + DELTA[m][1])
    slots = maze.path_slots(grid)
    assert len(steps) + len(path.group(2)) == (slots if slots else len(steps))


@pytest.mark.parametrize("task", maze.TASKS)
def test_trace_follows_the_grid_and_names_the_answer(task: str) -> None:
    for seed in range(4):
        for level in (1, 2, 3):
            inst = make(seed, level, task)
            text, grid = maze.trace(inst), inst.data["grid"]
            # The trace opens with the drawing transcribed: every square written with its coordinate, row by row.
            mark = maze.OPEN_MARK
            rows = re.findall(rf"^((?:\d+,\d+[#{mark}SEX])+)$", text, flags=re.MULTILINE)
            squares = [re.findall(rf"(\d+),(\d+)([#{mark}SEX])", row) for row in rows]
            assert ["".join(ch for _, _, ch in row).replace(mark, ".") for row in squares] == grid
            assert all(
                [(int(r), int(c)) for r, c, _ in row] == [(i, c) for c in range(len(grid))]
                for i, row in enumerate(squares)
            )
            assert text.replace(maze.OPEN_MARK, ".").isascii()
            if task == "path":
                _check_walk(inst, text)
                assert maze.verify(inst, f"<think>{text}</think>{inst.reference}").correct
            else:
                assert text.splitlines()[-1] == "answer: " + inst.reference.split(": ", 1)[1]
            if task not in ("path", "direction"):
                total = re.search(r"^total (\d+)$", text, flags=re.MULTILINE).group(1)
                assert inst.data["options"][ord(inst.data["answer_letter"]) - 65] == total


def test_path_line_width_is_fixed_for_small_mazes() -> None:
    """Levels 1-2 pad the path line to the longest path such a maze can have; bigger mazes are not padded."""
    for level, slots in ((1, 16), (2, 30), (3, None)):
        widths, pads = set(), 0
        for seed in range(10):
            inst = generate(seed, level)
            assert maze.path_slots(inst.data["grid"]) == slots
            line = maze.trace(inst).splitlines()[-1]
            moves = re.findall(r"\(\d+,\d+\)[UDLR]", line)
            widths.add(len(moves) + line.count("-"))
            pads += line.count("-")
        assert widths == {slots} if slots else pads == 0
