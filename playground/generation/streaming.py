"""The two hooks `Engine.stream` hands to `model.generate`: a streamer that counts tokens and a stop criterion."""

from __future__ import annotations

import queue
import threading

import torch
from transformers import StoppingCriteria
from transformers.generation.streamers import BaseStreamer

from playground.generation.thinking import TagTracker, ThinkTags


class StopOnEvent(StoppingCriteria):
    """Ends every row of a generation at the next token once `event` is set (the UI's Stop button)."""

    def __init__(self, event: threading.Event):
        self.event = event

    def __call__(self, input_ids: torch.LongTensor, scores, **kwargs) -> torch.BoolTensor:
        return torch.full((input_ids.shape[0],), self.event.is_set(), dtype=torch.bool, device=input_ids.device)


class CountingStreamer(BaseStreamer):
    """Generated ids in, text and token counts out: transformers' streamer protocol (`put`, `end`) on the decoding
    thread, an iterator on the reading thread.

    `put` only queues the ids, so the decoding loop (which may serve several replies in one batch) spends no time on
    text; the reader turns everything queued so far into text at once, counts thinking and answer tokens from the
    ids, and hides special tokens other than the think tags (which some tokenizers mark special). Text is released
    as soon as it is complete (not held back to a space), so a thought streams live even through runs of symbols;
    only an incomplete character waits for its next token.

    Iterating it yields (text, thinking tokens so far, answer tokens so far); a reader that waits `timeout` seconds
    for a token gets `queue.Empty`, as with `TextIteratorStreamer`."""

    def __init__(self, tokenizer, tags: ThinkTags, prompt_opened: bool, hide: set[int], timeout: float = 600):
        self.tokenizer = tokenizer
        self.tracker = TagTracker(tags, prompt_opened)
        self.hide = hide
        self.timeout = timeout
        self.generated = 0  # ids received, hidden ones included
        self._queue: queue.SimpleQueue[list[int] | None] = queue.SimpleQueue()
        self._prompt_pending = True  # the first put is the prompt, which is not streamed
        self._cache: list[int] = []  # ids of the text not yet complete up to a newline
        self._printed = 0  # characters of the cache's text already released
        self._ended = False

    def put(self, value: torch.Tensor) -> None:
        if self._prompt_pending:
            self._prompt_pending = False
            return
        ids = value.reshape(-1).tolist()
        self.generated += len(ids)
        self._queue.put(ids)

    def end(self) -> None:
        self._queue.put(None)

    def __iter__(self) -> CountingStreamer:
        return self

    def __next__(self) -> tuple[str, int, int]:
        while not self._ended:
            batch = [self._queue.get(timeout=self.timeout)]
            while batch[-1] is not None:  # everything queued meanwhile: one decode for all of it
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            for ids in batch:
                if ids is None:
                    self._ended = True
                    break
                for tok in ids:
                    self.tracker.feed(tok)
                self._cache += [t for t in ids if t not in self.hide]
            text = self._release(final=self._ended)
            if text:
                return text, self.tracker.think_tokens, self.tracker.answer_tokens
        raise StopIteration

    def _release(self, final: bool) -> str:
        """The cache's text not released yet; an incomplete last character waits unless the stream has ended."""
        text = self.tokenizer.decode(self._cache, skip_special_tokens=False)
        if text.endswith("\ufffd") and not final:
            return ""
        out = text[self._printed :]
        if text.endswith("\n"):  # a finished line: decoding starts afresh, so it stays short
            self._cache, self._printed = [], 0
        else:
            self._printed = len(text)
        return out
