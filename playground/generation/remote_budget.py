"""Exact thinking budgets over any server's /v1/completions: the continuation loop.

The playground renders the prompt itself (`RemoteModel.render`) and drives the thought in phases, each one streamed
completion request that continues the previous text:
- think with `max_tokens` = what is left of the budget (less the wrap-up sentence in wrapup mode), stopping at the
  close tag; end-of-sequence is banned while thinking, as in the local engine;
- at the budget, append the forced close (hard) or the wrap-up sentence and the close (wrapup); in extend mode (s1),
  a thought that closes below the minimum gets "Wait," instead of its close tag and goes on;
- then the answer under the answer budget, with the think tags banned.
Token counts are the server's: the ids it returns (vLLM's `return_token_ids`) or its usage figures, never a guess.
When the server returns ids, every phase continues from exact ids; otherwise from text.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from playground.generation.openai_client import RemoteError, ServerClient
from playground.generation.request import (
    AnswerDelta,
    Done,
    Event,
    GenerationRequest,
    GenerationStats,
    Notice,
    ThinkingDelta,
    ThinkingDone,
)
from playground.generation.thinking import ThinkSplitter, wrapup_too_long

BAN = -100.0  # the strongest logit bias the OpenAI API takes


@dataclass
class Tags:
    """What the loop appends and bans, as text and as the model's token ids."""

    open_text: str
    close_text: str
    open_ids: list[int]
    close_ids: list[int]
    eos_ids: list[int]


@dataclass
class Context:
    """The text so far (prompt + generated + forced) as ids while every piece has them, and as text."""

    ids: list[int] | None
    text: str

    def add(self, ids: list[int] | None, text: str) -> None:
        self.ids = self.ids + ids if self.ids is not None and ids is not None else None
        self.text += text

    @property
    def prompt(self) -> list[int] | str:
        return self.ids if self.ids is not None else self.text


@dataclass
class Phase:
    """What one completion request produced."""

    text: str = ""
    ids: list[int] = field(default_factory=list)
    tokens: int = 0  # generated tokens, as the server counts them
    finish: str | None = None
    closed: bool = False  # stopped at the close tag
    has_ids: bool = True


@dataclass
class Plan:
    """One generation's inputs besides the request: the rendered prompt and the strings to force, encoded."""

    model: str
    context: Context
    opened: bool  # the template already opened the thought
    tags: Tags
    wrapup_ids: list[int]
    wait_ids: list[int]
    wait_text: str
    context_length: int
    decode: Callable[[list[int]], str]  # ids → text, for a wrap-up sentence cut to fit the budget
    notices: list[str] = field(default_factory=list)


class ContinuationLoop:
    """Runs one generation as phases of /v1/completions requests; `events()` yields the playground's events."""

    def __init__(self, client: ServerClient, plan: Plan, request: GenerationRequest, stop: threading.Event):
        self.client, self.plan, self.request, self.stop = client, plan, request, stop
        self.stats = GenerationStats(model=plan.model, notices=list(plan.notices))
        self.think_tokens = 0
        self.answer_tokens = 0
        self.generated = 0
        self.calls = 0
        self.t0 = time.perf_counter()

    # ------------------------------------------------------------ one request
    def _phase(self, max_tokens: int, stops: list[str], bias: dict[int, float], kind: str) -> Iterator[Event | Phase]:
        """Stream one completion; yields text events of `kind` ("think" or "answer") and finally its Phase."""
        r, plan = self.request, self.plan
        body = {
            "model": plan.model,
            "prompt": plan.context.prompt,
            "max_tokens": max_tokens,
            "temperature": r.temperature,
            "top_p": r.top_p if r.temperature > 0 else 1.0,
            "return_token_ids": True,
            "include_stop_str_in_output": True,
            "stream_options": {"include_usage": True},
        }
        if r.temperature > 0 and r.top_k:
            body["top_k"] = r.top_k
        if r.seed is not None:
            body["seed"] = (r.seed + self.calls) % 2**63
        if stops:
            body["stop"] = stops
        if bias:
            body["logit_bias"] = {str(k): v for k, v in bias.items()}
        self.calls += 1
        phase = Phase()
        splitter = ThinkSplitter(True, plan.tags.open_text, plan.tags.close_text) if kind == "think" else None
        usage = None
        for event in self.client.stream("/completions", body, self.stop):
            usage = event.get("usage") or usage
            for choice in event.get("choices") or []:
                text = choice.get("text") or ""
                ids = choice.get("token_ids")
                if ids is None:
                    phase.has_ids = False
                else:
                    phase.ids += ids
                phase.text += text
                phase.finish = choice.get("finish_reason") or phase.finish
                yield from self._text_events(kind, text, splitter, phase, len(ids) if ids is not None else 0)
        if splitter is not None:
            for piece_kind, piece in splitter.finish():
                if piece_kind == "think":
                    yield ThinkingDelta(piece, self.think_tokens + phase.tokens)
        phase.tokens = len(phase.ids) if phase.has_ids else phase.tokens
        if usage and usage.get("completion_tokens") is not None:
            phase.tokens = int(usage["completion_tokens"])
        if phase.has_ids and self.stop.is_set() is False and phase.tokens != len(phase.ids):
            raise RemoteError(f"The server counted {phase.tokens} tokens but returned {len(phase.ids)} token ids.")
        self.generated += phase.tokens
        yield phase

    def _text_events(self, kind, text, splitter, phase: Phase, n_new: int) -> Iterator[Event]:
        phase.tokens += n_new
        if kind == "answer":
            if text:
                yield AnswerDelta(text, self.answer_tokens + phase.tokens)
            return
        for piece_kind, piece in splitter.feed(text):
            if piece_kind == "think_end":
                phase.closed = True
            elif piece_kind == "think" and not phase.closed:
                yield ThinkingDelta(piece, self.think_tokens + phase.tokens)

    def _room(self) -> int:
        ctx = self.plan.context
        used = len(ctx.ids) if ctx.ids is not None else len(ctx.text) // 2
        return max(self.plan.context_length - used - 1, 0)

    # ------------------------------------------------------------ the whole generation
    def events(self) -> Iterator[Event]:
        plan, r = self.plan, self.request
        for note in self.stats.notices:
            yield Notice(note)
        budget = r.think_budget
        thought_closed = False
        if budget == 0:
            if plan.opened:
                plan.context.add(plan.tags.close_ids, plan.tags.close_text)
                self.stats.budget_reached = thought_closed = True
                yield self._think_done(True)
        else:
            if not plan.opened:  # the thought is opened for the model so that the budget has a thought to count
                plan.context.add(plan.tags.open_ids, plan.tags.open_text)
            thought_closed = yield from self._think(budget)
        if not self.stop.is_set() and (budget == 0 or thought_closed):
            yield from self._answer()
        yield self._done()

    def _think(self, budget: int | None) -> Iterator[Event]:
        """The thinking phases; returns whether the thought was closed."""
        plan, r, tags = self.plan, self.request, self.plan.tags
        wrap = plan.wrapup_ids if r.budget_mode == "wrapup" else []
        if wrap and budget is not None and len(wrap) > budget:
            note = wrapup_too_long(len(wrap), budget)
            self.stats.notices.append(note)
            yield Notice(note)
            wrap = []
        min_think = r.min_think if r.budget_mode == "extend" else 0
        ban_close = False
        while True:
            left = None if budget is None else budget - len(wrap) - self.think_tokens
            room = self._room()
            if self.stop.is_set() or room <= 0:
                return False
            if left is not None and left <= 0:
                break
            # below the minimum (extend mode) an end of sequence is an ending like the close tag: "Wait," replaces
            # it; past it, a reasoning model closes its thought before it stops
            below_min = self.think_tokens < min_think and not ban_close
            bias = {} if below_min else {e: BAN for e in tags.eos_ids}
            if ban_close:
                bias[tags.close_ids[0]] = BAN
            phase = Phase()
            limit = room if left is None else min(left, room)
            if below_min:  # the phase ends at the minimum, where ending becomes allowed
                limit = min(limit, min_think - self.think_tokens)
            for item in self._phase(limit, [] if ban_close else [tags.close_text], bias, "think"):
                if isinstance(item, Phase):
                    phase = item
                else:
                    yield item
            if self.stop.is_set():
                self._keep_thought(phase, closed=False)
                return False
            ended = below_min and not phase.closed and phase.has_ids and phase.ids[-1:] in ([e] for e in tags.eos_ids)
            if ended:  # the end-of-sequence token is taken back out
                phase.ids.pop()
                phase.tokens -= 1
                self.generated -= 1
            if phase.closed or ended:
                self._keep_thought(phase, closed=phase.closed)
                if self.think_tokens < min_think:
                    if phase.closed:
                        self._drop_close()
                    if budget is None or self.think_tokens + len(plan.wait_ids) <= budget:
                        plan.context.add(plan.wait_ids, plan.wait_text)
                        self.think_tokens += len(plan.wait_ids)
                        self.stats.thinking += plan.wait_text
                        self.stats.extensions += 1
                        yield ThinkingDelta(plan.wait_text, self.think_tokens)
                    else:  # no room for "Wait,": ending stays banned up to the budget, as in the local engine
                        ban_close = True
                    continue
                yield self._think_done(False)
                return True
            self._keep_thought(phase, closed=False)
            if phase.finish == "length":
                continue  # at the budget, the minimum or the end of the context: the loop's head decides
            if phase.tokens == 0:
                return False  # the server ended without a token: nothing more will come
        # the budget: the wrap-up sentence (as much of it as fits) and the close tag are forced
        forced = wrap[: max(budget - self.think_tokens, 0)]
        if forced:
            text = plan.decode(forced)
            plan.context.add(forced, text)
            self.think_tokens += len(forced)
            self.stats.thinking += text
            yield ThinkingDelta(text, self.think_tokens)
        plan.context.add(tags.close_ids, tags.close_text)
        self.stats.budget_reached = True
        yield self._think_done(True)
        return True

    def _keep_thought(self, phase: Phase | None, closed: bool) -> None:
        """Add a think phase's output to the context and the counts (its close tag is not a thinking token)."""
        if phase is None:
            return
        tags = self.plan.tags
        self.plan.context.add(phase.ids if phase.has_ids else None, phase.text)
        n_close = len(tags.close_ids) if closed else 0
        self.think_tokens += max(phase.tokens - n_close, 0)
        text = phase.text
        if closed and tags.close_text in text:
            text = text[: text.rindex(tags.close_text)]
        self.stats.thinking += text

    def _drop_close(self) -> None:
        """Take the close tag the model just wrote back out of the context (extend mode goes on thinking)."""
        ctx, tags = self.plan.context, self.plan.tags
        if ctx.ids is not None:
            ctx.ids = ctx.ids[: len(ctx.ids) - len(tags.close_ids)]
        ctx.text = ctx.text[: ctx.text.rindex(tags.close_text)]

    def _answer(self) -> Iterator[Event]:
        r, tags = self.request, self.plan.tags
        limit = self._room() if r.answer_budget is None else min(r.answer_budget, self._room())
        if limit <= 0:
            return
        bias = {tags.open_ids[0]: BAN, tags.close_ids[0]: BAN}
        phase = None
        for item in self._phase(limit, [], bias, "answer"):
            if isinstance(item, Phase):
                phase = item
            else:
                yield item
        if phase is None:
            return
        # the server counts the end-of-sequence token; the playground does not count it as an answer token
        if phase.has_ids:
            ends = 1 if phase.ids and phase.ids[-1] in tags.eos_ids else 0
        else:
            ends = 1 if phase.finish == "stop" else 0
        self.answer_tokens = max(phase.tokens - ends, 0)
        self.stats.answer = phase.text
        self.generated -= ends
        self.plan.context.add(phase.ids if phase.has_ids else None, phase.text)

    def _think_done(self, reached: bool) -> ThinkingDone:
        self.stats.thought_closed = True
        self.stats.think_seconds = time.perf_counter() - self.t0
        return ThinkingDone(self.stats.think_seconds, self.think_tokens, reached)

    def _done(self) -> Done:
        s = self.stats
        s.seconds = time.perf_counter() - self.t0
        s.thinking_tokens, s.answer_tokens = self.think_tokens, self.answer_tokens
        s.stopped = self.stop.is_set()
        if not s.thought_closed:
            s.think_seconds = s.seconds if s.thinking else 0.0
        s.tokens_per_s = self.generated / s.seconds if s.seconds > 0 else 0.0
        return Done(s)
