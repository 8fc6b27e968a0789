"""Chat turns as messages: maps engine events to a messages-format history with a collapsible, live-titled thought.

No Gradio and no torch import: it talks to any `Backend`. The Chat and Puzzles tabs call `stream_turn` and put what
it yields into their Chatbots, so the same code is tested without a browser. A thought is one assistant message whose
`metadata` has a title and a status ("pending" while it streams, "done" after), which Gradio renders as a collapsible
block.
"""

from __future__ import annotations

import html
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from playground.generation.backend import Backend
from playground.generation.request import (
    AnswerDelta,
    Done,
    GenerationRequest,
    GenerationStats,
    Notice,
    ThinkingDelta,
    ThinkingDone,
)

Message = dict[str, Any]


def message_text(message: Message) -> str:
    """The plain text of a message whose content is a string or a list of {"type": "text", "text": ...} parts."""
    content = message.get("content", "")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type", "text") == "text")
    return str(content or "")


def shown(text: str) -> str:
    """Text as a Chatbot message: `<` and `>` escaped, so tags such as <final_answer> stay visible instead of being
    swallowed as HTML. `history_to_messages` undoes it, so the model always sees the raw text."""
    return html.escape(text, quote=False)


def user_message(text: str) -> Message:
    """A user turn for a Chatbot history."""
    return {"role": "user", "content": shown(text)}


def is_thought(message: Message) -> bool:
    meta = message.get("metadata") or {}
    return bool(meta.get("title"))


def history_to_messages(history: list[Message]) -> list[dict[str, str]]:
    """The conversation as the model should see it: user turns and answers, never earlier thoughts or notices."""
    out = []
    for m in history:
        if m.get("role") not in ("user", "assistant") or is_thought(m):
            continue
        text = html.unescape(message_text(m))
        if text.strip():
            out.append({"role": m["role"], "content": text})
    return out


def thinking_title(
    n_tokens: int,
    budget: int | None,
    seconds: float | None = None,
    reached: bool = False,
    finished: bool = True,
    stopped: bool = False,
) -> str:
    """Live title ("Thinking… 212 / 512 tokens") or final title ("Thought for 3.2 s · 412 tokens (budget reached)")."""
    if seconds is None:
        limit = f" / {budget:,}" if budget is not None else ""
        return f"Thinking… {n_tokens:,}{limit} tokens"
    note = " (budget reached)" if reached else " (stopped)" if stopped else "" if finished else " (not finished)"
    return f"Thought for {seconds:.1f} s · {n_tokens:,} tokens{note}"


def stats_line(stats: GenerationStats, think_budget: int | None) -> str:
    """One line of figures shown under the answer."""
    budget = f" / {think_budget:,}" if think_budget is not None else ""
    parts = [
        f"{stats.seconds:.1f} s",
        f"{stats.thinking_tokens:,}{budget} thinking tokens",
        f"{stats.answer_tokens:,} answer tokens",
        f"{stats.tokens_per_s:,.0f} tokens/s",
    ]
    if stats.budget_reached:
        parts.append("thinking budget reached")
    if stats.extensions:
        parts.append(f"extended {stats.extensions}× with “Wait”")
    if stats.stopped:
        parts.append("stopped")
    return " · ".join(parts)


def finalize_pending(history: list[Message]) -> list[Message]:
    """Rewrite any still-pending thought as done (after a cancel nothing else would)."""
    out = []
    for m in history:
        meta = m.get("metadata") or {}
        if meta.get("status") == "pending":
            title = str(meta.get("title", "Thought")).replace("Thinking…", "Thought (stopped) ·")
            m = {**m, "metadata": {**meta, "status": "done", "title": title}}
        out.append(m)
    return out


@dataclass
class TurnUpdate:
    """What the UI shows after each event: the whole history, the figures line, and notices to surface."""

    history: list[Message]
    stats: str = ""
    notices: list[str] = field(default_factory=list)
    done: GenerationStats | None = None


def stream_turn(
    engine: Backend, history: list[Message], request: GenerationRequest, stop: threading.Event | None = None
) -> Iterator[TurnUpdate]:
    """Generate the assistant's reply to the last user message of `history`, yielding the updated history.

    `request.messages` is ignored: the prompt is rebuilt from `history` (thoughts left out).
    """
    history = list(history)
    request = replace(request, messages=history_to_messages(history))
    thought: Message | None = None
    answer: Message | None = None
    notices: list[str] = []
    budget = request.think_budget
    for event in engine.stream(request, stop):
        if isinstance(event, Notice):
            notices.append(event.text)
            # a titled message is shown but never fed back into the prompt
            history.append(
                {"role": "assistant", "content": "", "metadata": {"title": f"⚠️ {event.text}", "status": "done"}}
            )
            yield TurnUpdate(list(history), notices=[event.text])
        elif isinstance(event, ThinkingDelta):
            if thought is None:
                thought = {"role": "assistant", "content": "", "metadata": {"title": "", "status": "pending"}}
                history.append(thought)
            thought["content"] += shown(event.text)
            thought["metadata"]["title"] = thinking_title(event.n_tokens, budget)
            yield TurnUpdate(list(history), stats=thought["metadata"]["title"])
        elif isinstance(event, ThinkingDone):
            if thought is None:  # the thought was empty (e.g. budget 0 on an R1-style template)
                thought = {"role": "assistant", "content": "", "metadata": {}}
                history.append(thought)
            title = thinking_title(
                event.n_tokens,
                budget,
                event.seconds,
                event.budget_reached,
                event.finished,
                stopped=bool(stop and stop.is_set()),
            )
            thought["metadata"] = {"title": title, "status": "done", "duration": round(event.seconds, 2)}
            yield TurnUpdate(list(history), stats=title)
        elif isinstance(event, AnswerDelta):
            if answer is None:
                answer = {"role": "assistant", "content": ""}
                history.append(answer)
            answer["content"] += shown(event.text.lstrip() if not answer["content"] else event.text)
            yield TurnUpdate(list(history), stats=f"Answering… {event.n_tokens:,} tokens")
        elif isinstance(event, Done):
            if answer is None and not event.stats.stopped:
                why = "its answer was empty" if event.stats.answer_tokens else "it did not answer within its budgets"
                history.append({"role": "assistant", "content": f"*(no answer: {why})*"})
            yield TurnUpdate(
                finalize_pending(history), stats=stats_line(event.stats, budget), notices=notices, done=event.stats
            )
