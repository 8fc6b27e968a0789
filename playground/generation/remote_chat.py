"""One reply over a server's /v1/chat/completions: the server renders the prompt and may enforce the thinking budget.

vLLM started with `--reasoning-parser` and a `--reasoning-config` takes a per-request `thinking_token_budget` (a hard
cut: it forces the reasoning end string) and streams the thought in each delta's `reasoning` field (older servers:
`reasoning_content`) and the answer in `content`. A server without a reasoning parser streams `<think>` tags in the
content, which `ThinkSplitter` splits. Token counts come from the server's usage figures, streamed with every chunk
(`continuous_usage_stats`); the end-of-sequence token the server counts is not an answer token.

vLLM counts the prompt's tokens after the opening tag (e.g. the newline a template writes after `<think>`) as
thinking; the playground counts generated tokens only, so the budget sent is the playground's plus that offset.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

from playground.generation.openai_client import ServerClient
from playground.generation.request import (
    AnswerDelta,
    Done,
    Event,
    GenerationRequest,
    GenerationStats,
    ThinkingDelta,
    ThinkingDone,
)
from playground.generation.thinking import ThinkSplitter


def chat_messages(request: GenerationRequest, system: str) -> list[dict[str, str]]:
    return ([{"role": "system", "content": system}] if system else []) + [
        {"role": m["role"], "content": m["content"]} for m in request.messages
    ]


def chat_reply(
    client: ServerClient,
    model: str,
    request: GenerationRequest,
    system: str,
    stop: threading.Event,
    budget_offset: int | None,
    close_tokens: int = 1,
    opened: bool = False,
    tags_in_content: bool = False,
) -> Iterator[Event]:
    """Stream one chat reply as the playground's events. `budget_offset` is None when the server takes no
    `thinking_token_budget` (then the request must not ask for a budget); `close_tokens` is the length of the close
    tag in tokens; `opened` says the template opens the thought; `tags_in_content` that the server runs no reasoning
    parser, so the content carries the think tags."""
    r = request
    body: dict = {
        "model": model,
        "messages": chat_messages(r, system),
        "temperature": r.temperature,
        "top_p": r.top_p if r.temperature > 0 else 1.0,
        "stream_options": {"include_usage": True, "continuous_usage_stats": True},
    }
    if r.temperature > 0 and r.top_k:
        body["top_k"] = r.top_k
    if r.seed is not None:
        body["seed"] = r.seed
    if r.think_budget is not None and budget_offset is not None:
        body["thinking_token_budget"] = r.think_budget + budget_offset
        if r.answer_budget is not None:  # the server stops there at the latest; the client stops at the answer budget
            body["max_tokens"] = r.think_budget + close_tokens + r.answer_budget + 1
    stats = GenerationStats(model=model)
    t0 = time.perf_counter()
    splitter = ThinkSplitter(opened) if tags_in_content else None
    think_n = answer_n = used = 0
    in_answer = False
    finish = None
    for event in client.stream("/chat/completions", body, stop):
        usage = event.get("usage") or {}
        used = int(usage.get("completion_tokens", used) or used)
        for choice in event.get("choices") or []:
            delta = choice.get("delta") or {}
            finish = choice.get("finish_reason") or finish
            reasoning = delta.get("reasoning") or delta.get("reasoning_content") or ""
            content = delta.get("content") or ""
            pieces = [("think", reasoning)] if reasoning else []
            if content:
                pieces += splitter.feed(content) if splitter else [("answer", content)]
            for kind, piece in pieces:
                if kind == "think" and not in_answer:
                    think_n = used
                    stats.thinking += piece
                    yield ThinkingDelta(piece, think_n)
                elif kind in ("think_end", "answer") and not in_answer:
                    in_answer = True
                    stats.thought_closed = bool(stats.thinking) or kind == "think_end" or r.think_budget == 0
                    stats.think_seconds = time.perf_counter() - t0 if stats.thinking else 0.0
                    stats.budget_reached = r.think_budget is not None and think_n >= r.think_budget
                    if stats.thinking or kind == "think_end" or r.think_budget == 0:
                        yield ThinkingDone(stats.think_seconds, think_n, stats.budget_reached)
                if kind == "answer" and piece:
                    closing = close_tokens if stats.thought_closed and (stats.thinking or opened) else 0
                    answer_n = max(used - think_n - closing, 0)
                    stats.answer += piece
                    yield AnswerDelta(piece, answer_n)
        if r.answer_budget is not None and in_answer and answer_n >= r.answer_budget:
            break  # leaving the stream closes it: the server stops generating
    for kind, piece in splitter.finish() if splitter else []:
        if kind == "think" and not in_answer:
            stats.thinking += piece
            yield ThinkingDelta(piece, used)
        elif kind == "answer":
            stats.answer += piece
    stats.seconds = time.perf_counter() - t0
    ended = 1 if finish == "stop" else 0  # the end-of-sequence token the server counted
    if in_answer:
        close = close_tokens if stats.thought_closed and (stats.thinking or opened) else 0
        answer_n = max(used - think_n - close - ended, 0)
    else:
        think_n = used
        if stats.thinking:
            yield ThinkingDone(stats.seconds, think_n, False, finished=False)
            stats.think_seconds = stats.seconds
    stats.thinking_tokens, stats.answer_tokens = think_n, answer_n
    stats.stopped = stop.is_set()
    stats.tokens_per_s = used / stats.seconds if stats.seconds > 0 else 0.0
    yield Done(stats)
