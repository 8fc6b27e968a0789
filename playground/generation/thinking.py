"""Thinking vs answer: the streaming text splitter, token accounting from ids, and exact budget forcing.

Three pieces, all independent of Gradio:
- `ThinkSplitter` splits streamed *text* into thinking and answer, whatever the chunking (partial tags are held back,
  so `</thi` never leaks into the answer), whether the prompt already opened `<think>` or the model emits it, and for
  models that do not think at all.
- `TagTracker` follows generated *token ids* one by one and counts thinking and answer tokens exactly (tags may span
  several tokens).
- `ThinkingBudgetProcessor` is a transformers `LogitsProcessor` that enforces, per row of a batch, a thinking budget
  (hard cut, wrap-up sentence, or s1-style "Wait" extension up to a minimum) and an answer budget, by forcing tokens
  from a per-row queue (every other logit is -inf), as nanochat's engine does.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Literal

import torch
from transformers import LogitsProcessor

BudgetMode = Literal["hard", "wrapup", "extend"]


# ---------------------------------------------------------------- text splitting


class ThinkSplitter:
    """Incrementally split a generated text stream into ("think", text), ("think_end", "") and ("answer", text).

    The concatenation of all "think" pieces and of all "answer" pieces does not depend on how the stream was chunked.
    """

    def __init__(self, prompt_opened: bool = False, open_tag: str = "<think>", close_tag: str = "</think>"):
        self.open_tag, self.close_tag = open_tag, close_tag
        self.state = "think" if prompt_opened else "start"
        self.buf = ""

    def feed(self, chunk: str) -> list[tuple[str, str]]:
        """Consume a chunk of text and return the pieces that are now certain."""
        self.buf += chunk
        out: list[tuple[str, str]] = []
        while True:
            if self.state == "start":
                stripped = self.buf.lstrip()
                if not stripped or (self.open_tag.startswith(stripped) and stripped != self.open_tag):
                    return out  # still could be the opening tag
                if stripped.startswith(self.open_tag):
                    self.buf = stripped[len(self.open_tag) :]
                    self.state = "think"
                else:
                    self.state = "answer"  # a model that answers without thinking
            elif self.state == "think":
                idx = self.buf.find(self.close_tag)
                if idx >= 0:
                    if idx:
                        out.append(("think", self.buf[:idx]))
                    out.append(("think_end", ""))
                    self.buf = self.buf[idx + len(self.close_tag) :]
                    self.state = "answer"
                    continue
                keep = _partial_suffix(self.buf, self.close_tag)
                if len(self.buf) > keep:
                    out.append(("think", self.buf[: len(self.buf) - keep]))
                    self.buf = self.buf[len(self.buf) - keep :]
                return out
            else:
                if self.buf:
                    out.append(("answer", self.buf))
                    self.buf = ""
                return out

    def finish(self) -> list[tuple[str, str]]:
        """Flush at the end of the stream: held-back text belongs to the phase it was in."""
        out: list[tuple[str, str]] = []
        if self.buf:
            out.append(("answer" if self.state in ("start", "answer") else "think", self.buf))
        self.buf = ""
        return out


def _partial_suffix(text: str, tag: str) -> int:
    """Length of the longest suffix of `text` that is a proper prefix of `tag`."""
    for n in range(min(len(tag) - 1, len(text)), 0, -1):
        if text.endswith(tag[:n]):
            return n
    return 0


def split_text(
    text: str, prompt_opened: bool = False, open_tag: str = "<think>", close_tag: str = "</think>"
) -> tuple[str, str, bool]:
    """Split a whole generated text: (thinking, answer, closed) where `closed` says `</think>` was seen."""
    splitter = ThinkSplitter(prompt_opened, open_tag, close_tag)
    pieces = splitter.feed(text) + splitter.finish()
    thinking = "".join(t for k, t in pieces if k == "think")
    answer = "".join(t for k, t in pieces if k == "answer")
    return thinking, answer, any(k == "think_end" for k, _ in pieces)


def prompt_opens_think(prompt_text: str, open_tag: str = "<think>") -> bool:
    """Whether a rendered prompt leaves a think block open (R1-Distill and Qwen3 thinking templates do)."""
    return prompt_text.rstrip().endswith(open_tag)


# ---------------------------------------------------------------- token accounting


@dataclass
class ThinkTags:
    """Token ids of the think tags (each may be several tokens) and of the end-of-sequence tokens."""

    open_ids: list[int]
    close_ids: list[int]
    eos_ids: list[int]

    @classmethod
    def from_tokenizer(cls, tokenizer, open_tag: str = "<think>", close_tag: str = "</think>") -> ThinkTags:
        enc = lambda s: tokenizer(s, add_special_tokens=False)["input_ids"]
        eos = tokenizer.eos_token_id
        eos_ids = list(eos) if isinstance(eos, (list, tuple)) else [eos]
        return cls(enc(open_tag), enc(close_tag), [e for e in eos_ids if e is not None])


class TagTracker:
    """Follows generated ids one at a time: phase ("pre" | "think" | "answer" | "done") and exact token counts.

    Tag tokens themselves are not counted; EOS ends the row (later ids are padding).
    """

    def __init__(self, tags: ThinkTags, prompt_opened: bool):
        self.tags = tags
        self.phase = "think" if prompt_opened else "pre"
        self.think_tokens = 0
        self.answer_tokens = 0
        self.recent: list[int] = []
        self.closed = False

    def feed(self, tok: int) -> None:
        if self.phase == "done":
            return
        if tok in self.tags.eos_ids:
            self.phase = "done"
            return
        self.recent = (self.recent + [tok])[-8:]
        if self.phase == "pre":
            n_open = len(self.tags.open_ids)
            self.answer_tokens += 1  # provisional while it may still be the start of a multi-token open tag
            if self.recent[-n_open:] == self.tags.open_ids:
                self.phase = "think"
                self.answer_tokens -= n_open
            elif not any(self.recent[-m:] == self.tags.open_ids[:m] for m in range(1, n_open)):
                self.phase = "answer"
            return
        if self.phase == "think":
            if self.recent[-len(self.tags.close_ids) :] == self.tags.close_ids:
                self.phase = "answer"
                self.closed = True
                self.think_tokens -= len(self.tags.close_ids) - 1
            else:
                self.think_tokens += 1
            return
        self.answer_tokens += 1


def count_tokens(ids: list[int], tags: ThinkTags, prompt_opened: bool) -> TagTracker:
    """Replay generated ids through a fresh tracker (used after a batch to get exact per-row counts)."""
    tracker = TagTracker(tags, prompt_opened)
    for tok in ids:
        tracker.feed(int(tok))
    return tracker


# ---------------------------------------------------------------- budget forcing


@dataclass
class Budget:
    """What the thinking/answer budget processor enforces. None means unlimited."""

    think: int | None = None
    mode: BudgetMode = "hard"
    min_think: int = 0  # only for mode "extend"
    answer: int | None = None
    wrapup_ids: list[int] = field(default_factory=list)
    wait_ids: list[int] = field(default_factory=list)


def wrapup_too_long(sentence_tokens: int, budget: int) -> str:
    """The notice for a wrap-up sentence that does not fit in the thinking budget (the thought is then closed
    without it, as in hard mode: a sentence cut to the budget would read as nonsense)."""
    return (
        f"The wrap-up sentence is {sentence_tokens:,} tokens, longer than the thinking budget of {budget:,}: "
        "the thought is closed at the budget without it (as in hard mode)."
    )


class _Row:
    def __init__(self, tags: ThinkTags, prompt_opened: bool):
        self.tracker = TagTracker(tags, prompt_opened)
        self.forced: deque[int] = deque()
        self.budget_reached = False
        self.extensions = 0


class ThinkingBudgetProcessor(LogitsProcessor):
    """Enforce the thinking budget and the answer budget for every row of a (possibly sampled) batch.

    The thinking-token count (from generated ids) never exceeds `budget.think`: at the budget (or earlier, to fit
    the wrap-up sentence when it fits in the budget at all) the close tag is forced token by token. A budget of 0
    bans the opening tag, or closes an already-open think block at once. In "extend" mode, while below
    `min_think`, whenever the model's most likely next token would end thinking (close tag or EOS) "Wait" is forced
    instead; otherwise ending is banned.
    """

    def __init__(self, tags: ThinkTags, budget: Budget, prompt_opened: bool):
        self.tags, self.budget, self.prompt_opened = tags, budget, prompt_opened
        self.rows: list[_Row] | None = None
        self._index: dict[tuple, torch.Tensor] = {}

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        if self.rows is None:
            self.rows = [_Row(self.tags, self.prompt_opened) for _ in range(input_ids.shape[0])]
        else:
            for row, tok in zip(self.rows, input_ids[:, -1].tolist()):
                row.tracker.feed(tok)
        for i, row in enumerate(self.rows):
            forced = self._decide(row, scores[i])
            if forced is not None:
                scores[i] = torch.full_like(scores[i], float("-inf"))
                scores[i, forced] = 0.0
        return scores

    def _ban(self, logits: torch.Tensor, ids: list[int]) -> None:
        """Set these ids' logits to -inf in place (their index tensors are made once: this runs at every token)."""
        key = (tuple(ids), logits.device)
        index = self._index.get(key)
        if index is None:
            index = self._index[key] = torch.tensor(ids, dtype=torch.long, device=logits.device)
        logits.index_fill_(0, index, float("-inf"))

    def _decide(self, row: _Row, logits: torch.Tensor) -> int | None:
        """Return the token to force for this row, or None (possibly after banning some tokens in `logits`)."""
        tr, b = row.tracker, self.budget
        if tr.phase == "done":
            return None
        if row.forced:
            return row.forced.popleft()
        if tr.phase == "pre":
            if b.think == 0:
                if b.answer == 0 and self.tags.eos_ids:
                    return self.tags.eos_ids[0]
                logits[self.tags.open_ids[0]] = float("-inf")
            return None
        if tr.phase == "think":
            n = tr.think_tokens
            if b.think is not None:
                wrap = b.wrapup_ids if b.mode == "wrapup" and len(b.wrapup_ids) <= b.think else []
                if n >= b.think - len(wrap):
                    row.budget_reached = True
                    row.forced.extend(wrap[: max(b.think - n, 0)] + self.tags.close_ids)
                    return row.forced.popleft()
            if b.mode == "extend" and n < b.min_think:
                enders = [self.tags.close_ids[0], *self.tags.eos_ids]
                fits = b.think is None or n + len(b.wait_ids) <= b.think
                if int(torch.argmax(logits)) in enders and b.wait_ids and fits:
                    row.extensions += 1
                    row.forced.extend(b.wait_ids)
                    return row.forced.popleft()
                self._ban(logits, enders)
                return None
            self._ban(logits, self.tags.eos_ids)  # a reasoning model closes its thought before it stops
            return None
        if b.answer is not None and tr.answer_tokens >= b.answer and self.tags.eos_ids:
            return self.tags.eos_ids[0]
        if tr.phase == "answer" and (tr.closed or b.think == 0):
            # after the thought (or with no thinking allowed) the think tags have no meaning: keep the answer clean
            self._ban(logits, [self.tags.open_ids[0], self.tags.close_ids[0]])
        return None
