"""The Puzzles tab: pick a benchmark puzzle, then race two configured panels on it side by side.

Widgets and wiring only: puzzles come from `playground.puzzles`, the race (threads, engines, verification) from
`playground.evaluation.race`, the live thoughts from `chat_session.stream_turn`. Named API endpoint: /race.
"""

from __future__ import annotations

import html
import random
from dataclasses import dataclass

import gradio as gr

from playground.evaluation.race import (
    CURRENT,
    EnginePool,
    PanelConfig,
    RaceUpdate,
    current_model_line,
    error_html,
    find_adapters,
    race,
    verdict_html,
)
from playground.models.loading import ModelLoadError
from playground.models.presets import choices, recommended_temperature
from playground.puzzles import Instance, PuzzleConfigError, families, generate
from playground.ui.chat import ANSWER_MAX, MODES, THINK_MAX, budget_value
from playground.ui.state import AppState, OnShow

DEFAULT_FAMILY = "maze"
SEED_MAX = 2**31 - 1
PLOT_LAYOUT = dict(height=360, margin=dict(l=10, r=10, t=56, b=10), title_font_size=13)
IDLE_HTML = "<div class='verdict verdict-idle' style='color:#6b7280;padding:10px 14px'>No verdict yet.</div>"
RUNNING_HTML = "<div class='verdict verdict-running' style='color:#6b7280;padding:10px 14px'>⏳ Running…</div>"


@dataclass
class PanelWidgets:
    """One panel's configuration widgets and outputs."""

    name: str
    model: gr.Dropdown
    think: gr.Slider
    mode: gr.Radio
    temperature: gr.Slider
    min_think: gr.Slider
    answer: gr.Slider
    seed: gr.Number
    adapter: gr.Dropdown
    chatbot: gr.Chatbot
    status: gr.Markdown
    verdict: gr.HTML
    plot: gr.Plot

    @property
    def inputs(self) -> list[gr.components.Component]:
        return [
            self.model,
            self.think,
            self.mode,
            self.temperature,
            self.min_think,
            self.answer,
            self.seed,
            self.adapter,
        ]


def panel_config(
    name: str,
    model: str | None,
    think: float,
    mode: str,
    temperature: float,
    min_think: float,
    answer: float,
    seed: float | None,
    adapter: str | None,
) -> PanelConfig:
    """One panel's widget values (in `PanelWidgets.inputs` order) → PanelConfig; ValueError naming the panel."""
    if seed is not None and (int(seed) != seed or seed < -1 or seed > SEED_MAX):
        raise ValueError(f"Panel {name}: the sampling seed must be a whole number ≥ 0 (or -1 for random).")
    budget = budget_value(think, THINK_MAX)
    config = PanelConfig(
        model=(model or "").strip(),
        adapter=(adapter or "").strip() or None,
        think_budget=budget,
        budget_mode=mode,
        min_think=int(min_think) if budget is None else min(int(min_think), budget),
        temperature=float(temperature),
        seed=None if seed is None or seed < 0 else int(seed),
        answer_budget=budget_value(answer, ANSWER_MAX),
    )
    config.validate(name)
    return config


def _level_choices(family: str) -> list[tuple[str, int]]:
    return [(f"{lv} · {text}", lv) for lv, text in families()[family].levels.items()]


def _instance(family: str, level: int | None, seed: float | None) -> Instance:
    if seed is None or int(seed) != seed or seed < -1 or seed > SEED_MAX:
        raise PuzzleConfigError(f"The puzzle seed must be a whole number between 0 and {SEED_MAX} (or -1 for random).")
    if family not in families():
        raise PuzzleConfigError(f"Unknown puzzle family {family!r}.")
    return generate(family, int(level or 1), int(seed))


def _figure(instance: Instance, answer: str | None = None):
    fig = families()[instance.family].draw(instance, answer)
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
    loaded = state.engine.loaded
    temperature = recommended_temperature(loaded.preset if loaded else None, loaded.name if loaded else None)
    with gr.Column(variant="panel", elem_id=f"panel-{name.lower()}"):
        gr.Markdown(f"### Panel {name}")
        with gr.Row():
            model = gr.Dropdown(
                [CURRENT, *choices()],
                value=CURRENT,
                allow_custom_value=True,
                label="Model ('current' = the one loaded in Chat; or a hub id / folder)",
                scale=3,
                elem_id=f"model-{name.lower()}",
            )
            mode = gr.Dropdown(MODES, value="hard", label="At the budget", scale=2, elem_id=f"mode-{name.lower()}")
        with gr.Row():
            budget = gr.Slider(
                0,
                THINK_MAX,
                value=think,
                step=16,
                label=f"Thinking budget (tokens; {THINK_MAX} = unlimited)",
                scale=3,
                elem_id=f"think-{name.lower()}",
            )
            temperature = gr.Slider(0, 2, value=temperature, step=0.05, label="Temperature (0 = greedy)", scale=2)
        with gr.Accordion("More settings", open=False):
            with gr.Row():
                answer = gr.Slider(
                    0,
                    ANSWER_MAX,
                    value=512,
                    step=16,
                    label=f"Answer budget ({ANSWER_MAX} = unlimited)",
                    elem_id=f"answer-{name.lower()}",
                )
                min_think = gr.Slider(
                    0,
                    THINK_MAX,
                    value=0,
                    step=16,
                    label="Minimum thinking (s1 extend mode)",
                    elem_id=f"min-think-{name.lower()}",
                )
            with gr.Row():
                seed = gr.Number(-1, precision=0, label="Sampling seed (-1 = random)")
                adapter = gr.Dropdown(
                    ["", *find_adapters(state.runs_dir)],
                    value="",
                    allow_custom_value=True,
                    label="LoRA adapter folder (optional)",
                )
        chatbot = gr.Chatbot(
            label=f"Panel {name}",
            height=360,
            allow_tags=False,
            elem_id=f"chat-{name.lower()}",
            show_label=False,
            placeholder=f"Panel {name}'s thought and answer stream here: press **▶ Run both**.",
        )
        status = gr.Markdown("", elem_id=f"status-{name.lower()}")
        verdict = gr.HTML(IDLE_HTML, elem_id=f"verdict-{name.lower()}")
        plot = gr.Plot(label=f"Panel {name}'s answer on the puzzle", elem_id=f"plot-{name.lower()}")
    return PanelWidgets(
        name, model, budget, mode, temperature, min_think, answer, seed, adapter, chatbot, status, verdict, plot
    )


def build_puzzles_tab(state: AppState) -> OnShow:
    """Lay out the Puzzles tab and wire its events (named API endpoints: /race, /stop_race). Returns what to
    refresh when the tab is shown (the 'current' model line, the adapter pickers)."""
    pool = EnginePool(state.engine, state.quant, state.device, state.offline)
    fams = families()
    first = DEFAULT_FAMILY if DEFAULT_FAMILY in fams else next(iter(fams))
    start = generate(first, 1, 1)
    prompt_md, drawing, reference_md = _puzzle_views(start)

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
        current = gr.Markdown(current_model_line(state.engine), elem_id="puzzles-current")
        pair = gr.Button(
            "Base vs adapter",
            size="sm",
            scale=0,
            min_width=160,
            visible=state.engine.base_name is not None,
            elem_id="base-vs-adapter",
        )
    with gr.Row():
        run = gr.Button("▶ Run both", variant="primary", elem_id="run-both", scale=3)
        stop = gr.Button("Stop", variant="stop", elem_id="stop-race", scale=1)
    with gr.Row(equal_height=False):
        panels = [_panel("A", 64, state), _panel("B", 512, state)]

    def show(family_name: str, level_value: int | None, seed_value: float | None):
        try:
            instance = _instance(family_name, level_value, seed_value)
        except (PuzzleConfigError, ValueError) as err:
            gr.Warning(str(err))
            return gr.skip(), gr.skip(), gr.skip()
        return _puzzle_views(instance)

    def on_family(family_name: str, seed_value: float | None):
        levels = _level_choices(family_name)
        return gr.update(choices=levels, value=levels[0][1]), *show(family_name, levels[0][1], seed_value)

    def on_random():
        return random.randint(0, 99_999)

    views = [prompt, puzzle_plot, reference]
    family.change(on_family, [family, seed], [level, *views], api_name=False)
    level.input(show, [family, level, seed], views, api_name=False)  # .input: not again after on_family
    seed.change(show, [family, level, seed], views, api_name=False)
    shuffle.click(on_random, None, seed, api_name=False, queue=False)

    outputs = [seed, *[w for p in panels for w in (p.chatbot, p.status, p.verdict, p.plot)]]

    def on_race(
        family_name: str,
        level_value: int,
        puzzle_seed: float | None,
        a_model: str,
        a_think_budget: float,
        a_mode: str,
        a_temperature: float,
        a_min_think: float,
        a_answer_budget: float,
        a_seed: float | None,
        a_adapter: str | None,
        b_model: str,
        b_think_budget: float,
        b_mode: str,
        b_temperature: float,
        b_min_think: float,
        b_answer_budget: float,
        b_seed: float | None,
        b_adapter: str | None,
        request: gr.Request,
    ):
        # explicit parameters (not *args) so the /race API names them and gr.Request is injected
        session = f"{request.session_hash or 'api'}:puzzles"
        try:
            if puzzle_seed is not None and puzzle_seed == -1:
                puzzle_seed = random.randint(0, 99_999)
            instance = _instance(family_name, level_value, puzzle_seed)
            a = (a_model, a_think_budget, a_mode, a_temperature, a_min_think, a_answer_budget, a_seed, a_adapter)
            b = (b_model, b_think_budget, b_mode, b_temperature, b_min_think, b_answer_budget, b_seed, b_adapter)
            configs = [panel_config("A", *a), panel_config("B", *b)]
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

    inputs = [family, level, seed, *[w for p in panels for w in p.inputs]]
    run.click(on_race, inputs, outputs, api_name="race", concurrency_limit=None)
    stop.click(on_stop, None, None, api_name="stop_race", queue=False)

    a, b = panels

    def on_pair(think: float, mode: str, temperature: float, min_think: float, answer: float, b_seed: float | None):
        # panel A: the plain base by name; panel B: 'current' (base + adapter); the same settings and sampling seed
        same_seed = 0 if b_seed is None or b_seed < 0 else b_seed
        base = state.engine.base_name or CURRENT
        return base, "", think, mode, temperature, min_think, answer, same_seed, CURRENT, "", same_seed

    pair.click(
        on_pair,
        [b.think, b.mode, b.temperature, b.min_think, b.answer, b.seed],
        [a.model, a.adapter, a.think, a.mode, a.temperature, a.min_think, a.answer, a.seed, b.model, b.adapter, b.seed],
        api_name=False,
        queue=False,
    )

    def on_show():
        adapters = gr.update(choices=["", *find_adapters(state.runs_dir)])
        paired = gr.update(visible=state.engine.base_name is not None)
        return current_model_line(state.engine), paired, adapters, adapters

    return OnShow(on_show, [current, pair, a.adapter, b.adapter])


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


__all__ = ["build_puzzles_tab"]
