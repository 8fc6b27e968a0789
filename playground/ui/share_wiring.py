"""Share links on the page: a "Copy link" button on a tab, and a page opened from a link set to what it names.

The query itself is read and written by `playground.ui.share_link` (pure); this module turns it into Gradio events.
A tab calls `copy_link` where the button belongs, wires it to its widgets (`CopyLink.wire`) and hands the returned
`LinkWidgets` to the app (in its OnShow);
the app calls `link_note` above the tabs and `open_links` once every tab is built. Opening a link only fills in
settings and shows the puzzle they name: nothing runs by itself (a race or evaluation is one click away, and a class
opening one link at once would otherwise queue a run per visitor on the shared machine). Each page load reads its
own request: nothing is kept between visitors.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gradio as gr

from playground.ui.share_link import PARAMS, SharedView, link_query, read_link, split_budgets
from playground.ui.widgets import escape_markup

# what a visitor does next on the tab a link opened
NEXT_STEP = {
    "chat": "type a message and press **Send**",
    "puzzles": "press **▶ Run both** to race",
    "evaluate": "press **Run** to evaluate",
    "train": "",
}
# copies the link (the page's own address + the query the server wrote) and shows it; a page on plain http away from
# localhost has no navigator.clipboard, and a browser may refuse either way: then the box is there to copy by hand
COPY_JS = """async (query) => {
  const link = location.origin + location.pathname + query;
  let copied = false;
  try {
    if (navigator.clipboard && window.isSecureContext) { await navigator.clipboard.writeText(link); copied = true; }
  } catch (err) { copied = false; }
  if (!copied) {
    try {
      const area = document.createElement('textarea');
      area.value = link;
      area.setAttribute('readonly', '');
      area.style.cssText = 'position:fixed;top:0;left:0;opacity:0';
      document.body.appendChild(area);
      area.select();
      copied = document.execCommand('copy');
      area.remove();
    } catch (err) { copied = false; }
  }
  return [link, copied ? 'Copied to the clipboard.' : 'Select the link above and copy it.'];
}"""


@dataclass
class LinkWidgets:
    """A tab's widgets that a link sets, by the names `share_link.PARAMS` gives them, and what follows from them."""

    tab: str
    widgets: dict[str, gr.components.Component]
    # the widget whose choices depend on the family (the levels), and its update for a family
    follow: tuple[str, Callable[[str], dict]] | None = None
    # an event (`fn(request, **values)`, `inputs_kwargs`, `outputs`) that shows what a link set, e.g. its puzzle
    after: dict | None = None
    # widgets set with `after` rather than on load: their own change events then read the other widgets' new values
    later: tuple[str, ...] = ()


@dataclass
class CopyLink:
    """A tab's "Copy link" button, the box showing the link, and the line saying whether it reached the clipboard."""

    tab: str
    button: gr.Button
    box: gr.Textbox
    copied: gr.Markdown

    def wire(self, widgets: dict[str, gr.components.Component], **kwargs: Any) -> LinkWidgets:
        """Copy the link to `widgets`' values on a click. `widgets`: the tab's widgets by name (those that are no link
        setting are left out); `kwargs`: LinkWidgets' `follow` and `after`. Returns what a link opening sets."""
        names = {p.widget for p in PARAMS[self.tab]} | ({"extra_budgets"} if self.tab == "evaluate" else set())
        named = {k: w for k, w in widgets.items() if k in names}
        self.button.click(
            lambda **values: gr.update(value=link_query(self.tab, values), visible=True),
            inputs_kwargs=named,
            outputs=self.box,
            api_name=False,
            queue=False,
        ).then(None, self.box, [self.box, self.copied], js=COPY_JS, api_name=False, queue=False)
        return LinkWidgets(self.tab, named, **kwargs)


def copy_link(tab: str) -> CopyLink:
    """Lay out a tab's "Copy link" row (the link's box shows once the button is pressed); `CopyLink.wire` wires it."""
    with gr.Column(elem_classes="share-link"):
        with gr.Row():
            button = gr.Button("Copy link", size="sm", scale=0, min_width=130, elem_id=f"{tab}-copy-link")
            copied = gr.Markdown("", min_width=160, elem_id=f"{tab}-link-status", elem_classes="link-status")
        box = gr.Textbox(
            label="Link to these settings",
            visible=False,
            interactive=False,
            buttons=["copy"],
            elem_id=f"{tab}-link",
        )
    return CopyLink(tab, button, box, copied)


def link_note() -> gr.Markdown:
    """The line that says what a link left out and what to do next (hidden on a page opened without a link)."""
    return gr.Markdown("", visible=False, elem_id="link-note")


def open_links(demo: gr.Blocks, tab_set: gr.Tabs, last_tab: Any, note: gr.Markdown, links: list[LinkWidgets]) -> None:
    """On page load: open the tab the link names (else the visitor's last tab), set its widgets, show the note; then
    run the opened tab's `after` event on the values just set."""
    opened = gr.State(None)  # per page: the tab a link opened and the values it holds back (`later`)
    by_tab = {link.tab: link for link in links}
    outputs = [tab_set, last_tab, note, opened, *[w for link in links for w in link.widgets.values()]]

    def on_load(request: gr.Request, last: str | None):
        defaults = {
            tab: {"family": link.widgets["family"].value} for tab, link in by_tab.items() if "family" in link.widgets
        }
        view = read_link(dict(request.query_params), defaults)
        # the page opens on Chat: the tab changes only for a link or another last tab, so a visitor's click on a
        # tab while the page loads is not undone for nothing
        tab = view.tab or last or "chat"
        out: dict = {tab_set: gr.Tabs(selected=tab) if tab != "chat" else gr.skip(), last_tab: gr.skip()}
        out[opened] = gr.skip()
        link = by_tab.get(view.tab or "")
        if link is not None:
            updates = widget_updates(link, view)
            held = {
                name: updates.pop(link.widgets[name])["value"] for name in link.later if link.widgets[name] in updates
            }
            out |= updates | {last_tab: view.tab, opened: {"tab": view.tab, "held": held}}
        out[note] = _note(view)
        return out

    # no loading overlay over every widget a link might set: the page stays usable while it loads
    loaded = demo.load(on_load, [last_tab], outputs, api_name=False, queue=False, show_progress="hidden")
    for link in links:
        if link.after:
            loaded.then(**_only_when_opened(link, opened))


def _only_when_opened(link: LinkWidgets, opened: gr.State) -> dict:
    """`link.after` run only on a page a link opened on its tab, on the values the link set (those held back
    included), and setting the held-back widgets."""
    event = link.after or {}
    fn, inputs, outputs = event["fn"], event["inputs_kwargs"], event["outputs"]

    def run(request: gr.Request, link_opened: dict | None, **values):
        if not link_opened or link_opened["tab"] != link.tab:
            return {o: gr.skip() for o in outputs}
        held = {link.widgets[name]: value for name, value in link_opened["held"].items()}
        values |= {key: held[widget] for key, widget in inputs.items() if widget in held}
        return {widget: value for widget, value in held.items() if widget in outputs} | fn(request, **values)

    inputs = {"link_opened": opened} | inputs
    return {"api_name": False, "queue": False, "show_progress": "hidden", **event, "fn": run, "inputs_kwargs": inputs}


def widget_updates(link: LinkWidgets, view: SharedView) -> dict:
    """The updates that set `link`'s widgets to the link's values; a value its widget cannot take here (a budget
    above this app's slider) is left out and added to `view.ignored`."""
    values = dict(view.values.get(link.tab, {}))
    keys = {p.widget: p for p in PARAMS[link.tab]}
    out: dict = {}
    for name, value in list(values.items()):
        widget = link.widgets.get(name)
        if isinstance(widget, gr.Slider) and not widget.minimum <= value <= widget.maximum:
            param = keys[name]
            view.ignored.append(f"{param.key}={param.write(value)} (at most {param.write(widget.maximum)} here)")
            del values[name]
    if "budgets" in values and "extra_budgets" in link.widgets:
        offered = [choice[1] for choice in link.widgets["budgets"].choices]
        values["budgets"], values["extra_budgets"] = split_budgets(values["budgets"], offered)
    if link.follow is not None:
        name, choices = link.follow
        if "family" in values:  # the levels offered follow the family; the link's own level, if any, is picked
            out[link.widgets[name]] = gr.update(**choices(values["family"]))
        if name in values:
            out[link.widgets[name]] = gr.update(
                **{**choices(values.get("family", link.widgets["family"].value)), "value": values.pop(name)}
            )
    for name, value in values.items():
        out.setdefault(link.widgets[name], gr.update(value=value))
    return out


def _note(view: SharedView) -> Any:
    """The note's update: what the link left out and the next step, or hidden when the page opened without a link."""
    if view.tab is None and not view.ignored:
        return gr.update(value="", visible=False)
    lines = []
    if view.tab is not None:
        step = NEXT_STEP.get(view.tab, "")
        lines.append(f"Opened from a shared link{': ' + step if step else ''}.")
    if view.ignored:
        lines.append(escape_markup(view.note))
    return gr.update(value=" ".join(lines), visible=True)
