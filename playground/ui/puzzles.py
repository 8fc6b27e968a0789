"""The Puzzles tab: pick a benchmark puzzle, then race two configured panels on it side by side.

Layout and wiring only: puzzles come from `playground.puzzles`, what is shown of one from `playground.ui.puzzle_views`,
the race (threads, engines, verification) from `playground.evaluation.race`, its verdict boxes from
`playground.ui.verdict`. The drawing shows the puzzle alone until its solution is asked for; a new puzzle clears the
panels (and stops a race on the old one). Named API endpoints: /race, /stop_race.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import gradio as gr

from playground.evaluation.race import CURRENT, PanelConfig, RaceUpdate, race
from playground.models.adapters import find_adapters
from playground.models.loading import ModelLoadError
from playground.models.presets import choices, recommended_temperature
from playground.puzzles import Instance, PuzzleConfigError, families, generate
from playground.ui.limits import RACE_CONCURRENCY
from playground.ui.puzzle_views import (
    RANDOM_SEEDS,
    family_choices,
    figure,
    known_family,
    level_choices,
    make_instance,
    panel_config,
    prompt_html,
    reference_markdown,
)
from playground.ui.queue_info import enqueued_at, waiting
from playground.ui.share_wiring import copy_link
from playground.ui.state import AppState, OnShow
from playground.ui.verdict import IDLE_HTML, RUNNING_HTML, current_model_line, error_html, verdict_html
from playground.ui.widgets import (
    ANSWER_MAX,
    MODES,
    THINK_MAX,
    budget_slider,
    code_markup,
    escape_markup,
    model_choice_hint,
)

DEFAULT_FAMILY = "maze"
# seconds between two redraws of the panels: each redraws both chats, and a busy browser must keep up with them
UPDATE_INTERVAL = 0.25
SHARED = ("think_budget", "budget_mode", "temperature", "min_think", "answer_budget")  # what Base vs adapter copies
# "Run both" brings the panels into view when they start below the fold (at 420 px they always do)
SCROLL_TO_PANELS = """() => {
  const panel = document.querySelector('#panel-a');
  if (panel && panel.getBoundingClientRect().top > window.innerHeight * 0.4)
    panel.scrollIntoView({behavior: 'smooth', block: 'start'});
}"""


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

    def cleared(self) -> dict:
        """Updates that empty the panel's outputs (a new puzzle)."""
        return {
            self.chatbot: [],
            self.status: "",
            self.verdict: IDLE_HTML,
            self.plot: gr.update(value=None, visible=False),
        }


def _key(instance: Instance) -> tuple[str, int, int]:
    return instance.family, instance.level, instance.seed


def _panel(name: str, think: int, state: AppState) -> PanelWidgets:
    info = state.engine.describe()
    think_max = state.limits.think_budget or THINK_MAX
    answer_max = state.limits.answer_budget or ANSWER_MAX
    temperature = recommended_temperature(info.preset if info else None, info.name if info else None)
    key = name.lower()
    with gr.Column(variant="panel", elem_id=f"panel-{key}"):
        gr.Markdown(f"### Panel {name}")
        w: dict[str, gr.components.Component] = {}
        with gr.Row():
            w["model"] = gr.Dropdown(
                [CURRENT, *(state.served_names() or choices())],
                value=CURRENT,
                allow_custom_value=True,
                label="Model ('current' = the one you loaded in Chat; or "
                f"{model_choice_hint(state.demo_mode, state.served_names() is not None)})",
                scale=3,
                elem_id=f"model-{key}",
            )
            w["budget_mode"] = gr.Dropdown(MODES, value="hard", label="At the budget", scale=2, elem_id=f"mode-{key}")
        with gr.Row():
            w["think_budget"] = budget_slider(
                think_max,
                min(think, think_max),
                f"Thinking budget (tokens; {THINK_MAX} = unlimited)"
                if think_max == THINK_MAX
                else f"Thinking budget (tokens; at most {think_max:,} here)",
                scale=3,
                elem_id=f"think-{key}",
            )
            w["temperature"] = gr.Slider(0, 2, value=temperature, step=0.05, label="Temperature (0 = greedy)", scale=2)
        with gr.Accordion("More settings", open=False):
            with gr.Row():
                w["answer_budget"] = budget_slider(
                    answer_max,
                    min(512, answer_max),
                    f"Answer budget ({ANSWER_MAX} = unlimited)"
                    if answer_max == ANSWER_MAX
                    else f"Answer budget (at most {answer_max:,} here)",
                    elem_id=f"answer-{key}",
                )
                w["min_think"] = budget_slider(
                    think_max, 0, "Minimum thinking (s1 extend mode)", elem_id=f"min-think-{key}"
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
            min_height=160,  # compact while empty: on a phone panel B follows panel A closely
            max_height=400,
            allow_tags=False,
            elem_id=f"chat-{key}",
            show_label=False,
            placeholder=f"Panel {name}'s thought and answer stream here: press **▶ Run both**.",
        )
        status = gr.Markdown("", elem_id=f"status-{key}")
        verdict = gr.HTML(IDLE_HTML, elem_id=f"verdict-{key}")
        plot = gr.Plot(label=f"Panel {name}'s answer on the puzzle", elem_id=f"plot-{key}", visible=False)
    return PanelWidgets(name, w, chatbot, status, verdict, plot)


def build_puzzles_tab(state: AppState) -> OnShow:
    """Lay out the Puzzles tab and wire its events. Returns what to refresh when the tab is shown (the 'current'
    model line: the visitor's model, the family picker's marks, the adapter pickers)."""
    visitor = state.visitor
    info = state.engine.describe()
    first = known_family(info, DEFAULT_FAMILY if DEFAULT_FAMILY in families() else next(iter(families())))
    opening = generate(first, 1, 1)
    displayed: dict[str, tuple[str, int, int]] = {}  # per session: the puzzle its panels belong to

    with gr.Row(equal_height=True):
        family = gr.Dropdown(
            family_choices(info), value=first, label="Puzzle family", scale=2, min_width=260, elem_id="family"
        )
        level = gr.Dropdown(level_choices(first), value=1, label="Level", scale=3, min_width=300, elem_id="level")
        seed = gr.Number(1, precision=0, label="Puzzle seed (-1 = random)", scale=1, elem_id="puzzle-seed")
        shuffle = gr.Button("Random seed", scale=0, min_width=140, elem_id="random-seed")
    with gr.Row():
        with gr.Column(scale=1):
            prompt = gr.HTML(prompt_html(opening), elem_id="puzzle-prompt", max_height=440)
        with gr.Column(scale=1):
            puzzle_plot = gr.Plot(figure(opening), label="The puzzle", elem_id="puzzle-plot")
            solution = gr.Checkbox(False, label="Show the solution on the drawing", elem_id="show-solution")
    with gr.Accordion("Show reference answer and solver trace", open=False):
        reference = gr.Markdown(reference_markdown(opening), elem_id="puzzle-reference")
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
    share = copy_link("puzzles")
    with gr.Row(equal_height=False, elem_id="panels"):
        panels = [_panel("A", 64, state), _panel("B", 512, state)]
    a, b = panels

    puzzle = {"family": family, "level": level, "puzzle_seed": seed}
    views = [seed, prompt, puzzle_plot, reference, solution, *[w for p in panels for w in p.cleared()]]

    def show(request: gr.Request, **values):
        """Show the puzzle the widgets name; a new one (not a repeat of the shown one) clears the panels, hides the
        solution again and stops a race on the old one."""
        session = f"{request.session_hash or 'api'}:puzzles"
        try:
            instance = make_instance(values)
        except (PuzzleConfigError, ValueError) as err:
            gr.Warning(escape_markup(err))
            return {seed: gr.skip()}
        out = {prompt: prompt_html(instance), reference: reference_markdown(instance)}
        if values["puzzle_seed"] != instance.seed:  # -1: the box shows the seed drawn
            out[seed] = instance.seed
        if displayed.get(session) == _key(instance):
            return out
        displayed[session] = _key(instance)
        state.stop(session)
        out |= {puzzle_plot: figure(instance), solution: False}
        return out | {k: v for p in panels for k, v in p.cleared().items()}

    def on_family(request: gr.Request, **values):
        levels = level_choices(values["family"])
        return {level: gr.update(choices=levels, value=levels[0][1])} | show(request, **values, level=levels[0][1])

    family.input(  # .input: a share link sets the family and its own level together
        on_family, inputs_kwargs={"family": family, "puzzle_seed": seed}, outputs=[level, *views], api_name=False
    )
    level.input(show, inputs_kwargs=puzzle, outputs=views, api_name=False)  # .input: not again after on_family
    seed.change(show, inputs_kwargs=puzzle, outputs=views, api_name=False)
    shuffle.click(lambda: random.randrange(RANDOM_SEEDS), None, seed, api_name=False, queue=False)

    def on_solution(request: gr.Request, show_solution: bool, **values):
        key = displayed.get(f"{request.session_hash or 'api'}:puzzles")
        instance = generate(*key) if key else make_instance(values)
        return figure(instance, solution=show_solution)

    solution.input(on_solution, inputs_kwargs={"show_solution": solution} | puzzle, outputs=puzzle_plot, api_name=False)

    def on_race(request: gr.Request, **values):
        session = f"{request.session_hash or 'api'}:puzzles"
        try:
            instance = make_instance(values)
            configs = [
                panel_config(p.name, {k.removeprefix(p.prefix): v for k, v in values.items() if k.startswith(p.prefix)})
                for p in panels
            ]
            for p, config in zip(panels, configs):
                state.limits.check_budgets(config.think_budget, config.answer_budget, f"Panel {p.name}: ")
        except (PuzzleConfigError, ValueError) as err:
            gr.Warning(escape_markup(err))
            yield {seed: gr.skip()}  # a dict with no key reads as one value to Gradio
            return
        stop_event = state.begin(session, enqueued_at())
        if stop_event is None:
            gr.Warning("A race is already running: press Stop first.")
            yield {seed: gr.skip()}
            return
        key = displayed[session] = _key(instance)
        try:
            yield {seed: instance.seed} | {
                w: v for p in panels for w, v in (p.cleared() | {p.verdict: RUNNING_HTML}).items()
            }
            ends: dict[str, dict] = {}
            if stop_event.is_set():  # Stop was pressed while the race waited in line
                yield {p.verdict: IDLE_HTML for p in panels}
                return
            pool = state.pool(values["visitor"])
            updates = race(pool, instance, *configs, stop=stop_event, min_interval=UPDATE_INTERVAL)
            for update in updates:
                if displayed.get(session) != key:
                    updates.close()  # another puzzle was picked: its panels are cleared, this race is over
                    return
                for note in update.notices:
                    gr.Info(escape_markup(note))
                yield _render(update, panels, configs, instance, ends) | ({seed: instance.seed} if update.done else {})
        except (ModelLoadError, ValueError, RuntimeError) as err:
            gr.Warning(escape_markup(err))
            yield {p.verdict: error_html(str(err)) for p in panels}
        finally:
            state.end(session)

    def on_stop(request: gr.Request):
        running = state.stop(f"{request.session_hash or 'api'}:puzzles")  # kept for a race waiting in line
        if not running and not waiting(request.session_hash):
            gr.Info("Nothing is running.")

    race_inputs = puzzle | {p.prefix + k: w for p in panels for k, w in p.inputs.items()} | {"visitor": visitor}
    race_outputs = [seed, *[w for p in panels for w in (p.chatbot, p.status, p.verdict, p.plot)]]
    link = share.wire(
        {"seed": seed} | race_inputs,
        follow=("level", lambda f: {"choices": level_choices(f), "value": level_choices(f)[0][1]}),
        after={"fn": show, "inputs_kwargs": puzzle, "outputs": views},  # the puzzle the link names
        later=("seed",),  # its change event shows a puzzle: only once the link's level is in place
    )
    run.click(None, js=SCROLL_TO_PANELS, api_name=False, queue=False)  # first: it runs before the race is sent
    run.click(
        on_race,
        inputs_kwargs=race_inputs,
        outputs=race_outputs,
        api_name="race",
        concurrency_limit=RACE_CONCURRENCY,  # the rest wait in line, their position shown
        concurrency_id="race",
    )
    stop.click(on_stop, None, None, api_name="stop_race", concurrency_limit=None)  # queued: its toast reaches the page

    def on_pair(**values):
        # panel A: the plain base by name; panel B: 'current' (base + adapter); the same settings and sampling seed
        same_seed = 0 if values["seed"] is None or values["seed"] < 0 else values["seed"]
        info = state.visitor_of(values["visitor"]).info
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
        inputs_kwargs={k: b.inputs[k] for k in (*SHARED, "seed")} | {"visitor": visitor},
        outputs=[*a.inputs.values(), b.inputs["model"], b.inputs["adapter"], b.inputs["seed"]],
        api_name=False,
        queue=False,
    )

    def on_show(visitor_now):
        info = state.visitor_of(visitor_now).info
        adapters = gr.update(choices=["", *find_adapters(state.runs_dir)])
        paired = gr.update(visible=info is not None and info.base_name is not None)
        return current_model_line(info), paired, adapters, adapters, gr.update(choices=family_choices(info))

    return OnShow(
        on_show, [current, pair, a.inputs["adapter"], b.inputs["adapter"], family], inputs=[visitor], link=link
    )


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
        model = f"{code_markup(panel.model)} · " if panel.model else ""
        out[widgets.status] = model + escape_markup(panel.status)
        if panel.finished and widgets.name not in ends:
            if panel.result is not None:
                stats = panel.result.stats
                ends[widgets.name] = {
                    widgets.status: f"{model}{stats.tokens_per_s:,.0f} tokens/s"
                    + (" · stopped" if stats.stopped else ""),
                    widgets.verdict: verdict_html(panel.result.verdict, stats, config.think_budget),
                    widgets.plot: gr.update(value=figure(instance, panel.result.answer), visible=True),
                }
            else:
                ends[widgets.name] = {widgets.verdict: error_html(panel.error or "no result")}
        out.update(ends.get(widgets.name, {}))
    return out
