"""Regenerate keeps versions: every reply to the last question stays reachable with ‹ 1 / 2 › under the chat.

The versions live in the session (a gr.State): the replies (thoughts and answers) given to the last question. A new
question starts a new list; Regenerate adds to it; the arrows swap the reply shown.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gradio as gr

from playground.generation.chat_session import Message


def last_user_index(history: list[Message]) -> int | None:
    """Where the last user message is, or None."""
    return next((i for i in range(len(history) - 1, -1, -1) if history[i].get("role") == "user"), None)


def drop_reply(history: list[Message]) -> list[Message]:
    """The history without the reply after its last user message (what Regenerate answers again)."""
    index = last_user_index(history)
    return list(history) if index is None else list(history[: index + 1])


def record_version(history: list[Message], versions: dict[str, Any] | None) -> dict[str, Any]:
    """The versions after a reply to the last question finished: a new question starts a new list."""
    history = history or []
    index = last_user_index(history)
    if index is None:
        return {}
    question, tail = history[: index + 1], history[index + 1 :]
    versions = dict(versions or {})
    if versions.get("question") != question:
        return {"question": question, "replies": [tail] if tail else [], "shown": 0}
    replies = list(versions.get("replies", []))
    if tail and tail not in replies:
        replies.append(tail)
    shown = replies.index(tail) if tail in replies else versions.get("shown", 0)
    return {**versions, "replies": replies, "shown": shown}


def nav_label(versions: dict[str, Any] | None) -> str:
    replies = (versions or {}).get("replies", [])
    return f"Reply {versions['shown'] + 1} / {len(replies)}" if len(replies) > 1 else ""


@dataclass
class VersionNav:
    """The ‹ n / m › row and the versions it walks through."""

    versions: gr.State
    row: gr.Row
    prev: gr.Button
    label: gr.Markdown
    next: gr.Button

    @classmethod
    def build(cls) -> VersionNav:
        versions = gr.State({})
        with gr.Row(visible=False, elem_id="reply-versions") as row:
            prev = gr.Button("‹", size="sm", min_width=40, scale=0, elem_id="reply-prev")
            label = gr.Markdown("", elem_id="reply-version")
            nxt = gr.Button("›", size="sm", min_width=40, scale=0, elem_id="reply-next")
        return cls(versions, row, prev, label, nxt)

    def _show(self, versions: dict[str, Any]) -> tuple:
        text = nav_label(versions)
        return versions, gr.Row(visible=bool(text)), text

    def record(self, chatbot: gr.Chatbot, busy: Callable[[str], bool]) -> dict[str, Any]:
        """A `.then(**nav.record(chatbot, busy))` step: record the finished reply and update the row. Nothing is
        recorded while `busy(session)`: a Send refused during a reply ends its own event while the reply streams."""

        def record(history: list[Message], versions: dict[str, Any] | None, request: gr.Request):
            if busy(request.session_hash or "api"):
                return gr.skip(), gr.skip(), gr.skip()
            return self._show(record_version(history, versions))

        return {
            "fn": record,
            "inputs": [chatbot, self.versions],
            "outputs": [self.versions, self.row, self.label],
            "api_name": False,
            "queue": False,
        }

    def wire(self, chatbot: gr.Chatbot, save: dict[str, Any]) -> None:
        """The arrows swap the reply shown (then `save` keeps the conversation)."""

        def step(history: list[Message], versions: dict[str, Any], delta: int):
            replies = (versions or {}).get("replies", [])
            if len(replies) < 2 or (versions or {}).get("question") != (history or [])[: len(versions["question"])]:
                return gr.skip(), versions, nav_label(versions)
            shown = (versions["shown"] + delta) % len(replies)
            versions = {**versions, "shown": shown}
            return [*versions["question"], *replies[shown]], versions, nav_label(versions)

        for button, delta in ((self.prev, -1), (self.next, 1)):
            button.click(
                lambda h, v, d=delta: step(h, v, d),
                [chatbot, self.versions],
                [chatbot, self.versions, self.label],
                api_name=False,
                queue=False,
            ).then(**save)
