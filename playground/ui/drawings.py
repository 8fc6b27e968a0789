"""Puzzle drawings: one plotly figure per instance, with the proposed answer marked when one is given.

The puzzle families stay free of plotting (playground.puzzles needs no plotly); `draw` dispatches on the
instance's family to the drawing functions below, which read answers through each family's own readers.
A drawing of the puzzle alone never shows its solution (the optimal tour, the reference slot, the map's true
layout, the worked steps): the solution is drawn only when asked for (`solution=True`) or beside a given answer.
"""

from __future__ import annotations

import math
import re
from typing import Any

import plotly.graph_objects as go

from playground.puzzles import calendar_planning as cal
from playground.puzzles import math_problems as mp
from playground.puzzles import maze, sat, tsp
from playground.puzzles import spatial_map as sm
from playground.puzzles.base import Instance


def draw(instance: Instance, answer: str | None = None, solution: bool = False) -> go.Figure:
    """The family's drawing of `instance`: the puzzle alone by default; with `solution`, also its reference
    solution; with `answer`, the answer drawn and judged in the title (the solution shown beside it)."""
    drawer = DRAWERS.get(instance.family)
    if drawer is None:
        raise ValueError(f"no drawing for puzzle family {instance.family!r}; known: {', '.join(DRAWERS)}")
    return drawer(instance, answer, solution or answer is not None)


def draw_sat(instance: Instance, answer: str | None = None, solution: bool = False) -> go.Figure:
    """Clauses x variables grid (blue = xk, orange = -xk); with an answer each clause is marked true/false."""
    n, clauses = instance.data["n_vars"], instance.data["clauses"]
    z = [[0] * n for _ in clauses]
    text = [[""] * n for _ in clauses]
    for r, c in enumerate(clauses):
        for lit in c:
            z[r][abs(lit) - 1] = 1 if lit > 0 else -1
            text[r][abs(lit) - 1] = f"x{lit}" if lit > 0 else f"-x{-lit}"
    xs, ys = [f"x{v}" for v in range(1, n + 1)], [f"c{i}" for i in range(1, len(clauses) + 1)]
    colors = [[0, "#f4a259"], [0.5, "#ffffff"], [1, "#5b8def"]]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=xs,
            y=ys,
            text=text,
            texttemplate="%{text}",
            colorscale=colors,
            zmin=-1,
            zmax=1,
            showscale=False,
            xgap=2,
            ygap=2,
        )
    )
    title = f"3SAT: {n} variables, {len(clauses)} clauses"
    if solution and answer is None:
        ref = instance.data["solution"]
        title += " - reference: " + (" ".join("T" if v else "F" for v in ref) if ref else "Unsatisfiable")
    if answer is not None:
        sol = sat.parse_solution(answer)
        if sol is None:
            title += " - answer unparseable"
        elif sol == "Unsatisfiable":
            title += " - answer: Unsatisfiable"
        elif len(sol) != n:
            title += f" - answer has {len(sol)} values for {n} variables"
        else:
            ok = [any(sol[abs(lit) - 1] == (lit > 0) for lit in c) for c in clauses]
            fig.add_trace(
                go.Scatter(
                    x=[f"x{v}" for v in range(1, n + 1)],
                    y=["answer"] * n,
                    mode="text",
                    text=["T" if v else "F" for v in sol],
                    name="answer",
                    showlegend=False,
                )
            )
            fig.add_trace(
                go.Scatter(
                    x=["sat?"] * len(clauses),
                    y=ys,
                    mode="markers",
                    name="clause true",
                    marker={
                        "symbol": ["circle" if o else "x" for o in ok],
                        "size": 12,
                        "color": ["#2a9d8f" if o else "#e63946" for o in ok],
                    },
                )
            )
            title += f" - answer satisfies {sum(ok)}/{len(clauses)} clauses"
    fig.update_layout(title=title, yaxis={"autorange": "reversed"}, height=max(300, 22 * len(clauses) + 120))
    return fig


def draw_tsp(instance: Instance, answer: str | None = None, solution: bool = False) -> go.Figure:
    """Cities on the plane; with the solution the optimal tour solid green, the proposed tour dashed orange."""
    coords, w = instance.data["coords"], instance.data["weights"]
    n = len(coords)
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    edge_x = [v for i, j in pairs for v in (coords[i][0], coords[j][0], None)]
    edge_y = [v for i, j in pairs for v in (coords[i][1], coords[j][1], None)]
    fig = go.Figure(  # every edge faintly, as one trace
        go.Scatter(
            x=edge_x,
            y=edge_y,
            mode="lines",
            line={"color": "#dddddd", "width": 1},
            hoverinfo="skip",
            showlegend=False,
        )
    )
    for i, j in pairs if n <= 6 else []:  # weights are readable on small instances only
        mid_x, mid_y = (coords[i][0] + coords[j][0]) / 2, (coords[i][1] + coords[j][1]) / 2
        fig.add_annotation(x=mid_x, y=mid_y, text=str(w[i][j]), showarrow=False, font={"color": "#888888"})

    def add_tour(tour: list[int], name: str, style: dict[str, Any]) -> None:
        fig.add_trace(
            go.Scatter(
                x=[coords[c][0] for c in tour],
                y=[coords[c][1] for c in tour],
                mode="lines",
                line=style,
                name=name,
            )
        )

    verdict = tsp.verify(instance, answer) if answer is not None else None
    if solution and not (verdict and verdict.correct):  # an optimal answer is drawn alone: another optimum would
        opt_tour = instance.data["optimal_tour"]  # read as "the model deviated"
        add_tour(opt_tour, f"optimal ({instance.data['optimal_length']})", {"color": "#2a9d8f", "width": 5})
    title = f"TSP: {n} cities"
    if answer is not None:
        parsed = tsp.parse_tour(answer)
        if parsed is None:
            title += " - answer unparseable"
        else:
            tour = [c for c in parsed[0] if c < n]
            tour = tour + tour[:1] if tour and tour[0] != tour[-1] else tour
            add_tour(tour, "proposed", {"color": "#e76f51", "width": 2.5, "dash": "dash"})
            title += f" - proposed: {verdict.reason}"
    fig.add_trace(
        go.Scatter(
            x=[c[0] for c in coords],
            y=[c[1] for c in coords],
            mode="markers+text",
            text=[str(i) for i in range(n)],
            textposition="top center",
            name="cities",
            marker={"size": 14, "color": "#264653"},
        )
    )
    fig.update_layout(
        title=title,
        yaxis={"scaleanchor": "x"},
        plot_bgcolor="white",
        legend={"orientation": "h", "y": -0.08, "yanchor": "top"},
    )
    return fig


def draw_calendar(instance: Instance, answer: str | None = None, solution: bool = False) -> go.Figure:
    """Availability bars per day and participant, blocked time and hour limits marked, the proposed slot."""
    data = instance.data
    fig = go.Figure()
    rows = [f"{day[:3]} {p}" for day in data["days"] for p in data["availability"]]
    for p in data["availability"]:
        ys, xs, bases = [], [], []
        for day in data["days"]:
            for a, b in cal.free_intervals(data, p, day):
                ys.append(f"{day[:3]} {p}")
                xs.append((b - a) / 60)
                bases.append(a / 60)
        fig.add_bar(y=ys, x=xs, base=bases, orientation="h", name=p, opacity=0.7)
    c = data["constraints"]
    if c["blocked"]:
        bs, be = cal.parse_span(c["blocked"])
        fig.add_vrect(x0=bs / 60, x1=be / 60, fillcolor="grey", opacity=0.3, line_width=0, annotation_text="blocked")
    for lim in (c["no_before"], c["no_after"]):
        if lim:
            fig.add_vline(x=cal.to_minutes(lim) / 60, line_dash="dash", line_color="black")
    title = f"Calendar level {instance.level}"
    if solution:
        title += f": reference {data['solution'] or cal.NO_SLOT}"
    if answer is not None:
        parsed = cal.parse_answer(answer) if isinstance(answer, str) else None
        if isinstance(parsed, tuple):
            day, s, e = parsed
            v = cal.verify(instance, answer)
            fig.add_bar(
                y=[f"{day[:3]} meeting"],
                x=[(e - s) / 60],
                base=[s / 60],
                orientation="h",
                name="proposed",
                marker_color="green" if v.correct else "red",
            )
            rows.append(f"{day[:3]} meeting")
            title += f" | answer {v.extracted}: {v.reason}"
        else:
            title += f" | answer: {parsed if parsed == cal.NO_SLOT else 'unparseable'}"
    fig.update_layout(title=title, barmode="overlay", xaxis_title="hour", height=120 + 22 * len(rows))
    fig.update_yaxes(categoryorder="array", categoryarray=rows[::-1])
    return fig


def draw_maze(instance: Instance, answer: str | None = None, solution: bool = False) -> go.Figure:
    """Walls dark, floor light, S/E/X as letters; a path answer is a line from S (red x at a wall hit); the
    reference shortest path dotted when the solution is asked for without an answer."""
    d = instance.data
    grid = d["grid"]
    z = [[1 if ch == "#" else 0 for ch in row] for row in grid]
    fig = go.Figure(go.Heatmap(z=z, colorscale=[[0, "#f8f5ee"], [1, "#3d405b"]], showscale=False, hoverinfo="skip"))
    marks = [(r, c, ch) for r, row in enumerate(grid) for c, ch in enumerate(row) if ch in "SEX"]
    fig.add_trace(
        go.Scatter(
            x=[c for _, c, _ in marks],
            y=[r for r, _, _ in marks],
            mode="text",
            text=[ch for _, _, ch in marks],
            textfont={"size": 16, "color": "#e07a5f"},
            name="S / E / X",
            showlegend=False,
        )
    )
    title = f"Maze {len(grid)}x{len(grid[0])} ({d['task']})"
    if solution and answer is None and d.get("solution_moves"):
        path, _ = maze.replay(grid, tuple(d["start"]), maze.parse_moves(f"Final Answer: {d['solution_moves']}") or [])
        fig.add_trace(
            go.Scatter(
                x=[p[1] for p in path],
                y=[p[0] for p in path],
                mode="lines",
                line={"color": "#2a9d8f", "width": 4, "dash": "dot"},
                name="shortest path",
            )
        )
        title += f" - shortest path: {d['shortest_length']} moves"
    if answer is not None:
        verdict = maze.verify(instance, answer)
        if verdict.status == "unparseable":
            title += " - answer unparseable"
        elif d["task"] == "path":
            moves = maze.parse_moves(answer) or []
            path, hit = maze.replay(grid, tuple(d["start"]), moves)
            fig.add_trace(
                go.Scatter(
                    x=[p[1] for p in path],
                    y=[p[0] for p in path],
                    mode="lines+markers",
                    line={"color": "#81b29a", "width": 4},
                    name="answer path",
                )
            )
            if hit:
                wall = maze.step(path[-1], moves[hit - 1])
                fig.add_trace(
                    go.Scatter(
                        x=[wall[1]],
                        y=[wall[0]],
                        mode="markers",
                        name=f"wall hit (move {hit})",
                        marker={"symbol": "x", "size": 18, "color": "#e63946"},
                    )
                )
            title += f" - {verdict.reason}"
        else:
            title += f" - {d['question']} {verdict.reason}"
    rows, cols = len(grid), len(grid[0])
    fig.update_layout(
        title=title,
        plot_bgcolor="white",
        showlegend=False,
        xaxis={"range": [-0.5, cols - 0.5], "constrain": "domain", "showgrid": False, "zeroline": False},
        yaxis={"range": [rows - 0.5, -0.5], "scaleanchor": "x", "constrain": "domain", "showgrid": False},
    )
    fig.update_yaxes(zeroline=False)
    return fig


def _statement_graph(instance: Instance) -> go.Figure:
    """The spatial map's statements alone: objects on a circle (positions carry no meaning, so nothing is given
    away), one arrow per statement from B to A marked with the direction of "A is <direction> of B"."""
    data, q = instance.data, instance.data["question"]
    names = [o["name"] for o in data["objects"]]
    turn = [2 * math.pi * k / len(names) + math.pi / 2 for k in range(len(names))]
    pos = {n: (math.cos(t), math.sin(t)) for n, t in zip(names, turn)}
    fig = go.Figure()
    for a, direction, b in data["statements"]:
        (ax, ay), (bx, by) = pos[b], pos[a]
        fig.add_annotation(x=bx, y=by, ax=ax, ay=ay, xref="x", yref="y", axref="x", ayref="y", text="",
                           showarrow=True, arrowhead=2, arrowsize=1.2, arrowwidth=1.3, arrowcolor="#9ca3af",
                           standoff=12, startstandoff=12)  # fmt: skip
        short = "".join(w[0].upper() for w in re.findall(r"north|south|east|west", direction.lower()))  # "NE"
        fig.add_annotation(x=(ax + bx) / 2, y=(ay + by) / 2, text=short, showarrow=False,
                           font={"size": 11, "color": "#4b5563"}, bgcolor="rgba(255,255,255,0.85)")  # fmt: skip
    asked = {q["ref"]: "orange", **({q["target"]: "royalblue"} if q.get("target") else {})}
    if q["type"] == "which":
        asked |= {o: "royalblue" for o in q["options"]}
    fig.add_scatter(
        x=[p[0] for p in pos.values()],
        y=[p[1] for p in pos.values()],
        mode="markers+text",
        text=names,
        textposition=["top center" if y >= 0 else "bottom center" for _, y in pos.values()],
        marker={"size": 14, "color": [asked.get(n, "grey") for n in names]},
        name="objects",
        showlegend=False,
    )
    fig.update_layout(
        title=f"Spatial map level {instance.level}: {sm.question_text(q)}<br><sup>an arrow B→A marked NE: A is "
        "Northeast of B</sup><br><sup>(places here are not the map)</sup>",
        xaxis={"visible": False, "range": [-1.6, 1.6]},
        yaxis={"visible": False, "range": [-1.35, 1.35], "scaleanchor": "x"},
        plot_bgcolor="white",
    )
    return fig


def draw_spatial_map(instance: Instance, answer: str | None = None, solution: bool = False) -> go.Figure:
    """The puzzle alone: its statements as a graph. With the solution: the objects at their true places,
    statements as faint lines, the queried objects highlighted, the answer ringed."""
    if not solution:
        return _statement_graph(instance)
    data, q = instance.data, instance.data["question"]
    pos = {o["name"]: (o["x"], o["y"]) for o in data["objects"]}
    fig = go.Figure()
    for a, _, b in data["statements"]:
        fig.add_scatter(
            x=[pos[a][0], pos[b][0]],
            y=[pos[a][1], pos[b][1]],
            mode="lines",
            line={"color": "lightgrey", "width": 1},
            showlegend=False,
            hoverinfo="skip",
        )
    key = {q["ref"]: "orange", q.get("target") or q["answer_text"]: "royalblue"}
    fig.add_scatter(
        x=[p[0] for p in pos.values()],
        y=[p[1] for p in pos.values()],
        mode="markers+text",
        text=list(pos),
        textposition="top center",
        marker={"size": 14, "color": [key.get(n, "grey") for n in pos]},
        name="objects",
    )
    title = f"Spatial map level {instance.level}: {sm.question_text(q)} ({q['answer']}. {q['answer_text']})"
    if answer is not None:
        v = sm.verify(instance, answer if isinstance(answer, str) else "")
        title += f" | answer: {v.extracted or 'unparseable'} {'right' if v.correct else 'wrong'}"
        pick = q["options"][sm.LETTERS.index(v.extracted)] if v.extracted else None
        if q["type"] == "which" and pick in pos:
            fig.add_scatter(
                x=[pos[pick][0]],
                y=[pos[pick][1]],
                mode="markers",
                name="answer",
                marker={"size": 22, "symbol": "circle-open", "color": "green" if v.correct else "red"},
            )
    xs, ys = [p[0] for p in pos.values()], [p[1] for p in pos.values()]
    fig.update_layout(  # padded, so that names at the edge are not cut
        title=title,
        showlegend=False,
        xaxis={"title": "west - east", "range": [min(xs) - 2, max(xs) + 2]},
        yaxis={"title": "south - north", "range": [min(ys) - 1, max(ys) + 1.5]},
    )
    return fig


def draw_math(instance: Instance, answer: str | None = None, solution: bool = False) -> go.Figure:
    """The problem alone; with the solution, the worked steps as a table and the given answer's verdict."""
    question, steps, ref = mp.solve(instance.data)
    if not solution:
        fig = go.Figure(go.Table(header={"values": ["problem"]}, cells={"values": [[question]], "align": "left"}))
        fig.update_layout(title=f"{instance.data['template']} (level {instance.level})", height=240)
        return fig
    fig = go.Figure(
        go.Table(
            header={"values": ["step", "computation"]},
            cells={"values": [list(range(1, len(steps) + 1)), steps], "align": "left"},
        )
    )
    title = f"{instance.data['template']} (level {instance.level}): answer {ref}"
    if answer is not None:
        v = mp.verify(instance, answer if isinstance(answer, str) else "")
        title += f" | given {v.extracted or 'unparseable'}: {'right' if v.correct else 'wrong'}"
    fig.update_layout(title=title, height=160 + 30 * len(steps))
    return fig


DRAWERS = {
    "sat": draw_sat,
    "tsp": draw_tsp,
    "calendar": draw_calendar,
    "maze": draw_maze,
    "spatial_map": draw_spatial_map,
    "math": draw_math,
}
