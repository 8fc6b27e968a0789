"""The Chat tab: model picker, sampling and budget controls, a Chatbot with a live collapsible thought.

Layout and wiring: turns are produced by `playground.generation.chat_session.stream_turn`, finished answers are
rendered by `answer_view`, what follows the visitor's model comes from `chat_model`; models are loaded into the
app's shared cache for this visitor only (`AppState.load`). Named API endpoints: /chat, /stop, /load_model. The input
is cleared once when a message is sent and never by a streamed update, so a draft typed during a reply survives; a
message sent while a reply streams (or waits in line) stays in the box, and a Stop pressed while the reply waits in
line stops it as soon as it starts. The conversation is kept in the browser (it survives a reload).
"""

from __future__ import annotations

import time

import gradio as gr

from playground.generation.chat_session import finalize_pending, stream_turn, user_message
from playground.generation.request import DEFAULT_WRAPUP
from playground.models.loading import QUANTS, ModelLoadError
from playground.models.presets import recommended_temperature
from playground.ui import chat_model
from playground.ui.answer_view import render_answer
from playground.ui.chat_export import export_files
from playground.ui.chat_settings import chat_request, stream_interval
from playground.ui.chat_versions import VersionNav, drop_reply, last_user_index
from playground.ui.limits import CHAT_CONCURRENCY
from playground.ui.queue_info import enqueued_at, waiting
from playground.ui.share_wiring import copy_link
from playground.ui.state import AppState, OnShow, Visitor
from playground.ui.widgets import (
    ANSWER_MAX,
    MODES,
    THINK_MAX,
    budget_slider,
    escape_markup,
    min_think_note,
    model_choice_hint,
)

BUSY = "A reply is still being generated (or waiting in line): press Stop or wait. Your message is kept in the box."
STOPPED_BEFORE_START = "Stopped before the reply started."
NOTHING_TO_REGENERATE = "Nothing to regenerate yet."
GREEDY_REPEATS = (
    "Temperature 0 is greedy decoding: the same settings give the same reply. Raise the temperature "
    "for a different one."
)


def model_banner(visitor: Visitor) -> str:
    """Markdown describing the visitor's model (and anything they must know about it, their last Load's error too)."""
    return chat_model.banner_markdown(visitor.info, visitor.notices)


def build_chat_tab(state: AppState) -> OnShow:
    """Lay out the Chat tab and wire its events. Returns what to refresh when the tab is shown (the model banner:
    another tab may have loaded an adapter for this visitor) and, on page load, the conversation kept in the browser."""
    first = state.first_visitor()
    info = first.info
    preset = info.preset if info else None
    visitor = state.visitor
    limits = state.limits
    think_max, answer_max = limits.think_budget or THINK_MAX, limits.answer_budget or ANSWER_MAX
    think_default, answer_default = chat_model.default_budgets(info)
    think_default, answer_default = min(think_default, think_max), min(answer_default, answer_max)
    prompts, labels = chat_model.examples(info)
    saved = gr.BrowserState([], storage_key="playground-chat")
    with gr.Row():
        with gr.Column(scale=3):
            banner = gr.Markdown(model_banner(first), elem_id="model-banner")
            chatbot = gr.Chatbot(
                label="Conversation",
                show_label=False,
                height=540,
                elem_id="chatbot",
                allow_tags=False,
                buttons=["copy", "copy_all"],
            )
            nav = VersionNav.build()
            stats = gr.Markdown("", elem_id="chat-stats")
            with gr.Row():
                message = gr.Textbox(
                    placeholder=chat_model.placeholder(info),
                    show_label=False,
                    scale=6,
                    lines=2,
                    max_lines=8,
                    elem_id="chat-input",
                )
                send = gr.Button("Send", variant="primary", scale=1, min_width=80, elem_id="send")
            hint = gr.Markdown(chat_model.capability_hint(info), elem_id="chat-hint")
            with gr.Row():
                stop = gr.Button("Stop", variant="stop", elem_id="stop")
                regenerate = gr.Button("Regenerate", elem_id="regenerate")
                clear = gr.Button("Clear", elem_id="clear")
            examples = gr.Examples(prompts, inputs=message, label="Examples", example_labels=labels)
            with gr.Row():
                export_md = gr.DownloadButton("Export Markdown", size="sm", elem_id="export-md", interactive=False)
                export_json = gr.DownloadButton("Export JSON", size="sm", elem_id="export-json", interactive=False)
        with gr.Column(scale=2):
            with gr.Accordion("Model", open=True):
                model_name = gr.Dropdown(
                    chat_model.picker_choices(info.name if info else None, state.offline, state.served_names()),
                    value=info.name if info else "tiny",
                    allow_custom_value=True,
                    label=f"Model ({model_choice_hint(state.demo_mode, state.served_names() is not None)})",
                    elem_id="model-picker",
                )
                quant = gr.Radio(
                    list(QUANTS),
                    value=state.quant,
                    label="Quantization (auto: 4-bit on GPU)",
                    visible=state.served_names() is None,  # a server quantizes its own models
                )
                load = gr.Button("Load", elem_id="load")
            with gr.Accordion("Thinking budget", open=True):
                effort = gr.Radio(
                    chat_model.efforts(think_max),
                    value=chat_model.effort_of(info, think_default, think_max),
                    label="Effort (sets the thinking budget below)",
                    elem_id="effort",
                )
                think_budget = budget_slider(
                    think_max,
                    think_default,
                    f"Thinking budget (tokens; 0 = no thinking, {THINK_MAX} = unlimited)"
                    if think_max == THINK_MAX
                    else f"Thinking budget (tokens; 0 = no thinking; at most {think_max:,} in this demo)",
                    elem_id="think-budget",
                )
                think_note = gr.Markdown(chat_model.budget_note(think_default, THINK_MAX), elem_id="think-note")
                mode = gr.Radio(MODES, value="hard", label="At the budget")
                wrapup = gr.Textbox(DEFAULT_WRAPUP, label="Wrap-up sentence (wrap-up mode)", lines=2)
                min_think = budget_slider(think_max, 0, "Minimum thinking (s1 extend: an earlier end becomes “Wait”)")
                answer_budget = budget_slider(
                    answer_max,
                    answer_default,
                    f"Answer budget (tokens after </think>; {ANSWER_MAX} = unlimited)"
                    if answer_max == ANSWER_MAX
                    else f"Answer budget (tokens after </think>; at most {answer_max:,} in this demo)",
                    elem_id="answer-budget",
                )
                answer_note = gr.Markdown(chat_model.budget_note(answer_default, ANSWER_MAX), elem_id="answer-note")
                share = copy_link("chat")  # the budgets and sampling settings as a link
            with gr.Accordion("Sampling", open=False):
                system = gr.Textbox(preset.system_prompt if preset else "", label="System prompt", lines=3)
                temperature = gr.Slider(
                    0,
                    2,
                    value=recommended_temperature(preset, info.name if info else None),
                    step=0.05,
                    label="Temperature (0 = greedy)",
                )
                top_p = gr.Slider(0.05, 1, value=preset.top_p if preset else 0.95, step=0.05, label="Top-p")
                top_k = gr.Slider(0, 200, value=preset.top_k if preset else 20, step=1, label="Top-k (0 = off)")
                seed = gr.Number(-1, precision=0, label="Seed (-1 = random)")

    settings = {
        "visitor": visitor,
        "history": chatbot,
        "system_prompt": system,
        "temperature": temperature,
        "top_p": top_p,
        "top_k": top_k,
        "seed": seed,
        "think_budget": think_budget,
        "budget_mode": mode,
        "min_think": min_think,
        "wrapup_text": wrapup,
        "answer_budget": answer_budget,
    }

    def stream_reply(history: list, values: dict, stop_event):
        """Stream the reply to the last user message of `history` as (chatbot, stats) pairs, on the visitor's model
        (loaded again if the shared cache freed it meanwhile)."""
        visitor_now = state.visitor_of(values["visitor"])
        try:
            req = chat_request(values, limits)
            if note := min_think_note(values):
                gr.Info(note)
            if stop_event.is_set():  # Stop was pressed while the message waited in line
                yield finalize_pending(history), STOPPED_BEFORE_START
                return
            reloading = state.cache.peek(visitor_now.key) is None
            pending = f"Loading {escape_markup(visitor_now.name)} again…" if reloading else "Waiting for the model…"
            yield history, pending
            last, interval = 0.0, 0.0
            with state.backend(visitor_now) as engine:
                for update in stream_turn(engine, history, req, stop_event):
                    for note in update.notices:
                        gr.Info(escape_markup(note))
                    if update.done is not None:
                        yield render_answer(update.history), update.stats
                    elif update.notices or time.monotonic() - last >= interval:
                        last = time.monotonic()
                        interval = stream_interval(update.history, state.generating())
                        yield update.history, update.stats
        except (ValueError, RuntimeError) as err:
            gr.Warning(escape_markup(err))
            yield finalize_pending(history), f"⚠️ {escape_markup(err)}"

    def begin(request: gr.Request):
        """This session's stop event for a reply, or None (with a toast) when one is already running or in line."""
        stop_event = state.begin(request.session_hash or "api", enqueued_at())
        if stop_event is None:
            gr.Warning(BUSY)
        return stop_event

    def respond(request: gr.Request, **values):
        text = values["message"]
        if not (text or "").strip():
            gr.Warning("The prompt is empty: type a question first.")
            yield gr.skip(), gr.skip(), gr.skip()
            return
        stop_event = begin(request)
        if stop_event is None:  # refused before the box is cleared: nothing typed is lost
            yield gr.skip(), gr.skip(), gr.skip()
            return
        try:
            history = [*finalize_pending(values["history"] or []), user_message(text)]
            cleared = False
            for chat, figures in stream_reply(history, values, stop_event):
                # the box is cleared once, when the question joins the chat; streamed updates never touch it again
                clear_box = not cleared and isinstance(chat, list)
                cleared = cleared or clear_box
                yield chat, "" if clear_box else gr.skip(), figures
        finally:
            state.end(request.session_hash or "api")

    def on_regenerate(request: gr.Request, **values):
        history = drop_reply(finalize_pending(values["history"] or []))
        if last_user_index(history) is None:
            gr.Warning(NOTHING_TO_REGENERATE)
            yield gr.skip(), NOTHING_TO_REGENERATE
            return
        if float(values["temperature"]) == 0:
            gr.Info(GREEDY_REPEATS)
        stop_event = begin(request)
        if stop_event is None:
            yield gr.skip(), gr.skip()
            return
        try:
            yield from stream_reply(history, values, stop_event)
        finally:
            state.end(request.session_hash or "api")

    def on_stop(history: list, request: gr.Request):
        running = state.stop(request.session_hash or "api")  # kept for a reply still waiting in line
        if not running and not waiting(request.session_hash):
            gr.Info("Nothing is running.")
            return finalize_pending(history or []), "Nothing is running."
        gr.Info("Stopping…")  # a toast: writing to the figures line could overwrite the final one (a race)
        return gr.skip(), gr.skip()

    def after_turn(history: list, visitor_now: Visitor | None):
        """Keep the conversation in the browser and offer it for download."""
        files = export_files(history or [], state.visitor_of(visitor_now).name)
        md, js = files if files else (None, None)
        return (
            history,
            gr.DownloadButton(value=md, interactive=bool(md)),
            gr.DownloadButton(value=js, interactive=bool(js)),
        )

    def on_load(progress=gr.Progress(), **values):
        before = state.visitor_of(values["visitor"])
        name = values["model"]
        progress(0.1, desc=f"Loading {name}…")
        try:
            now = state.load(before, name, values["quant"])
        except (ModelLoadError, ValueError, RuntimeError) as err:
            gr.Warning(escape_markup(err))
            failed = state.failed(before, err)  # the same model as before, the error in this visitor's banner only
            return {visitor: failed, banner: model_banner(failed), **follow_model(failed)}
        progress(1.0)
        for note in now.info.notices if now.info else []:  # e.g. an untrained placeholder
            gr.Warning(escape_markup(note))
        p = now.info.preset if now.info else None
        out = {visitor: now, banner: model_banner(now), **follow_model(now, budgets=True)}
        if p is None:
            return {**out, system: ""}
        return {**out, system: p.system_prompt, temperature: p.temperature, top_p: p.top_p, top_k: p.top_k}

    def follow_model(visitor_now: Visitor, budgets: bool = False) -> dict:
        """What follows the visitor's model: the picker (back on it after a failed Load), examples, hint,
        placeholder, and with `budgets` the budget defaults and effort."""
        info = visitor_now.info
        prompts, labels = chat_model.examples(info)
        out = {
            model_name: gr.Dropdown(
                choices=chat_model.picker_choices(info.name if info else None, state.offline, state.served_names()),
                value=info.name if info else None,
            ),
            examples.dataset: gr.Dataset(samples=prompts, sample_labels=labels),
            hint: chat_model.capability_hint(info),
            message: gr.Textbox(placeholder=chat_model.placeholder(info)),
        }
        if budgets:
            think, answer = chat_model.default_budgets(info)
            think, answer = min(think, think_max), min(answer, answer_max)
            out |= {think_budget: think, answer_budget: answer, effort: chat_model.effort_of(info, think, think_max)}
        return out

    turn = {"message": message, **settings}
    outputs = [chatbot, message, stats]
    save = {
        "fn": after_turn,
        "inputs": [chatbot, visitor],
        "outputs": [saved, export_md, export_json],
        "api_name": False,
    }
    # the page's Enter clicks Send (chat_keys); submit is Gradio's own key, kept for a page without the script
    # replies of all visitors share one line: at most CHAT_CONCURRENCY generate at once, the others wait with their
    # position shown in the chat
    queued = {"concurrency_limit": CHAT_CONCURRENCY, "concurrency_id": "chat"}
    for trigger, api_name in ((send.click, "chat"), (message.submit, False)):
        # "multiple": a Send during a reply reaches the server, which says why it is refused (Gradio's default
        # "once" drops the click silently)
        trigger(
            respond,
            inputs_kwargs=turn,
            outputs=outputs,
            api_name=api_name,
            **queued,
            trigger_mode="multiple",
            show_progress_on=[chatbot],  # never over the input: it stays usable while the reply streams
        ).then(**save).then(**nav.record(chatbot, state.is_busy))
    regenerate.click(
        on_regenerate,
        inputs_kwargs=settings,
        outputs=[chatbot, stats],
        api_name=False,
        **queued,
        trigger_mode="multiple",
        show_progress_on=[chatbot],
    ).then(**save).then(**nav.record(chatbot, state.is_busy))
    # queued (so its toasts reach the page) but never waiting in line behind a reply
    stop.click(on_stop, [chatbot], [chatbot, stats], api_name="stop", concurrency_limit=None, trigger_mode="multiple")
    clear.click(lambda: ([], "", ""), None, [chatbot, message, stats], api_name=False, queue=False).then(**save).then(
        **nav.record(chatbot, state.is_busy)
    )
    nav.wire(chatbot, save)
    effort.input(
        lambda e, v: chat_model.effort_budgets(state.visitor_of(v).info, think_max)[e],
        [effort, visitor],
        think_budget,
        api_name=False,
        queue=False,
    )
    think_budget.change(
        lambda b, v: (
            chat_model.budget_note(b, THINK_MAX),
            chat_model.effort_of(state.visitor_of(v).info, b, think_max),
        ),
        [think_budget, visitor],
        [think_note, effort],
        api_name=False,
        queue=False,
    )
    answer_budget.change(
        lambda v: chat_model.budget_note(v, ANSWER_MAX), answer_budget, answer_note, api_name=False, queue=False
    )
    load.click(
        on_load,
        inputs_kwargs={"visitor": visitor, "model": model_name, "quant": quant},
        outputs=[
            visitor,
            banner,
            system,
            temperature,
            top_p,
            top_k,
            model_name,
            examples.dataset,
            hint,
            message,
            think_budget,
            answer_budget,
            effort,
        ],
        api_name="load_model",
    )

    def restore(history: list, visitor_now: Visitor | None):
        return (history or []), *after_turn(history or [], visitor_now)[1:]

    return OnShow(
        lambda v: model_banner(state.visitor_of(v)),
        [banner],
        on_load=[{"fn": restore, "inputs": [saved, visitor], "outputs": [chatbot, export_md, export_json]}],
        inputs=[visitor],
        link=share.wire(settings),
    )
