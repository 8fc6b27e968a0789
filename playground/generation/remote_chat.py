"""One reply over a server's /v1/chat/completions: the server renders the prompt and may enforce the thinking budget.

vLLM started with `--reasoning-parser` and a `--reasoning-config` takes a per-request `thinking_token_budget` (a hard
cut: it forces the reasoning end string) and streams the thought in each delta's `reasoning` field (older servers:
`reasoning_content`) and the answer in `content`. A server without a reasoning parser streams `<think>` tags in the
content, which `ThinkSplitter` splits.

Token counts are the server's. A server that returns the generated token ids (vLLM's `return_token_ids`) gets exact
counts from them: the thought ends where the close tag's ids are. Otherwise they come from the usage figures streamed
with every chunk (`continuous_usage_stats`), which are exact only while each chunk carries one token (a busy server
sends several at once). The end-of-sequence token the server counts is not an answer token.

vLLM counts the prompt's tokens after the opening tag (e.g. the newline a template writes after `<think>`) as
thinking; the playground counts generated tokens only, so the budget sent is the playground's plus that offset.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

from playground.generation.openai_client import ServerClient
from playground.generation.remote_probe import Capabilities
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
    caps: Capabilities,
) -> Iterator[Event]:
    """Stream one chat reply as the playground's events, with what the server offers (`caps`): a thinking budget is
    sent only to a server that takes one, the think tags are split from the content when no reasoning parser runs."""
    r = request
    body: dict = {
        "model": model,
        "messages": chat_messages(r, system),
        "temperature": r.temperature,
        "top_p": r.top_p if r.temperature > 0 else 1.0,
        "stream_options": {"include_usage": True, "continuous_usage_stats": True},
    }
    if caps.token_ids:
        body["return_token_ids"] = True
    if r.temperature > 0 and r.top_k:
        body["top_k"] = r.top_k
    if r.seed is not None:
        body["seed"] = r.seed
    if r.think_budget is not None and caps.thinking_budget:
        body["thinking_token_budget"] = r.think_budget + caps.budget_offset
        if r.answer_budget is not None:  # the server stops there at the latest; the client stops at the answer budget
            body["max_tokens"] = r.think_budget + caps.close_tokens + r.answer_budget + 1
    stats = GenerationStats(model=model)
    t0 = time.perf_counter()
    splitter = None if caps.reasoning_field else ThinkSplitter(caps.opened)
    count = _Counts(caps)
    in_answer = False
    finish = None
    for event in client.stream("/chat/completions", body, stop):
        count.usage(event.get("usage"))
        for choice in event.get("choices") or []:
            count.add(choice.get("token_ids"))
            delta = choice.get("delta") or {}
            finish = choice.get("finish_reason") or finish
            reasoning = delta.get("reasoning") or delta.get("reasoning_content") or ""
            content = delta.get("content") or ""
            pieces = [("think", reasoning)] if reasoning else []
            if content:
                pieces += splitter.feed(content) if splitter else [("answer", content)]
            for kind, piece in pieces:
                if kind == "think" and not in_answer:
                    stats.thinking += piece
                    yield ThinkingDelta(piece, count.thinking(in_answer=False))
                elif kind in ("think_end", "answer") and not in_answer:
                    in_answer = True
                    stats.thought_closed = bool(stats.thinking) or kind == "think_end" or r.think_budget == 0
                    stats.think_seconds = time.perf_counter() - t0 if stats.thinking else 0.0
                    think_n = count.thinking(in_answer=True)
                    stats.budget_reached = r.think_budget is not None and think_n >= r.think_budget
                    if stats.thinking or kind == "think_end" or r.think_budget == 0:
                        yield ThinkingDone(stats.think_seconds, think_n, stats.budget_reached)
                if kind == "answer" and piece:
                    stats.answer += piece
                    yield AnswerDelta(piece, count.answer(stats))
        if r.answer_budget is not None and in_answer and count.answer(stats) >= r.answer_budget:
            break  # leaving the stream closes it: the server stops generating
    for kind, piece in splitter.finish() if splitter else []:
        if kind == "think" and not in_answer:
            stats.thinking += piece
            yield ThinkingDelta(piece, count.thinking(in_answer=False))
        elif kind == "answer":
            stats.answer += piece
    stats.seconds = time.perf_counter() - t0
    ended = 1 if finish == "stop" else 0  # the end-of-sequence token the server counted
    if in_answer:
        think_n, answer_n = count.thinking(in_answer=True), max(count.answer(stats) - ended, 0)
    else:
        think_n, answer_n = count.thinking(in_answer=False), 0
        if stats.thinking:
            yield ThinkingDone(stats.seconds, think_n, False, finished=False)
            stats.think_seconds = stats.seconds
    stats.thinking_tokens, stats.answer_tokens = think_n, answer_n
    stats.stopped = stop.is_set()
    stats.tokens_per_s = count.used / stats.seconds if stats.seconds > 0 else 0.0
    yield Done(stats)


class _Counts:
    """The reply's token counts so far: from the generated ids where the server returns them, else from its usage
    figures (the thought then ends at the last chunk that carried thinking)."""

    def __init__(self, caps: Capabilities):
        self.caps = caps
        self.used = 0  # generated tokens, as the server's usage counts them
        self.ids: list[int] = []
        self.got_ids = False
        self.think_used = 0  # `used` at the last thinking chunk

    def usage(self, usage: dict | None) -> None:
        if usage and usage.get("completion_tokens") is not None:
            self.used = int(usage["completion_tokens"])

    def add(self, ids: list[int] | None) -> None:
        if isinstance(ids, list):
            self.got_ids = True
            self.ids += ids

    @property
    def exact(self) -> bool:
        return self.got_ids and bool(self.caps.close_ids) and len(self.ids) >= self.used

    def _opened_here(self) -> int:
        """The length of an opening tag the model wrote itself at the start (not a thinking token)."""
        tag = self.caps.open_ids
        return len(tag) if tag and not self.caps.opened and self.ids[: len(tag)] == tag else 0

    def _close_at(self) -> int:
        close = self.caps.close_ids
        for i in range(len(self.ids) - len(close) + 1):
            if self.ids[i : i + len(close)] == close:
                return i
        return -1

    def thinking(self, in_answer: bool) -> int:
        if self.exact:
            at = self._close_at()
            end = at if at >= 0 else (len(self.ids) if not in_answer else self._opened_here())
            return max(end - self._opened_here(), 0)
        if not in_answer:
            self.think_used = self.used
        return self.think_used

    def answer(self, stats: GenerationStats) -> int:
        """Answer tokens so far (the end-of-sequence token included: the caller takes it out at the end)."""
        if self.exact:
            at = self._close_at()
            start = at + len(self.caps.close_ids) if at >= 0 else self._opened_here()
            return max(len(self.ids) - start, 0)
        closing = self.caps.close_tokens if stats.thought_closed and (stats.thinking or self.caps.opened) else 0
        return max(self.used - self.think_used - closing, 0)
