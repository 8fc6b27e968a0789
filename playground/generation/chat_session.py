"""Chat turns as messages: maps engine events to a messages-format history with a collapsible, live-titled thought.

No Gradio and no torch import: it talks to any `Backend`. The Chat and Puzzles tabs call `stream_turn` and put what
it yields into their Chatbots, so the same code is tested without a browser. A thought is one assistant message whose
`metadata` has a title and a status ("pending" while it streams, "done" after), which Gradio renders as a collapsible
block.
"""

from __future__ import annotations

import html
import re
import threading
import time
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


# A displayed answer may be a clean rendering followed by the model's raw text in this collapsed block; the raw text
# is what the model wrote, so it is what the model sees again in the next turn.
RAW_OPEN = "<details class='raw-answer'><summary>Raw answer</summary>\n\n"
RAW_CLOSE = "\n\n</details>"
_RAW = re.compile(re.escape(RAW_OPEN) + r"(.*?)" + re.escape(RAW_CLOSE), re.DOTALL)


def with_raw(rendered: str, raw_shown: str) -> str:
    """A displayed answer: `rendered` (markdown) above the collapsed raw text `raw_shown` (already `shown`)."""
    return f"{rendered}\n\n{RAW_OPEN}{raw_shown}{RAW_CLOSE}"


def raw_text(message: Message) -> str:
    """What the model wrote for a message: the raw block of a rendered answer, else the message's text."""
    text = message_text(message)
    found = _RAW.search(text)
    return html.unescape(found.group(1) if found else text)


def history_to_messages(history: list[Message]) -> list[dict[str, str]]:
    """The conversation as the model should see it: user turns and answers, never earlier thoughts or notices."""
    out = []
    for m in history:
        if m.get("role") not in ("user", "assistant") or is_thought(m):
            continue
        text = raw_text(m)
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
    extensions: int = 0,
) -> str:
    """Live title ("Thinking… 212 / 512 tokens") or final title ("Thought for 3.2 s · 412 tokens (budget reached)",
    "… · extended 2× with Wait" after s1 insertions)."""
    if seconds is None:
        limit = f" / {budget:,}" if budget is not None else ""
        return f"Thinking… {n_tokens:,}{limit} tokens"
    note = " (budget reached)" if reached else " (stopped)" if stopped else "" if finished else " (not finished)"
    extended = f" · extended {extensions}× with Wait" if extensions else ""
    return f"Thought for {seconds:.1f} s · {n_tokens:,} tokens{extended}{note}"


def speed_line(first_token_s: float | None, n_tokens: int, elapsed_s: float) -> str:
    """Time to first token and tokens per second since it ("first token 0.4 s · 52 tokens/s"), or ""."""
    if first_token_s is None:
        return ""
    rate = n_tokens / max(elapsed_s - first_token_s, 1e-6) if n_tokens > 1 else 0.0
    return f"first token {first_token_s:.1f} s · {rate:,.0f} tokens/s"


def counted(n: int, noun: str) -> str:
    """'1 puzzle', '2 puzzles', '1,024 tokens' (nouns that take an s)."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def token_count(n: int, kind: str = "", budget: int | None = None) -> str:
    """'1 answer token', '12 answer tokens', '3 / 64 thinking tokens' (with a budget the noun counts the budget),
    '1 token'."""
    noun = f"{kind} token" if kind else "token"
    return f"{n:,} / {budget:,} {noun}s" if budget is not None else counted(n, noun)


def stats_line(stats: GenerationStats, think_budget: int | None, first_token_s: float | None = None) -> str:
    """One line of figures shown under the answer. Budget 0 says "no thinking" (nothing was reached)."""
    thinking = (
        "no thinking (budget 0)" if think_budget == 0 else token_count(stats.thinking_tokens, "thinking", think_budget)
    )
    parts = [f"{stats.seconds:.1f} s", thinking, token_count(stats.answer_tokens, "answer")]
    if first_token_s is not None:
        parts.append(f"first token {first_token_s:.1f} s")
    parts.append(f"{stats.tokens_per_s:,.0f} tokens/s")
    if stats.budget_reached and think_budget != 0:
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
    """What the UI shows after each event: the whole history, the figures line, and the notices that arrived with
    this event (each notice is in one update only)."""

    history: list[Message]
    stats: str = ""
    notices: list[str] = field(default_factory=list)
    done: GenerationStats | None = None


WAIT = "\nWait,"  # what the engine inserts in s1 extend mode (see engine.budget)


def mark_waits(thought: str, extensions: int) -> str:
    """Bold the last `extensions` "Wait," of a shown thought: the ones s1 extend inserted."""
    if not extensions:
        return thought
    parts = thought.split(WAIT)
    keep = max(len(parts) - 1 - extensions, 0)
    head = WAIT.join(parts[: keep + 1])
    return head + "".join("\n**Wait,**" + p for p in parts[keep + 1 :])


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
    budget = request.think_budget
    start = time.monotonic()
    first_token: float | None = None
    think_tokens = 0
    think_done: ThinkingDone | None = None
    for event in engine.stream(request, stop):
        now = time.monotonic() - start
        if first_token is None and isinstance(event, ThinkingDelta | AnswerDelta):
            first_token = now
        if isinstance(event, Notice):  # surfaced once, with the update that brings it
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
            think_tokens = event.n_tokens
            thought["metadata"]["title"] = thinking_title(event.n_tokens, budget)
            speed = speed_line(first_token, event.n_tokens, now)
            yield TurnUpdate(list(history), stats=" · ".join(filter(None, [thought["metadata"]["title"], speed])))
        elif isinstance(event, ThinkingDone):
            if thought is None and event.n_tokens == 0:  # no thinking at all (budget 0): no thought block
                continue
            if thought is None:
                thought = {"role": "assistant", "content": "", "metadata": {}}
                history.append(thought)
            think_done, think_tokens = event, event.n_tokens
            title = thinking_title(
                event.n_tokens,
                budget,
                event.seconds,
                event.budget_reached,
                event.finished,
                stopped=bool(stop and stop.is_set()),
            )
            # no "duration": Gradio would show it as a second time badge beside the title's
            thought["metadata"] = {"title": title, "status": "done"}
            yield TurnUpdate(list(history), stats=title)
        elif isinstance(event, AnswerDelta):
            if answer is None:
                answer = {"role": "assistant", "content": ""}
                history.append(answer)
            answer["content"] += shown(event.text.lstrip() if not answer["content"] else event.text)
            speed = speed_line(first_token, event.n_tokens + think_tokens, now)
            live = f"Answering… {event.n_tokens:,} tokens"
            yield TurnUpdate(list(history), stats=" · ".join(filter(None, [live, speed])))
        elif isinstance(event, Done):
            if thought is not None and think_done is not None and event.stats.extensions:
                thought["content"] = mark_waits(thought["content"], event.stats.extensions)
                thought["metadata"]["title"] = thinking_title(
                    think_done.n_tokens,
                    budget,
                    think_done.seconds,
                    think_done.budget_reached,
                    think_done.finished,
                    stopped=event.stats.stopped,
                    extensions=event.stats.extensions,
                )
            if answer is None and not event.stats.stopped:
                if event.stats.answer_tokens:
                    why = "its answer was empty"
                elif request.answer_budget == 0:
                    why = "the answer budget is 0"
                else:
                    why = "the model ended right after its thought"
                history.append({"role": "assistant", "content": f"*(no answer: {why})*"})
            yield TurnUpdate(
                finalize_pending(history),
                stats=stats_line(event.stats, budget, first_token),
                done=event.stats,
            )
