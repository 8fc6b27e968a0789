"""The two hooks `Engine.stream` hands to `model.generate`: a streamer that counts tokens and a stop criterion."""

from __future__ import annotations

import threading

import torch
from transformers import StoppingCriteria, TextIteratorStreamer

from playground.generation.thinking import TagTracker, ThinkTags


class StopOnEvent(StoppingCriteria):
    """Ends every row of a generation at the next token once `event` is set (the UI's Stop button)."""

    def __init__(self, event: threading.Event):
        self.event = event

    def __call__(self, input_ids: torch.LongTensor, scores, **kwargs) -> torch.BoolTensor:
        return torch.full((input_ids.shape[0],), self.event.is_set(), dtype=torch.bool, device=input_ids.device)


class CountingStreamer(TextIteratorStreamer):
    """A TextIteratorStreamer that also counts thinking/answer tokens from the ids it receives, and hides special
    tokens other than the think tags (which some tokenizers mark special).

    Iterating it yields (text, thinking tokens so far, answer tokens so far)."""

    def __init__(self, tokenizer, tags: ThinkTags, prompt_opened: bool, hide: set[int]):
        super().__init__(tokenizer, skip_prompt=True, timeout=600, skip_special_tokens=False)
        self.tracker = TagTracker(tags, prompt_opened)
        self.hide = hide
        self.generated = 0

    def put(self, value: torch.Tensor) -> None:
        if self.skip_prompt and self.next_tokens_are_prompt:
            super().put(value)
            return
        ids = value.reshape(-1).tolist()
        self.generated += len(ids)
        for tok in ids:
            self.tracker.feed(tok)
        keep = [t for t in ids if t not in self.hide]
        if keep:
            super().put(torch.tensor(keep))
            # The base class holds text back until a space; flush it at once (unless a character is incomplete) so
            # the thought and its token count stream live even through long runs of symbols.
            text = self.tokenizer.decode(self.token_cache, **self.decode_kwargs)
            if len(text) > self.print_len and not text.endswith("\ufffd"):
                self.on_finalized_text(text[self.print_len :])
                self.print_len = len(text)

    def on_finalized_text(self, text: str, stream_end: bool = False) -> None:
        self.text_queue.put((text, self.tracker.think_tokens, self.tracker.answer_tokens), timeout=self.timeout)
        if stream_end:
            self.text_queue.put(self.stop_signal, timeout=self.timeout)
