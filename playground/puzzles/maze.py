"""Maze puzzles (SpatialEval's text-only maze, plus path finding): ASCII mazes carved by a randomized DFS.

Tasks (config knob `task`):
- "path" (default): give a move sequence `Final Answer: R R D D`, verified by replaying it on the grid; any
  valid path counts, the shortest length is reported. Score: fraction of the two checks passed (no wall hit,
  ends on E).
- "turns" / "right_turns": how many (right) turns the path marked with 'X' makes; multiple choice.
- "direction": where E lies relative to S; multiple choice. Both answered `Final Answer: <letter>`, read by
  `base.answer_choice`: the letter ("C", "(C)", "C. 4"; a lower-case letter only alone: "c"), or the option's text.
Coordinates are (row, col), row 0 at the top, col 0 at the left. Mazes are perfect (one simple path between
any two squares), so the search in the trace ends on the shortest path. The prompt ends with the drawing; the
trace starts by transcribing it with row labels and column-tagged squares (`transcribe`), then searches.
"""

from __future__ import annotations

import random
import re
from collections import deque
from dataclasses import dataclass
from typing import Any

from playground.puzzles.base import (
    Family,
    Instance,
    PuzzleConfigError,
    Verdict,
    answer_choice,
    final_answer,
    unparseable,
)

LEVEL_CELLS = {1: 3, 2: 4, 3: 5, 4: 6, 5: 8, 6: 10}  # level -> cells per side; the text grid is 2k+1 squares
LEVELS = {lv: f"{k}x{k} cells ({2 * k + 1}x{2 * k + 1} characters)" for lv, k in LEVEL_CELLS.items()}
LEVELS[6] += " (paper size)"
TASKS = ("path", "turns", "right_turns", "direction")
MOVES = {"U": (-1, 0), "R": (0, 1), "D": (1, 0), "L": (0, -1)}
CLOCKWISE = "URDL"  # a right turn is one step clockwise in this order
DIRECTIONS = [
    "upper left",
    "directly above",
    "upper right",
    "directly left",
    "directly right",
    "lower left",
    "directly below",
    "lower right",
]
LETTERS = "ABCD"
Pos = tuple[int, int]


@dataclass
class MazeConfig:
    """One maze; rows/cols count cells (the level's size unless given)."""

    seed: int
    level: int = 1
    rows: int | None = None
    cols: int | None = None
    task: str = "path"

    def __post_init__(self) -> None:
        if self.level not in LEVEL_CELLS:
            raise PuzzleConfigError(f"maze has no level {self.level}; choose one of {sorted(LEVEL_CELLS)}")
        if self.task not in TASKS:
            raise PuzzleConfigError(f"unknown maze task {self.task!r}; choose one of {', '.join(TASKS)}")
        self.rows = self.rows or LEVEL_CELLS[self.level]
        self.cols = self.cols or LEVEL_CELLS[self.level]
        if not (2 <= self.rows <= 30 and 2 <= self.cols <= 30):
            raise PuzzleConfigError(f"maze rows and cols must be between 2 and 30 cells, not {self.rows}x{self.cols}")


def carve(rng: random.Random, rows: int, cols: int) -> list[list[str]]:
    """Randomized depth-first backtracker on the cell grid; cell (r, c) is square (2r+1, 2c+1)."""
    grid = [["#"] * (2 * cols + 1) for _ in range(2 * rows + 1)]
    start = (rng.randrange(rows), rng.randrange(cols))
    seen, stack = {start}, [start]
    grid[2 * start[0] + 1][2 * start[1] + 1] = "."
    while stack:
        r, c = stack[-1]
        nxt = [
            (r + dr, c + dc)
            for dr, dc in MOVES.values()
            if 0 <= r + dr < rows and 0 <= c + dc < cols and (r + dr, c + dc) not in seen
        ]
        if not nxt:
            stack.pop()
            continue
        nr, nc = rng.choice(nxt)
        grid[r + nr + 1][c + nc + 1] = "."  # the wall square between the two cells
        grid[2 * nr + 1][2 * nc + 1] = "."
        seen.add((nr, nc))
        stack.append((nr, nc))
    return grid


def open_at(grid: list[str], p: Pos) -> bool:
    return 0 <= p[0] < len(grid) and 0 <= p[1] < len(grid[0]) and grid[p[0]][p[1]] != "#"


def step(p: Pos, move: str) -> Pos:
    return p[0] + MOVES[move][0], p[1] + MOVES[move][1]


def bfs_path(grid: list[str], start: Pos, end: Pos) -> list[str]:
    """Shortest move sequence from start to end (the solver)."""
    prev: dict[Pos, tuple[Pos, str] | None] = {start: None}
    queue = deque([start])
    while queue:
        p = queue.popleft()
        if p == end:
            break
        for move in MOVES:
            q = step(p, move)
            if open_at(grid, q) and q not in prev:
                prev[q] = (p, move)
                queue.append(q)
    moves, p = [], end
    while prev[p] is not None:
        p, move = prev[p]  # type: ignore[misc]
        moves.append(move)
    return moves[::-1]


def turns(moves: list[str]) -> list[tuple[int, str, str, bool]]:
    """(move number, old, new, is_right) for every change of direction."""
    return [
        (k + 1, a, b, CLOCKWISE[(CLOCKWISE.index(a) + 1) % 4] == b)
        for k, (a, b) in enumerate(zip(moves, moves[1:]), 1)
        if a != b
    ]


def direction_word(s: Pos, e: Pos) -> str:
    dr, dc = (e[0] > s[0]) - (e[0] < s[0]), (e[1] > s[1]) - (e[1] < s[1])
    return DIRECTIONS[[(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)].index((dr, dc))]


def generate_config(cfg: MazeConfig) -> Instance:
    rng = random.Random(cfg.seed)
    rows, cols = cfg.rows or 0, cfg.cols or 0
    grid = carve(rng, rows, cols)
    cells = [(2 * r + 1, 2 * c + 1) for r in range(rows) for c in range(cols)]
    start = rng.choice(cells)
    lines = ["".join(row) for row in grid]
    dist = {c: len(bfs_path(lines, start, c)) for c in cells}
    # E at least half as far from S as the farthest cell, so that the path is never trivially short
    end = rng.choice([c for c in cells if c != start and dist[c] >= max(dist.values()) / 2])
    moves = bfs_path(lines, start, end)
    pos = start
    for move in moves[:-1]:
        pos = step(pos, move)
        if cfg.task in ("turns", "right_turns"):
            grid[pos[0]][pos[1]] = "X"
    grid[start[0]][start[1]], grid[end[0]][end[1]] = "S", "E"
    lines = ["".join(row) for row in grid]
    intro = (
        "This maze is drawn as text: '#' is a wall, '.' is open floor, 'S' is the start and 'E' is the exit"
        + (", and 'X' marks a path from S to E" if cfg.task in ("turns", "right_turns") else "")
        + ". Positions are (row, col): row 0 is the top line, col 0 the leftmost character.\n"
        + f"S is at ({start[0]},{start[1]}) and E is at ({end[0]},{end[1]}).\n"
    )
    # The drawing comes last, right before the answer, so that a model's copy of it at the start of its thought
    # sits at one fixed distance from the original (see `transcribe`).
    drawing = "\nThe maze:\n" + "\n".join(lines)
    data: dict[str, Any] = {
        "task": cfg.task,
        "grid": lines,
        "start": list(start),
        "end": list(end),
        "shortest_length": len(moves),
        "solution_moves": " ".join(moves),
    }
    if cfg.task == "path":
        prompt = intro + (
            "Find a path from S to E through open squares, one square per move: U = up (row-1), D = down "
            "(row+1), L = left (col-1), R = right (col+1). Answer with the moves separated by spaces, in "
            "exactly this format:\nFinal Answer: <moves, e.g. R R D>" + drawing
        )
        return Instance("maze", cfg.level, cfg.seed, prompt, "Final Answer: " + " ".join(moves), data)
    if cfg.task == "direction":
        question = "Where is E relative to S?"
        truth = direction_word(start, end)
        options = [truth] + rng.sample([d for d in DIRECTIONS if d != truth], 3)
    else:
        question = (
            "How many right turns does the marked path make from S to E? A right turn is a clockwise "
            "change of direction as seen walking along the path."
            if cfg.task == "right_turns"
            else "How many turns (changes of direction) does the marked path make from S to E?"
        )
        t = turns(moves)
        truth = str(sum(1 for x in t if x[3]) if cfg.task == "right_turns" else len(t))
        pool = sorted({0, *range(max(0, int(truth) - 2), int(truth) + 4)} - {int(truth)})
        options = [truth] + [str(x) for x in rng.sample(pool, 3)]
    rng.shuffle(options)
    letter = LETTERS[options.index(truth)]
    listed = ", ".join(f"{LETTERS[i]}. {o}" for i, o in enumerate(options))
    prompt = (
        intro
        + f"{question}\nAvailable options: {listed}\nAnswer in exactly this format:\nFinal Answer: <letter>"
        + drawing
    )
    data.update(question=question, options=options, answer_letter=letter)
    return Instance("maze", cfg.level, cfg.seed, prompt, f"Final Answer: {letter}", data)


def generate(seed: int, level: int) -> Instance:
    return generate_config(MazeConfig(seed=seed, level=level))


def _fmt(p: Pos) -> str:
    return f"({p[0]},{p[1]})"


RIGHT_OF = {"U": "R", "R": "D", "D": "L", "L": "U"}  # clockwise: the first move tried after arriving
LEFT_OF = {v: k for k, v in RIGHT_OF.items()}  # counter-clockwise: the next move tried after a wall
PAD = "-"  # an unused slot of the padded path line


def _walk_trace(grid: list[str], start: Pos, end: Pos) -> tuple[list[str], list[str]]:
    """Walk with the right hand on the wall from S (facing up) until E; returns (trace lines, shortest path moves).

    Every line is one square: from the square just reached, the moves are tried right turn first, then straight,
    left, back, each written as "(r,c)M" and what lies there ('#' wall, '.' open, 'S', 'E'), up to the first
    that is not a wall: " (5,5)R# (5,5)U# (5,5)L.". Each step depends only on the token before it and one look-up
    of a square, so a small model can follow it. In a perfect maze this walk reaches E; the last move out of each
    square on the way is the step of the shortest path (the walk never comes back after it).
    """
    lines, last_exit = [], {}
    p, heading = start, "U"
    while True:
        line, move = [], RIGHT_OF[heading]
        while True:
            q = step(p, move)
            mark = "#" if not open_at(grid, q) else grid[q[0]][q[1]]
            line.append(f" {_fmt(p)}{move}{'.' if mark == 'X' else mark}")
            if mark != "#":
                break
            move = LEFT_OF[move]
        lines.append("".join(line))
        last_exit[p] = move
        p, heading = q, move
        if p == end:
            break
    moves, p = [], start
    while p != end:
        moves.append(last_exit[p])
        p = step(p, last_exit[p])
    return lines, moves


def path_slots(grid: list[str]) -> int | None:
    """Width of the padded path line: the longest simple path a maze this size can have, for mazes whose squares
    are single tokens of the tiny reasoner's tokenizer (up to 10x10 squares), else None (no padding).

    A line of fixed width puts every move of the final answer at one fixed distance from its copy in the thought.
    """
    if len(grid) > 10 or len(grid[0]) > 10:
        return None
    cells = (len(grid) // 2) * (len(grid[0]) // 2)
    return 2 * (cells - 1)


OPEN_MARK = "\u00b7"  # '·': an open square in the transcription ('.' + digit also occurs in "cities 0..3")


def transcribe(grid: list[str]) -> str:
    """The drawing re-written square by square with coordinates: "\\n0,0#0,1#0,2·" per row.

    The tiny reasoner's tokenizer has one token per square "r,c#" (coordinate and content), so the transcription is
    as long as the drawing in tokens and a model copies it from the prompt at one fixed distance. Afterwards it finds
    square (r,c) with one content match on the coordinate: coordinates are the hard part of grids for a small model.
    """
    return "".join(
        "\n" + "".join(f"{r},{c}" + (OPEN_MARK if ch == "." else ch) for c, ch in enumerate(row))
        for r, row in enumerate(grid)
    )


def trace(instance: Instance) -> str:
    d = instance.data
    grid, start, end = d["grid"], tuple(d["start"]), tuple(d["end"])
    head = transcribe(grid) + f"\nS {_fmt(start)} E {_fmt(end)}"
    if d["task"] == "path":
        lines, moves = _walk_trace(grid, start, end)
        pos, path = start, []
        for m in moves:
            path.append(f" {_fmt(pos)}{m}")
            pos = step(pos, m)
        slots = path_slots(grid)
        pad = PAD * (slots - len(moves)) if slots else ""
        return "\n".join([head + ". right hand on the wall, facing U", *lines, "path:" + "".join(path) + pad])
    options = ", ".join(f"{LETTERS[i]}. {o}" for i, o in enumerate(d["options"]))
    letter = d["answer_letter"]
    if d["task"] == "direction":
        vert = "lower" if end[0] > start[0] else "upper" if end[0] < start[0] else "same row"
        horiz = "right" if end[1] > start[1] else "left" if end[1] < start[1] else "same col"
        lines = [
            head,
            f"row {end[0]} vs {start[0]} -> {vert}",
            f"col {end[1]} vs {start[1]} -> {horiz}",
            f"E is {direction_word(start, end)} of S",
        ]
    else:
        lines, p, prev, moves = [head + ". follow the X path"], start, None, []
        while p != end:  # the marked path: exactly one X/E neighbour besides the square we came from
            m = next(m for m in MOVES if step(p, m) != prev and grid[step(p, m)[0]][step(p, m)[1]] in "XE")
            lines.append(f"at {_fmt(p)} next: {m}{_fmt(step(p, m))}")
            prev, p = p, step(p, m)
            moves.append(m)
        lines.append("moves: " + " ".join(moves))
        count = 0
        for k, a, b, right in turns(moves):
            if d["task"] == "turns" or right:
                count += 1
            lines.append(f"m{k} {a}->{b} " + ("right" if right else "left") + f" count {count}")
        lines.append(f"total {count}")
    lines += [f"options: {options} -> {letter}", f"answer: {letter}"]
    return "\n".join(lines)


WORDS = {"u": "U", "up": "U", "d": "D", "down": "D", "l": "L", "left": "L", "r": "R", "right": "R"}


def parse_moves(text: str) -> list[str] | None:
    """The moves after the last "Final Answer:" ("R R D", "right, right", "RRD"), or None."""
    rest = final_answer(text)
    if rest is None:
        return None
    tokens = [t for t in re.split(r"[\s,;>\-\[\]()]+", rest.strip("'\" .")) if t]
    if len(tokens) == 1 and re.fullmatch(r"[UDLRudlr]+", tokens[0]):
        tokens = list(tokens[0])  # "RRDDL" written without spaces
    if not tokens or any(t.strip(".").lower() not in WORDS for t in tokens):
        return None
    return [WORDS[t.strip(".").lower()] for t in tokens]


def replay(grid: list[str], start: Pos, moves: list[str]) -> tuple[list[Pos], int | None]:
    """Squares visited (start first) and the 1-based number of the first move into a wall, if any."""
    path = [start]
    for k, move in enumerate(moves, 1):
        q = step(path[-1], move)
        if not open_at(grid, q):
            return path, k
        path.append(q)
    return path, None


def verify(instance: Instance, text: str) -> Verdict:
    d = instance.data
    if d["task"] != "path":
        letter = answer_choice(text, d["options"])
        if letter is None:
            return unparseable("no option letter A-D (or option text) after 'Final Answer:'")
        ok = letter == d["answer_letter"]
        chosen, right = d["options"][LETTERS.index(letter)], d["options"][LETTERS.index(d["answer_letter"])]
        details = [
            {
                "check": d["question"],
                "ok": ok,
                "chosen": f"{letter}. {chosen}",
                "expected": f"{d['answer_letter']}. {right}",
            }
        ]
        reason = f"correct: {letter}. {chosen}" if ok else f"wrong: {letter}. {chosen}, expected {d['answer_letter']}"
        return Verdict(ok, float(ok), reason, "correct" if ok else "wrong", letter, details)
    moves = parse_moves(text)
    if moves is None:
        return unparseable("no move sequence of U/D/L/R after 'Final Answer:'")
    grid, start, end = d["grid"], tuple(d["start"]), tuple(d["end"])
    path, hit = replay(grid, start, moves)
    extracted = " ".join(moves)
    at_end = hit is None and path[-1] == end
    details: list[dict[str, Any]] = [
        {"check": "every move stays on open squares", "ok": hit is None}
        | (
            {
                "step": hit,
                "move": moves[hit - 1],
                "from": list(path[-1]),
                "into": list(step(path[-1], moves[hit - 1])),
            }
            if hit
            else {}
        ),
        {
            "check": "ends on E",
            "ok": at_end,
            "ends_at": list(path[-1]),
            "moves": len(moves),
            "shortest": d["shortest_length"],
        },
    ]
    score = (hit is None) / 2 + at_end / 2
    if hit is not None:
        reason = f"wrong: move {hit} ({moves[hit - 1]}) from {_fmt(path[-1])} runs into a wall"
    elif not at_end:
        reason = f"wrong: the path ends at {_fmt(path[-1])}, not on E {_fmt(end)}"
    else:
        reason = f"correct: reaches E in {len(moves)} moves (shortest {d['shortest_length']})"
    return Verdict(at_end, score, reason, "correct" if at_end else "wrong", extracted, details)


FAMILY = Family(
    name="maze",
    title="Maze",
    description="Find a path through an ASCII maze, or answer SpatialEval-style questions about it (BFS).",
    levels=LEVELS,
    generate=generate,
    verify=verify,
    trace=trace,
)
