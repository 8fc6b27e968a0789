"""The Evaluate tab: N samples × M puzzles of a family swept over thinking budgets, with the paper's statistics.

Layout and wiring only: the run is `playground.evaluation.run.Evaluation` on the visitor's model (whatever they loaded
in the Chat tab, from the app's shared cache), within the app's limits; the figures come from `playground.ui.charts`.
The table and charts refresh after every batch; Stop ends the run at the next token and keeps what was complete (a
Stop while the run waits in line means it never starts). The family picker marks families the visitor's model was
not trained on. Named API endpoints: /evaluate, /stop_evaluate.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from playground.evaluation.run import EvalConfig, EvalResult, Evaluation, summary_frame
from playground.generation.budgets import budget_label, parse_budgets, slider_budget
from playground.generation.chat_session import counted
from playground.puzzles import families, get_family
from playground.ui import charts
from playground.ui.limits import EVAL_CONCURRENCY, FULL, Limits
from playground.ui.puzzle_views import family_choices, known_family
from playground.ui.queue_info import enqueued_at, waiting
from playground.ui.share_wiring import copy_link
from playground.ui.state import AppState, OnShow
from playground.ui.train_grpo import TRAIN_ON_FAILURES_JS
from playground.ui.widgets import ANSWER_MAX, MODES, budget_slider, escape_markup

BUDGET_CHOICES = [("0 (no thinking)", "0"), *((str(b), str(b)) for b in (64, 128, 256, 512, 1024, 2048))]
BUDGET_CHOICES.append(("unlimited", "unlimited"))


def _within(budget: str, cap: int | None) -> bool:
    """Whether a budget choice ('unlimited' or a number) is allowed under the cap (None: no cap)."""
    return cap is None or (budget != "unlimited" and int(budget) <= cap)


def _level_choices(family: str) -> dict:
    """CheckboxGroup settings for a family's levels (descriptions in the info line)."""
    fam = get_family(family)
    levels = sorted(fam.levels)
    info = " · ".join(f"{lv}: {fam.levels[lv]}" for lv in levels)
    return {"choices": [(str(lv), lv) for lv in levels], "value": [fam.default_level], "info": info}


def eval_config(values: dict[str, Any], limits: Limits | None = None) -> EvalConfig:
    """The form's values (keyed by EvalConfig field, plus `extra_budgets` typed by hand) → a validated config within
    `limits`; budgets ascending, unlimited last. ValueError with a message for the user."""
    budgets = parse_budgets(",".join([*(values["budgets"] or []), values["extra_budgets"] or ""]))
    budgets.sort(key=lambda b: (b is None, b or 0))
    config = EvalConfig(
        family=values["family"],
        levels=sorted(int(lv) for lv in values["levels"] or []),
        puzzles=int(values["puzzles"]),
        samples=int(values["samples"]),
        budgets=budgets,
        temperature=float(values["temperature"]),
        seed=int(values["seed"] or 0),
        first_seed=int(values["first_seed"] or 0),
        budget_mode=values["budget_mode"],
        answer_budget=slider_budget(values["answer_budget"], ANSWER_MAX),
    )
    limits = limits or FULL
    config.validate(limits.evaluation)
    limits.check_evaluation(config)
    return config


def _outputs(result: EvalResult, budgets: list[int | None], status: str):
    """(status, table, budget chart, accuracy-vs-N chart, token histogram) for a result so far."""
    sweep = result.sweep
    last = sweep.get(budget_label(budgets[-1])) or (list(sweep.values())[-1] if sweep else None)
    vs_n = charts.samples_curve(
        last["vs_n"] if last else {},
        last["pass1"]["mean"] if last else None,
        title=f"Accuracy vs N (budget {budget_label(last['budget'])})" if last else "",
    )
    table = result.frame(compact=True)
    return status, table, charts.budget_curve(sweep), vs_n, charts.token_histogram(result.records)


def build_evaluate_tab(state: AppState) -> OnShow:
    """Lay out the Evaluate tab and wire Run and Stop. Returns what to refresh when the tab is shown (the family
    picker's marks: the model can change)."""
    info = state.engine.describe()
    limits = state.limits
    visitor = state.visitor
    first = known_family(info, next(iter(families())))
    form: dict[str, gr.components.Component] = {}
    with gr.Row():
        with gr.Column(scale=1, min_width=300):
            form["family"] = gr.Dropdown(
                family_choices(info), value=first, label="Puzzle family", elem_id="eval-family"
            )
            form["levels"] = gr.CheckboxGroup(label="Levels", elem_id="eval-levels", **_level_choices(first))
            form["puzzles"] = gr.Slider(
                1,
                limits.eval_puzzles,
                value=min(10, limits.eval_puzzles),
                step=1,
                label=f"Puzzles per level (M; at most {limits.eval_puzzles})",
                elem_id="eval-puzzles",
            )
            form["samples"] = gr.Slider(
                1,
                limits.eval_samples,
                value=min(4, limits.eval_samples),
                step=1,
                label=f"Samples per puzzle (N; at most {limits.eval_samples})",
                elem_id="eval-samples",
            )
            form["budgets"] = gr.CheckboxGroup(
                [c for c in BUDGET_CHOICES if _within(c[1], limits.think_budget)],
                value=["0", "128", "512"],
                label="Thinking budgets (tokens)"
                if not limits.demo
                else f"Thinking budgets (tokens; at most {limits.evaluation.budgets} per run)",
                elem_id="eval-budgets",
            )
            form["temperature"] = gr.Slider(
                0,
                2,
                value=0.8,
                step=0.05,
                label="Temperature (0 = greedy: samples identical)",
                elem_id="eval-temperature",
            )
            form["seed"] = gr.Number(0, precision=0, label="Seed (the same seed repeats the run)", elem_id="eval-seed")
            with gr.Row():
                run = gr.Button("Run", variant="primary", elem_id="eval-run")
                stop = gr.Button("Stop", variant="stop", elem_id="eval-stop")
            share = copy_link("evaluate")
            with gr.Accordion("More settings", open=False):
                form["extra_budgets"] = gr.Textbox(
                    label="Other budgets (comma-separated, e.g. 32,96)", elem_id="eval-extra"
                )
                form["budget_mode"] = gr.Radio(MODES, value="hard", label="At the budget")
                answer_max = limits.answer_budget or ANSWER_MAX
                form["answer_budget"] = budget_slider(
                    answer_max,
                    min(512, answer_max),
                    f"Answer budget ({ANSWER_MAX} = unlimited)"
                    if answer_max == ANSWER_MAX
                    else f"Answer budget (at most {answer_max:,} here)",
                    elem_id="eval-answer",
                )
                form["first_seed"] = gr.Number(0, precision=0, label="First puzzle seed")
        with gr.Column(scale=3):
            status = gr.Markdown("Pick puzzles and budgets, then **Run**.", elem_id="eval-status")
            table = gr.DataFrame(
                summary_frame([], compact=True),
                label="Summary (rates in %; tokens per response, mean ± std)",
                elem_id="eval-table",
                interactive=False,
            )
            with gr.Row():  # side by side on a wide screen, one below the other on a phone
                budget_plot = gr.Plot(
                    charts.empty_figure("Run an evaluation"),
                    elem_id="eval-budget-plot",
                    show_label=False,
                    min_width=340,
                )
                n_plot = gr.Plot(
                    charts.empty_figure("Run an evaluation"), elem_id="eval-n-plot", show_label=False, min_width=340
                )
            hist_plot = gr.Plot(charts.empty_figure("Run an evaluation"), elem_id="eval-hist-plot", show_label=False)
            csv_file = gr.File(label="Summary CSV", elem_id="eval-csv", interactive=False)
            train_failures = gr.Button(
                "Train on these failures", size="sm", elem_id="eval-train-failures", visible=not state.demo_mode
            )
            train_failures.click(None, js=TRAIN_ON_FAILURES_JS)  # opens the Train tab set to GRPO on failures

    def on_run(request: gr.Request, progress=gr.Progress(), **values):
        session = f"{request.session_hash or 'api'}:evaluate"
        try:
            config = eval_config(values, limits)
        except ValueError as err:
            gr.Warning(escape_markup(err))
            yield f"⚠️ {escape_markup(err)}", gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
            return
        stop_event = state.begin(session, enqueued_at())
        if stop_event is None:
            gr.Warning("An evaluation is already running in this session: press Stop first.")
            yield gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
            return
        if stop_event.is_set():  # Stop was pressed while the run waited in line
            state.end(session)
            yield "Stopped before the run started.", gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
            return
        try:
            with state.backend(values["visitor"]) as engine:
                yield from _run(engine, config, stop_event, progress)
        except (ValueError, RuntimeError) as err:
            gr.Warning(escape_markup(err))
            yield f"⚠️ {escape_markup(err)}", gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
        finally:
            state.end(session)

    def _run(engine, config: EvalConfig, stop_event, progress):
        """The run's page updates (status, table, three charts, CSV) as its batches complete."""
        ev = Evaluation(engine, config, runs_dir=state.runs_dir, stop=stop_event, limits=limits.evaluation)
        info = engine.describe()
        name = escape_markup(info.name if info else "?")
        head = f"**{name}** on {config.family} level {', '.join(map(str, config.levels))}: "
        sizes = ((config.puzzles, "puzzle"), (config.samples, "sample"), (len(config.budgets), "budget"))
        head += " × ".join(counted(n, noun) for n, noun in sizes)
        progress(0, desc="starting")
        yield head + " — starting…", summary_frame([], compact=True), gr.skip(), gr.skip(), gr.skip(), None
        for message in ev.steps():
            progress(ev.done / ev.total, desc=message)
            yield _outputs(ev.result(), config.budgets, f"{head} — {message} ({ev.done}/{ev.total})") + (gr.skip(),)
        result = ev.result()
        verb = "Stopped" if result.stopped else "Done"
        where = f"{verb} in {result.seconds:.1f} s. {ev.saved_message()}"
        csv_path = str(ev.csv_path) if ev.out_dir is not None and result.records else None
        yield _outputs(result, config.budgets, f"{head}\n\n{where}") + (csv_path,)

    def on_stop(request: gr.Request):
        running = state.stop(f"{request.session_hash or 'api'}:evaluate")  # kept for a run waiting in line
        if running or waiting(request.session_hash):
            # a toast, not the status line: the run's own "Stopped in …" may already have arrived there
            gr.Info("Stopping after the current token…")
            return gr.skip()
        return "Nothing is running."

    form["family"].input(  # .input: a share link sets the family and its own levels together
        lambda f: gr.update(**_level_choices(f)), form["family"], form["levels"], api_name=False, queue=False
    )
    link = share.wire(form, follow=("levels", _level_choices))
    outputs = [status, table, budget_plot, n_plot, hist_plot, csv_file]
    run.click(
        on_run,
        inputs_kwargs=form | {"visitor": visitor},
        outputs=outputs,
        api_name="evaluate",
        concurrency_limit=EVAL_CONCURRENCY,  # the rest wait in line, their position shown on the status line
        concurrency_id="evaluate",
        show_progress_on=[status],
    )
    # queued (with no limit, so it never waits behind the run): a toast from an unqueued event never reaches the page
    stop.click(on_stop, None, status, api_name="stop_evaluate", concurrency_limit=None)

    def on_show(visitor_now):
        return gr.update(choices=family_choices(state.visitor_of(visitor_now).info))

    return OnShow(on_show, [form["family"]], inputs=[visitor], link=link)
