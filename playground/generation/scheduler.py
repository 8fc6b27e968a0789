"""One decoding loop for every reply an Engine streams: replies that run at the same time decode as one batch.

Each `Row` is one reply with its own prompt, budget processor (`thinking.ThinkingBudgetProcessor`), sampler
(`sampling.SeededSampler`), streamer and stop event. The `Scheduler`'s worker thread prefills an arriving row on its
own (so its prompt and first token are computed exactly as if it ran alone), merges its KV cache into the running
batch with left padding and an attention mask, and then decodes all rows together, one token per row per step:
each row picks its token from its own logits with its own processors, so budgets, seeds and Stop stay per request.
A row leaves the batch as soon as it emits EOS, reaches its token limit or is stopped (or its reader went away),
and the padding no remaining row needs is cut off. The worker thread exists only while rows are active.

Models whose cache is not a plain per-layer key/value cache (sliding-window or linear-attention layers) or whose
generation config adds logits processing this loop does not apply get `Solo`: `model.generate` on its own thread.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import torch
from transformers import DynamicCache
from transformers.cache_utils import DynamicLayer

# generation-config settings that make `generate` process logits beyond the request's own processors
_EXTRA_PROCESSING = {
    "repetition_penalty": (None, 1.0),
    "encoder_repetition_penalty": (None, 1.0),
    "no_repeat_ngram_size": (None, 0),
    "bad_words_ids": (None,),
    "suppress_tokens": (None,),
    "begin_suppress_tokens": (None,),
    "forced_bos_token_id": (None,),
    "forced_eos_token_id": (None,),
    "sequence_bias": (None,),
    "min_length": (None, 0),
    "min_new_tokens": (None, 0),
    "exponential_decay_length_penalty": (None,),
}


def batchable(model) -> bool:
    """Whether the batch loop reproduces `model.generate` for this model (see the module docstring)."""
    config = model.config
    if getattr(config, "sub_configs", None) or getattr(config, "is_encoder_decoder", False):
        return False
    gen = model.generation_config
    if any(getattr(gen, name, None) not in allowed for name, allowed in _EXTRA_PROCESSING.items()):
        return False
    try:
        layers = DynamicCache(config=config).layers
    except Exception:  # noqa: BLE001 - a cache this code does not know
        return False
    return bool(layers) and all(type(layer) is DynamicLayer for layer in layers)


@dataclass(eq=False)
class Row:
    """One reply in the batch. `processors` are applied in order to its logits (they read only the last id);
    the token with the highest score is chosen (a sampler forces its draw). The streamer gets the prompt, then
    every chosen token, then `end()`."""

    model: object
    ids: list[int]
    processors: list
    streamer: object
    stop: threading.Event
    max_new_tokens: int
    eos_ids: frozenset[int]
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None
    generated: int = 0
    last: int = -1
    _worker: threading.Thread | None = None  # set when the worker ended right after this row left

    def wait(self) -> None:
        """Block until the row has left the batch (and the worker, if it ended with it, has ended)."""
        self.done.wait()
        if self._worker is not None:
            self._worker.join()

    def advance(self, ids: torch.Tensor, logits: torch.Tensor) -> bool:
        """Pick, record and stream the next token from this row's float32 logits [1, vocab], given its last id as
        [[id]]; False once the row ends."""
        for processor in self.processors:
            logits = processor(ids, logits)
        token = int(logits[0].argmax())
        self.last = token
        self.generated += 1
        self.streamer.put(torch.tensor([token]))
        return not (token in self.eos_ids or self.generated >= self.max_new_tokens or self.stop.is_set())


class _GrowingLayer(DynamicLayer):
    """A layer of the batch's KV cache whose keys and values are views of buffers with room to grow, so decoding
    writes each new token in place instead of concatenating the whole cache anew at every step."""

    def __init__(self, keys: torch.Tensor, values: torch.Tensor):
        super().__init__()
        self.dtype, self.device, self.is_initialized = keys.dtype, keys.device, True
        self.set(keys, values)

    def set(self, keys: torch.Tensor, values: torch.Tensor) -> None:
        """Hold these keys and values (copied into fresh buffers with headroom)."""
        length = keys.shape[-2]
        shape = (*keys.shape[:-2], length + max(length, 64), keys.shape[-1])
        self._keys, self._values = keys.new_empty(shape), values.new_empty(shape)
        self._keys[..., :length, :] = keys
        self._values[..., :length, :] = values
        self.keys, self.values = self._keys[..., :length, :], self._values[..., :length, :]

    def update(self, key_states: torch.Tensor, value_states: torch.Tensor, *args, **kwargs):
        start, end = self.keys.shape[-2], self.keys.shape[-2] + key_states.shape[-2]
        if end > self._keys.shape[-2]:
            self.set(self.keys, self.values)
        self._keys[..., start:end, :] = key_states
        self._values[..., start:end, :] = value_states
        self.keys, self.values = self._keys[..., :end, :], self._values[..., :end, :]
        return self.keys, self.values


class _Batch:
    """The rows decoding together and their shared state: KV cache, attention mask, next positions."""

    def __init__(self) -> None:
        self.rows: list[Row] = []
        self.model = None
        self.cache: DynamicCache | None = None
        self.mask: torch.Tensor | None = None  # [rows, cache length], 1 = a real token
        self.positions: torch.Tensor | None = None  # [rows]: each row's next position

    def add(self, row: Row, cache: DynamicCache, length: int) -> None:
        """Append a prefilled row; the shorter of the batch and the row is padded on the left."""
        device = cache.layers[0].keys.device
        mask = torch.ones(1, length, dtype=torch.long, device=device)
        position = torch.tensor([length], device=device)
        if not self.rows:
            cache.layers = [_GrowingLayer(layer.keys, layer.values) for layer in cache.layers]
            self.model, self.cache, self.mask, self.positions = row.model, cache, mask, position
        else:
            width = max(self.mask.shape[1], length)
            for mine, theirs in zip(self.cache.layers, cache.layers, strict=True):
                mine.set(
                    torch.cat([_pad_left(mine.keys, width, 2), _pad_left(theirs.keys, width, 2)]),
                    torch.cat([_pad_left(mine.values, width, 2), _pad_left(theirs.values, width, 2)]),
                )
            self.mask = torch.cat([_pad_left(self.mask, width, 1), _pad_left(mask, width, 1)])
            self.positions = torch.cat([self.positions, position])
        self.rows.append(row)

    def keep(self, kept: list[int]) -> None:
        """Keep only the rows at `kept` and drop the leading columns that are padding for all of them."""
        self.rows = [self.rows[i] for i in kept]
        if not self.rows:
            self.model = self.cache = self.mask = self.positions = None
            return
        index = torch.tensor(kept, device=self.mask.device)
        self.mask, self.positions = self.mask[index], self.positions[index]
        start = int(self.mask.any(0).nonzero()[0])
        self.mask = self.mask[:, start:]
        for layer in self.cache.layers:
            layer.set(layer.keys[index, :, start:], layer.values[index, :, start:])

    def step(self) -> list[int]:
        """Decode one token for every row; returns the indices of the rows still going."""
        device = self.mask.device
        ids = torch.tensor([[row.last] for row in self.rows], device=device)
        self.mask = torch.cat([self.mask, self.mask.new_ones(len(self.rows), 1)], dim=1)
        out = self.model(
            input_ids=ids,
            attention_mask=self.mask,
            position_ids=self.positions[:, None],
            cache=self.cache,
            use_cache=True,
            logits_to_keep=1,
        )
        self.positions = self.positions + 1
        logits = out.logits[:, -1, :].to(dtype=torch.float32, copy=True)
        return [i for i, row in enumerate(self.rows) if row.advance(ids[i : i + 1], logits[i : i + 1])]


def _pad_left(t: torch.Tensor, width: int, dim: int) -> torch.Tensor:
    missing = width - t.shape[dim]
    if missing <= 0:
        return t
    shape = list(t.shape)
    shape[dim] = missing
    return torch.cat([t.new_zeros(shape), t], dim=dim)


class Scheduler:
    """Runs submitted rows in one batch on one worker thread; rows join at the next step."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: list[Row] = []
        self._worker: threading.Thread | None = None
        self.widest = 0  # the most rows decoded in one step so far

    def submit(self, row: Row) -> Row:
        """Queue a row (it starts at the worker's next step); wait for it with `row.wait()`."""
        with self._lock:
            self._pending.append(row)
            if self._worker is None:
                self._worker = threading.Thread(target=self._run, name="playground-decode", daemon=True)
                self._worker.start()
        return row

    def _take(self, batch: _Batch) -> list[Row] | None:
        """The pending rows that may join `batch` now (same model); None when there is nothing left to do, in which
        case the worker is marked gone under the same lock (a row submitted after this starts a new worker)."""
        with self._lock:
            joining = [r for r in self._pending if batch.model is None or r.model is batch.model]
            if not joining and not batch.rows:
                self._worker = None
                return None
            self._pending = [r for r in self._pending if r not in joining]
            return joining

    def _run(self) -> None:
        batch = _Batch()
        leaving: list[Row] = []
        while True:
            joining = self._take(batch)
            if joining is None:
                for row in leaving:  # their readers wait for this thread too: it ends right now
                    row._worker = threading.current_thread()
                _finish(leaving)
                return
            _finish(leaving)
            leaving = []
            with torch.inference_mode():
                for row in joining:
                    if not _prefill(batch, row):
                        leaving.append(row)
                if not batch.rows:
                    continue
                self.widest = max(self.widest, len(batch.rows))
                try:
                    going = batch.step()
                except BaseException as err:  # e.g. out of memory: every row of the batch ends with the error
                    for row in batch.rows:
                        row.error = err
                    going = []
                gone = set(range(len(batch.rows))) - set(going)
                leaving += [batch.rows[i] for i in sorted(gone)]
                if gone:
                    batch.keep(going)


def _prefill(batch: _Batch, row: Row) -> bool:
    """Run the row's prompt alone, pick its first token and merge it into `batch`; False when it has ended."""
    if row.stop.is_set():
        return False
    try:
        device = next(row.model.parameters()).device
        ids = torch.tensor([row.ids], device=device)
        cache = DynamicCache(config=row.model.config)
        out = row.model(
            input_ids=ids, attention_mask=torch.ones_like(ids), cache=cache, use_cache=True, logits_to_keep=1
        )
        row.last = row.ids[-1]
        row.streamer.put(ids[0].cpu())  # the prompt, which the streamer skips
        if not row.advance(ids[:, -1:], out.logits[:, -1, :].to(dtype=torch.float32, copy=True)):
            return False
    except BaseException as err:  # this row alone fails
        row.error = err
        return False
    batch.add(row, cache, len(row.ids))
    return True


def _finish(rows: list[Row]) -> None:
    for row in rows:
        try:
            row.streamer.end()
        finally:
            row.done.set()


class Solo:
    """A reply decoded by `model.generate` on its own thread (models the batch loop does not serve)."""

    def __init__(self, model, kwargs: dict):
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._work, args=(model, kwargs), daemon=True)
        self._thread.start()

    def _work(self, model, kwargs: dict) -> None:
        try:
            with torch.inference_mode():
                model.generate(**kwargs)
        except BaseException as err:  # surfaced to the reader by the engine
            self.error = err
            kwargs["streamer"].end()

    def wait(self) -> None:
        self._thread.join()
