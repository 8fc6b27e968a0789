"""The Puzzles tab: pick a benchmark puzzle, then race two configured panels on it side by side.

Layout and wiring only: puzzles come from `playground.puzzles`, the race (threads, engines, verification) from
`playground.evaluation.race`, its verdict boxes from `playground.ui.verdict`. Named API endpoints: /race,
/stop_race.
"""

from __future__ import annotations

import html
import random
from dataclasses import dataclass
from typing import Any

import gradio as gr

from playground.evaluation.race import CURRENT, PanelConfig, RaceUpdate, race
from playground.generation.pool import EnginePool
from playground.models.adapters import find_adapters
from playground.models.loading import ModelLoadError
from playground.models.presets import choices, recommended_temperature
from playground.puzzles import Instance, PuzzleConfigError, families, generate
from playground.ui.drawings import draw
from playground.ui.state import AppState, OnShow
from playground.ui.verdict import IDLE_HTML, RUNNING_HTML, current_model_line, error_html, verdict_html
from playground.ui.widgets import ANSWER_MAX, MODES, THINK_MAX, budget_slider, read_budgets, read_seed

DEFAULT_FAMILY = "maze"
RANDOM_SEEDS = 100_000  # "Random seed" and a race on seed -1 draw a puzzle seed below this
PLOT_LAYOUT = dict(height=360, margin=dict(l=10, r=10, t=56, b=10), title_font_size=13)
SHARED = ("think_budget", "budget_mode", "temperature", "min_think", "answer_budget")  # what Base vs adapter copies


@dataclass
class PanelWidgets:
    """One panel: its configuration widgets keyed by PanelConfig field, and its outputs."""

    name: str
    inputs: dict[str, gr.components.Component]
    chatbot: gr.Chatbot
    status: gr.Markdown
    verdict: gr.HTML
    plot: gr.Plot

    @property
    def prefix(self) -> str:
        """How the panel's inputs are named in the /race API: a_model, a_think_budget, …"""
        return f"{self.name.lower()}_"


def panel_config(name: str, values: dict[str, Any]) -> PanelConfig:
    """One panel's widget values (keyed by PanelConfig field) → PanelConfig; ValueError naming the panel."""
    config = PanelConfig(
        model=(values["model"] or "").strip(),
        adapter=(values["adapter"] or "").strip() or None,
        budget_mode=values["budget_mode"],
        temperature=float(values["temperature"]),
        seed=read_seed(values["seed"], f"Panel {name}: the sampling seed"),
        **read_budgets(values),
    )
    config.validate(name)
    return config


def _level_choices(family: str) -> list[tuple[str, int]]:
    return [(f"{lv} · {text}", lv) for lv, text in families()[family].levels.items()]


def _instance(values: dict[str, Any]) -> Instance:
    """The puzzle the family, level and puzzle seed widgets name (seed -1: a random one)."""
    seed = read_seed(values["puzzle_seed"], "The puzzle seed")
    if values["family"] not in families():
        raise PuzzleConfigError(f"Unknown puzzle family {values['family']!r}.")
    seed = random.randrange(RANDOM_SEEDS) if seed is None else seed
    return generate(values["family"], int(values["level"] or 1), seed)


def _figure(instance: Instance, answer: str | None = None):
    fig = draw(instance, answer)
    fig.update_layout(**PLOT_LAYOUT)
    return fig


def _puzzle_views(instance: Instance) -> tuple[str, object, str]:
    """Prompt block, drawing, and the reference answer with the solver's trace."""
    prompt = (
        f"<div style='font-weight:600;margin-bottom:6px'>{html.escape(families()[instance.family].title)} · level "
        f"{instance.level} · seed {instance.seed}</div><pre style='white-space:pre-wrap;margin:0;padding:10px 12px;"
        f"border-radius:8px;background:#f6f7f9;font-size:13px;line-height:1.35;color:#111827'>"
        f"{html.escape(instance.prompt)}</pre>"
    )
    trace = families()[instance.family].trace(instance)
    reference = (
        f"**Reference answer**\n\n```text\n{instance.reference}\n```\n\n**Solver trace**\n\n```text\n{trace}\n```"
    )
    return prompt, _figure(instance), reference


def _panel(name: str, think: int, state: AppState) -> PanelWidgets:
    info = state.engine.describe()
    temperature = recommended_temperature(info.preset if info else None, info.name if info else None)
    key = name.lower()
    with gr.Column(variant="panel", elem_id=f"panel-{key}"):
        gr.Markdown(f"### Panel {name}")
        w: dict[str, gr.components.Component] = {}
        with gr.Row():
            w["model"] = gr.Dropdown(
                [CURRENT, *choices()],
                value=CURRENT,
                allow_custom_value=True,
                label="Model ('current' = the one loaded in Chat; or a hub id / folder)",
                scale=3,
                elem_id=f"model-{key}",
            )
            w["budget_mode"] = gr.Dropdown(MODES, value="hard", label="At the budget", scale=2, elem_id=f"mode-{key}")
        with gr.Row():
            w["think_budget"] = budget_slider(
                THINK_MAX, think, f"Thinking budget (tokens; {THINK_MAX} = unlimited)", scale=3, elem_id=f"think-{key}"
            )
            w["temperature"] = gr.Slider(0, 2, value=temperature, step=0.05, label="Temperature (0 = greedy)", scale=2)
        with gr.Accordion("More settings", open=False):
            with gr.Row():
                w["answer_budget"] = budget_slider(
                    ANSWER_MAX, 512, f"Answer budget ({ANSWER_MAX} = unlimited)", elem_id=f"answer-{key}"
                )
                w["min_think"] = budget_slider(
                    THINK_MAX, 0, "Minimum thinking (s1 extend mode)", elem_id=f"min-think-{key}"
                )
            with gr.Row():
                w["seed"] = gr.Number(-1, precision=0, label="Sampling seed (-1 = random)")
                w["adapter"] = gr.Dropdown(
                    ["", *find_adapters(state.runs_dir)],
                    value="",
                    allow_custom_value=True,
                    label="LoRA adapter folder (optional)",
                )
        chatbot = gr.Chatbot(
            label=f"Panel {name}",
            height=360,
            allow_tags=False,
            elem_id=f"chat-{key}",
            show_label=False,
            placeholder=f"Panel {name}'s thought and answer stream here: press **▶ Run both**.",
        )
        status = gr.Markdown("", elem_id=f"status-{key}")
        verdict = gr.HTML(IDLE_HTML, elem_id=f"verdict-{key}")
        plot = gr.Plot(label=f"Panel {name}'s answer on the puzzle", elem_id=f"plot-{key}")
    return PanelWidgets(name, w, chatbot, status, verdict, plot)


def build_puzzles_tab(state: AppState) -> OnShow:
    """Lay out the Puzzles tab and wire its events. Returns what to refresh when the tab is shown (the 'current'
    model line, the adapter pickers)."""
    pool = EnginePool(state.engine, state.quant, state.device, state.offline)
    fams = families()
    first = DEFAULT_FAMILY if DEFAULT_FAMILY in fams else next(iter(fams))
    prompt_md, drawing, reference_md = _puzzle_views(generate(first, 1, 1))
    info = state.engine.describe()

    with gr.Row(equal_height=True):
        family = gr.Dropdown(
            [(f.title, n) for n, f in fams.items()], value=first, label="Puzzle family", scale=2, elem_id="family"
        )
        level = gr.Dropdown(_level_choices(first), value=1, label="Level", scale=3, elem_id="level")
        seed = gr.Number(1, precision=0, label="Puzzle seed (-1 = random)", scale=1, elem_id="puzzle-seed")
        shuffle = gr.Button("Random seed", scale=0, min_width=140, elem_id="random-seed")
    with gr.Row():
        with gr.Column(scale=1):
            prompt = gr.HTML(prompt_md, elem_id="puzzle-prompt", max_height=440)
        with gr.Column(scale=1):
            puzzle_plot = gr.Plot(drawing, label="The puzzle", elem_id="puzzle-plot")
    with gr.Accordion("Show reference answer and solver trace", open=False):
        reference = gr.Markdown(reference_md, elem_id="puzzle-reference")
    with gr.Row(equal_height=True):
        current = gr.Markdown(current_model_line(info), elem_id="puzzles-current")
        pair = gr.Button(
            "Base vs adapter",
            size="sm",
            scale=0,
            min_width=160,
            visible=info is not None and info.base_name is not None,
            elem_id="base-vs-adapter",
        )
    with gr.Row():
        run = gr.Button("▶ Run both", variant="primary", elem_id="run-both", scale=3)
        stop = gr.Button("Stop", variant="stop", elem_id="stop-race", scale=1)
    with gr.Row(equal_height=False):
        panels = [_panel("A", 64, state), _panel("B", 512, state)]
    a, b = panels

    puzzle = {"family": family, "level": level, "puzzle_seed": seed}
    views = [prompt, puzzle_plot, reference]

    def show(**values):
        try:
            return _puzzle_views(_instance(values))
        except (PuzzleConfigError, ValueError) as err:
            gr.Warning(str(err))
            return gr.skip(), gr.skip(), gr.skip()

    def on_family(**values):
        levels = _level_choices(values["family"])
        return gr.update(choices=levels, value=levels[0][1]), *show(**values, level=levels[0][1])

    family.change(
        on_family, inputs_kwargs={"family": family, "puzzle_seed": seed}, outputs=[level, *views], api_name=False
    )
    level.input(show, inputs_kwargs=puzzle, outputs=views, api_name=False)  # .input: not again after on_family
    seed.change(show, inputs_kwargs=puzzle, outputs=views, api_name=False)
    shuffle.click(lambda: random.randrange(RANDOM_SEEDS), None, seed, api_name=False, queue=False)

    def on_race(request: gr.Request, **values):
        session = f"{request.session_hash or 'api'}:puzzles"
        try:
            instance = _instance(values)
            configs = [
                panel_config(p.name, {k.removeprefix(p.prefix): v for k, v in values.items() if k.startswith(p.prefix)})
                for p in panels
            ]
        except (PuzzleConfigError, ValueError) as err:
            gr.Warning(str(err))
            yield {seed: gr.skip()}  # a dict with no key reads as one value to Gradio
            return
        stop_event = state.begin(session)
        if stop_event is None:
            gr.Warning("A race is already running: press Stop first.")
            yield {seed: gr.skip()}
            return
        try:
            yield {seed: instance.seed} | {
                w: v for p in panels for w, v in ((p.chatbot, []), (p.verdict, RUNNING_HTML), (p.plot, None))
            }
            ends: dict[str, dict] = {}
            for update in race(pool, instance, *configs, stop=stop_event):
                for note in update.notices:
                    gr.Info(note)
                yield _render(update, panels, configs, instance, ends) | ({seed: instance.seed} if update.done else {})
        except (ModelLoadError, ValueError, RuntimeError) as err:
            gr.Warning(str(err))
            yield {p.verdict: error_html(str(err)) for p in panels}
        finally:
            state.end(session)

    def on_stop(request: gr.Request):
        if not state.stop(f"{request.session_hash or 'api'}:puzzles"):
            gr.Info("Nothing is running.")

    race_inputs = puzzle | {p.prefix + k: w for p in panels for k, w in p.inputs.items()}
    race_outputs = [seed, *[w for p in panels for w in (p.chatbot, p.status, p.verdict, p.plot)]]
    run.click(on_race, inputs_kwargs=race_inputs, outputs=race_outputs, api_name="race", concurrency_limit=None)
    stop.click(on_stop, None, None, api_name="stop_race", queue=False)

    def on_pair(**values):
        # panel A: the plain base by name; panel B: 'current' (base + adapter); the same settings and sampling seed
        same_seed = 0 if values["seed"] is None or values["seed"] < 0 else values["seed"]
        info = state.engine.describe()
        base = info.base_name if info and info.base_name else CURRENT
        copied = {a.inputs[k]: values[k] for k in SHARED}
        return copied | {
            a.inputs["model"]: base,
            a.inputs["adapter"]: "",
            a.inputs["seed"]: same_seed,
            b.inputs["model"]: CURRENT,
            b.inputs["adapter"]: "",
            b.inputs["seed"]: same_seed,
        }

    pair.click(
        on_pair,
        inputs_kwargs={k: b.inputs[k] for k in (*SHARED, "seed")},
        outputs=[*a.inputs.values(), b.inputs["model"], b.inputs["adapter"], b.inputs["seed"]],
        api_name=False,
        queue=False,
    )

    def on_show():
        info = state.engine.describe()
        adapters = gr.update(choices=["", *find_adapters(state.runs_dir)])
        paired = gr.update(visible=info is not None and info.base_name is not None)
        return current_model_line(info), paired, adapters, adapters

    return OnShow(on_show, [current, pair, a.inputs["adapter"], b.inputs["adapter"]])


def _render(
    update: RaceUpdate, panels: list[PanelWidgets], configs: list[PanelConfig], instance: Instance, ends: dict
) -> dict:
    """One race snapshot → updates of the panels that changed. A finished panel's status, verdict and drawing
    are made once (kept in `ends`); the last update repeats every output, so an API caller gets them all."""
    out: dict = {}
    for widgets, config in zip(panels, configs):
        panel = update.panels[widgets.name]
        if widgets.name not in update.changed and not update.done:
            continue
        out[widgets.chatbot] = panel.history
        model = f"`{panel.model}` · " if panel.model else ""
        out[widgets.status] = model + panel.status
        if panel.finished and widgets.name not in ends:
            if panel.result is not None:
                stats = panel.result.stats
                ends[widgets.name] = {
                    widgets.status: f"{model}{stats.tokens_per_s:,.0f} tokens/s"
                    + (" · stopped" if stats.stopped else ""),
                    widgets.verdict: verdict_html(panel.result.verdict, stats, config.think_budget),
                    widgets.plot: _figure(instance, panel.result.answer),
                }
            else:
                ends[widgets.name] = {widgets.verdict: error_html(panel.error or "no result")}
        out.update(ends.get(widgets.name, {}))
    return out
