"""The one engine shared by the UI, the CLIs and the tests: prompt rendering, streamed and batched generation.

`Engine.stream(request)` is a plain generator of small events (no Gradio): `Notice`, `ThinkingDelta`,
`ThinkingDone`, `AnswerDelta` and finally `Done(stats)`. `model.generate` runs in a worker thread with a
`TextIteratorStreamer`; a stop `threading.Event` ends it within one token. Token counts come from generated ids.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from transformers import LogitsProcessorList, StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

from playground.generation.shared_prefix import shared_prefix
from playground.generation.thinking import (
    DEFAULT_WRAPUP,
    Budget,
    TagTracker,
    ThinkingBudgetProcessor,
    ThinkSplitter,
    ThinkTags,
    count_tokens,
    prompt_opens_think,
    split_text,
)
from playground.models.loading import LoadedModel, ModelLoadError, adapter_base, apply_adapter, load_model, unload

BUDGET_MODES = ("hard", "wrapup", "extend")


@dataclass
class GenerationRequest:
    """One generation: the chat so far (ending with the user's turn) and how to sample and budget it."""

    messages: list[dict[str, str]]
    system_prompt: str | None = None  # None: the preset's default; "" for none
    temperature: float = 0.6  # 0 = greedy
    top_p: float = 0.95
    top_k: int = 20
    seed: int | None = None
    think_budget: int | None = 512  # None = unlimited; 0 = skip thinking
    budget_mode: str = "hard"  # hard | wrapup | extend
    min_think: int = 0  # extend mode: replace an early end of thinking by "Wait" until this many tokens
    wrapup_text: str = DEFAULT_WRAPUP
    answer_budget: int | None = 1024  # tokens after </think>; None = unlimited

    def validate(self) -> None:
        """Raise ValueError with a user-facing message for settings that make no sense."""
        if not self.messages or not any(m.get("content", "").strip() for m in self.messages if m["role"] == "user"):
            raise ValueError("The prompt is empty: type a question first.")
        if self.budget_mode not in BUDGET_MODES:
            raise ValueError(f"Unknown budget mode {self.budget_mode!r}; choose one of {', '.join(BUDGET_MODES)}.")
        for label, value in (("thinking budget", self.think_budget), ("answer budget", self.answer_budget)):
            if value is not None and value < 0:
                raise ValueError(f"The {label} must be ≥ 0 (or unlimited).")
        if self.min_think < 0 or (self.think_budget is not None and self.min_think > self.think_budget):
            raise ValueError("The minimum thinking length must be between 0 and the thinking budget.")
        if self.temperature < 0 or not 0 < self.top_p <= 1 or self.top_k < 0:
            raise ValueError("Sampling settings out of range: temperature ≥ 0, 0 < top-p ≤ 1, top-k ≥ 0.")


@dataclass
class Notice:
    text: str


@dataclass
class ThinkingDelta:
    text: str
    n_tokens: int  # thinking tokens so far


@dataclass
class ThinkingDone:
    seconds: float
    n_tokens: int
    budget_reached: bool
    finished: bool = True  # False when the model never closed its thought


@dataclass
class AnswerDelta:
    text: str
    n_tokens: int  # answer tokens so far


@dataclass
class GenerationStats:
    """What one finished generation produced and cost."""

    thinking: str = ""
    answer: str = ""
    thinking_tokens: int = 0
    answer_tokens: int = 0
    seconds: float = 0.0
    think_seconds: float = 0.0
    tokens_per_s: float = 0.0
    budget_reached: bool = False
    thought_closed: bool = False
    extensions: int = 0  # "Wait" insertions in extend mode
    stopped: bool = False
    model: str = ""
    notices: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return asdict(self)


@dataclass
class Done:
    stats: GenerationStats


Event = Notice | ThinkingDelta | ThinkingDone | AnswerDelta | Done


class _StopOnEvent(StoppingCriteria):
    def __init__(self, event: threading.Event):
        self.event = event

    def __call__(self, input_ids: torch.LongTensor, scores, **kwargs) -> torch.BoolTensor:
        return torch.full((input_ids.shape[0],), self.event.is_set(), dtype=torch.bool, device=input_ids.device)


class _CountingStreamer(TextIteratorStreamer):
    """A TextIteratorStreamer that also counts thinking/answer tokens from the ids it receives, and hides special
    tokens other than the think tags (which some tokenizers mark special)."""

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


def adapter_label(adapter_dir: str | Path) -> str:
    """A short name for an adapter folder: the run's name for runs/<run>/adapter, else the folder's name."""
    path = Path(adapter_dir)
    return path.parent.name if path.name == "adapter" and path.parent.name else path.name


def _same_model(a: str, b: str) -> bool:
    """Whether two model references name the same weights (equal text, or the same folder on disk)."""
    if a == b:
        return True
    pa, pb = Path(a).expanduser(), Path(b).expanduser()
    return pa.exists() and pb.exists() and pa.resolve() == pb.resolve()


class Engine:
    """Holds the loaded model and generates from it.

    Several generations may run on the model at once (separate threads, separate caches: e.g. the two panels of a
    side-by-side race); loading another model waits for none of them but is refused while any runs.
    """

    def __init__(self, loaded: LoadedModel | None = None):
        self.loaded = loaded
        self._guard = threading.Lock()
        self._active = 0
        self._tags: ThinkTags | None = None
        self.base_name: str | None = None  # with an adapter applied (load_adapter): the base model's name

    @contextmanager
    def _generating(self) -> Iterator[LoadedModel]:
        with self._guard:
            loaded = self._require()
            self._active += 1
        try:
            yield loaded
        finally:
            with self._guard:
                self._active -= 1

    @property
    def busy(self) -> bool:
        """True while any generation runs on the current model."""
        return self._active > 0

    # ------------------------------------------------------------ loading
    def load(self, name: str = "auto", quant: str = "auto", device: str = "auto", offline: bool = False) -> LoadedModel:
        """Replace the current model (freed first, so switching does not grow memory)."""
        with self._guard:
            if self._active:
                raise RuntimeError("A generation is running on the current model: stop it before loading another.")
            unload(self.loaded)
            self.loaded, self._tags, self.base_name = None, None, None
            self.loaded = load_model(name, quant, device, offline)
            return self.loaded

    def adapter_base_for(self, adapter_dir: str | Path) -> str:
        """The model an adapter goes on: the base it names, or the current model's base when it names none or the
        same weights (then the current model's own name is kept, e.g. 'tiny')."""
        named = adapter_base(adapter_dir)
        loaded = self.loaded
        current = self.base_name or (loaded.name if loaded else None)
        if loaded is None or current is None:
            if not named:
                raise ModelLoadError(f"{adapter_dir} names no base model and none is loaded: load its base first.")
            return named
        if not named or _same_model(named, loaded.source) or named in (loaded.name, current):
            return current
        return named

    def load_adapter(self, adapter_dir: str | Path, offline: bool = False) -> str:
        """Reload the adapter's base (see `adapter_base_for`) and apply the PEFT adapter; returns a message for
        the user. Refused while a generation runs. The model is then named "<base> + <run>" (`base_name` keeps
        the base's name, so a side-by-side panel can name the base to compare against)."""
        path = Path(adapter_dir).expanduser()
        if not (path / "adapter_config.json").is_file():
            raise ModelLoadError(f"{path} is not a PEFT adapter folder (no adapter_config.json)")
        with self._guard:
            if self._active:
                raise RuntimeError("A generation is running: stop it (or wait for it) before loading an adapter.")
            base = self.adapter_base_for(path)
            before = self.base_name or (self.loaded.name if self.loaded else None)
            quant = self.loaded.quant if self.loaded else "auto"
            device = self.loaded.device if self.loaded else "auto"
            # fresh base weights: an adapter merged earlier must not stay underneath the new one
            unload(self.loaded)
            self.loaded, self._tags, self.base_name = None, None, None
            try:
                self.loaded = load_model(base, quant, device, offline, fallback=False)
            except ModelLoadError:
                if before and before != base:  # keep the app usable with the model it had (without adapter)
                    self.loaded = load_model(before, quant, device, offline)
                raise
            apply_adapter(self.loaded, path)  # on failure the base stays loaded, without the adapter
            self.base_name = self.loaded.name
            self.loaded.name = f"{self.loaded.name} + {adapter_label(path)}"
            return (
                f"Loaded the adapter **{adapter_label(path)}** on `{self.base_name}`: the Chat and Puzzles tabs "
                f"now use `{self.loaded.name}`. To compare, race panel A = `{self.base_name}` against panel B = "
                "`current` in the Puzzles tab."
            )

    def _require(self) -> LoadedModel:
        if self.loaded is None or self.loaded.model is None:
            raise RuntimeError("No model is loaded: pick one and press Load.")
        return self.loaded

    @property
    def tags(self) -> ThinkTags:
        if self._tags is None:
            loaded = self._require()
            tags = ThinkTags.from_tokenizer(loaded.tokenizer, *self.tag_text)
            gen_eos = getattr(loaded.model.generation_config, "eos_token_id", None)
            for e in gen_eos if isinstance(gen_eos, list) else [gen_eos]:
                if e is not None and e not in tags.eos_ids:
                    tags.eos_ids.append(e)
            self._tags = tags
        return self._tags

    @property
    def tag_text(self) -> tuple[str, str]:
        """The think tags as text: the preset's, or the usual <think> / </think>."""
        preset = self._require().preset
        return (preset.think_open, preset.think_close) if preset else ("<think>", "</think>")

    def _hidden_ids(self) -> set[int]:
        tok = self._require().tokenizer
        return set(tok.all_special_ids) - set(self.tags.open_ids) - set(self.tags.close_ids)

    # ------------------------------------------------------------ prompts
    def render(self, request: GenerationRequest) -> tuple[list[int], bool, list[str]]:
        """Render the chat with the model's template: (prompt ids, prompt opened <think>, notices).

        Too-long prompts lose older turns first, then the tail of the last user message, with a visible notice.
        """
        loaded = self._require()
        tok = loaded.tokenizer
        system = request.system_prompt
        if system is None:
            system = loaded.preset.system_prompt if loaded.preset else ""
        messages = [{"role": m["role"], "content": m["content"]} for m in request.messages]
        notices: list[str] = []
        limit = loaded.context_length - min(self._new_token_need(request), loaded.context_length // 2)

        def encode(msgs: list[dict[str, str]]) -> tuple[list[int], str]:
            full = ([{"role": "system", "content": system}] if system else []) + msgs
            text = tok.apply_chat_template(full, tokenize=False, add_generation_prompt=True)
            return tok(text, add_special_tokens=False)["input_ids"], text

        ids, text = encode(messages)
        while len(ids) > limit and len(messages) > 1:
            messages = messages[1:]
            ids, text = encode(messages)
            if len(ids) <= limit:
                notices.append("Earlier turns were dropped to fit the model's context.")
        if len(ids) > limit:
            content = messages[-1]["content"]
            content_ids = tok(content, add_special_tokens=False)["input_ids"]
            keep = max(len(content_ids) - (len(ids) - limit) - 8, 1)
            messages[-1] = {"role": messages[-1]["role"], "content": tok.decode(content_ids[:keep])}
            ids, text = encode(messages)
            notices.append(
                f"Your prompt was {len(content_ids):,} tokens; it was cut to its first {keep:,} tokens to fit the "
                f"model's context of {loaded.context_length:,} tokens (room is kept for thinking and the answer)."
            )
        return ids, prompt_opens_think(text, self.tag_text[0]), notices

    def _new_token_need(self, request: GenerationRequest) -> int:
        loaded = self._require()
        think = request.think_budget
        if think is None:
            think = loaded.preset.max_new_tokens if loaded.preset else loaded.context_length
        answer = request.answer_budget if request.answer_budget is not None else loaded.context_length
        return think + answer + len(self.tags.close_ids) + len(self.tags.open_ids) + 2

    def _budget(self, request: GenerationRequest) -> Budget:
        tok = self._require().tokenizer
        enc = lambda s: tok(s, add_special_tokens=False)["input_ids"]
        return Budget(
            think=request.think_budget,
            mode=request.budget_mode,  # type: ignore[arg-type]
            min_think=request.min_think if request.budget_mode == "extend" else 0,
            answer=request.answer_budget,
            wrapup_ids=enc("\n" + request.wrapup_text.strip() + "\n") if request.wrapup_text.strip() else [],
            wait_ids=enc("\nWait,"),
        )

    def _generate_kwargs(self, request: GenerationRequest, prompt_len: int, processor, stop: threading.Event) -> dict:
        loaded = self._require()
        sample = request.temperature > 0
        kwargs = dict(
            max_new_tokens=max(1, min(self._new_token_need(request), loaded.context_length - prompt_len)),
            do_sample=sample,
            logits_processor=LogitsProcessorList([processor]),
            stopping_criteria=StoppingCriteriaList([_StopOnEvent(stop)]),
            pad_token_id=loaded.tokenizer.pad_token_id,
            eos_token_id=self.tags.eos_ids,
        )
        if sample:
            kwargs.update(temperature=request.temperature, top_p=request.top_p, top_k=request.top_k or None)
        else:  # silence the model's own sampling defaults when decoding greedily
            kwargs.update(temperature=None, top_p=None, top_k=None)
        return kwargs

    # ------------------------------------------------------------ streaming
    def stream(self, request: GenerationRequest, stop: threading.Event | None = None) -> Iterator[Event]:
        """Generate one reply, yielding events as tokens arrive. Raises ValueError for bad requests."""
        request.validate()
        stop = stop or threading.Event()
        with self._generating() as loaded:
            ids, opened, notices = self.render(request)
            for note in notices:
                yield Notice(note)
            processor = ThinkingBudgetProcessor(self.tags, self._budget(request), opened)
            streamer = _CountingStreamer(loaded.tokenizer, self.tags, opened, self._hidden_ids())
            device = next(loaded.model.parameters()).device
            input_ids = torch.tensor([ids], device=device)
            kwargs = self._generate_kwargs(request, len(ids), processor, stop)
            kwargs.update(input_ids=input_ids, attention_mask=torch.ones_like(input_ids), streamer=streamer)
            error: list[BaseException] = []

            def work() -> None:
                try:
                    if request.seed is not None:
                        torch.manual_seed(request.seed)
                    with torch.inference_mode():
                        loaded.model.generate(**kwargs)
                except BaseException as err:  # surfaced to the caller below
                    error.append(err)
                    streamer.end()

            t0 = time.perf_counter()
            thread = threading.Thread(target=work, daemon=True)
            thread.start()
            splitter = ThinkSplitter(opened, *self.tag_text)
            stats = GenerationStats(model=loaded.name, notices=notices)
            think_end: float | None = None
            n_think = n_answer = 0
            for text, n_think, n_answer in streamer:
                for kind, piece in splitter.feed(text):
                    if kind == "think_end":
                        think_end = time.perf_counter() - t0
                        row = processor.rows[0] if processor.rows else None
                        stats.budget_reached = bool(row and row.budget_reached)
                        stats.thought_closed = True
                        yield ThinkingDone(think_end, streamer.tracker.think_tokens, stats.budget_reached)
                    else:
                        yield from self._piece(kind, piece, stats, n_think, n_answer)
            for kind, piece in splitter.finish():
                yield from self._piece(kind, piece, stats, n_think, n_answer)
            thread.join()
            if error:
                raise RuntimeError(f"Generation failed: {error[0]}") from error[0]
            stats.seconds = time.perf_counter() - t0
            stats.thinking_tokens = streamer.tracker.think_tokens
            stats.answer_tokens = streamer.tracker.answer_tokens
            stats.stopped = stop.is_set()
            if stats.thinking and think_end is None:
                yield ThinkingDone(stats.seconds, stats.thinking_tokens, False, finished=False)
            stats.think_seconds = think_end if think_end is not None else (stats.seconds if stats.thinking else 0.0)
            stats.tokens_per_s = streamer.generated / stats.seconds if stats.seconds > 0 else 0.0
            stats.extensions = processor.rows[0].extensions if processor.rows else 0
            yield Done(stats)

    @staticmethod
    def _piece(kind: str, piece: str, stats: GenerationStats, n_think: int, n_answer: int) -> Iterator[Event]:
        if kind == "think":
            stats.thinking += piece
            yield ThinkingDelta(piece, n_think)
        elif kind == "answer":
            stats.answer += piece
            yield AnswerDelta(piece, n_answer)

    def generate(self, request: GenerationRequest, stop: threading.Event | None = None) -> GenerationStats:
        """Run `stream` to the end and return its stats."""
        stats = GenerationStats()
        for event in self.stream(request, stop):
            if isinstance(event, Done):
                stats = event.stats
        return stats

    # ------------------------------------------------------------ batches (evaluation)
    share_prefill = True  # run each prompt through the model once per batch, not once per sample
    static_cache = True  # on CPU, preallocate the batch's KV cache instead of growing it every step
    static_cache_max_bytes = 4 << 30  # and at most a quarter of the memory free at the time

    def _static_cache_fits(self, nbytes: float) -> bool:
        try:
            free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):  # not a POSIX system: trust the fixed cap
            free = 4 * self.static_cache_max_bytes
        return nbytes <= min(self.static_cache_max_bytes, free / 4)

    def _sample_inputs(self, model, input_ids: torch.Tensor, mask: torch.Tensor, n: int, max_new_tokens: int) -> dict:
        """generate() inputs for n samples per prompt, with a prepared KV cache where that pays.

        With `share_prefill` the prompts (but their last token) go through the model once and the cache is repeated
        per sample: n× less prefill work, the same samples. With `static_cache`, on CPU, a batch's cache is a
        preallocated StaticCache: a growing DynamicCache re-concatenates every layer's whole cache at every step,
        and on CPU each of those fresh multi-MB tensors is new memory the OS must map in — measured at 95% of a
        16-sample generation on a 500-token prompt. (On CUDA the caching allocator makes that cheap, and a cache
        sized for the worst case could be huge, so there the growing cache stays.) But a static cache attends over
        all its slots at every step, so it is used only when at most twice the prompt may be generated: sized for an
        unlimited thought (the whole context) it made 16 greedy 3SAT replies of the tiny reasoner 2.5x slower than
        the growing cache (310 vs 720-850 tokens/s), with a 700-token budget 1.2x slower; 16 samples of 64-256 exact
        tokens on a maze prompt run 1.1-1.3x faster with it. A model whose cache cannot be built this way falls back to
        plain num_return_sequences."""
        plain = {"input_ids": input_ids, "attention_mask": mask, "num_return_sequences": n}
        rows, width = input_ids.shape[0] * n, input_ids.shape[1]
        share = self.share_prefill and n >= 2
        static = self.static_cache and rows >= 2 and model.device.type == "cpu" and max_new_tokens <= 2 * width
        if width < 2 or not (share or static):
            return plain
        try:
            from transformers import DynamicCache, StaticCache

            cache = DynamicCache(config=model.config)
            positions = (mask.cumsum(-1) - 1).clamp(min=0)
            prompt = {"input_ids": input_ids[:, :-1], "attention_mask": mask[:, :-1], "position_ids": positions[:, :-1]}
            model(**prompt, cache=cache, logits_to_keep=1)  # only the cache is wanted: skip the prompt's logits
            cache_len = width + max_new_tokens
            per_row_token = sum(
                (layer.keys.numel() + layer.values.numel()) * layer.keys.element_size() for layer in cache.layers
            ) / (input_ids.shape[0] * (width - 1))
            if static and self._static_cache_fits(rows * cache_len * per_row_token):
                prefix, cache = cache, StaticCache(config=model.config, max_cache_len=cache_len)
                for layer, done in zip(cache.layers, prefix.layers, strict=True):
                    layer.update(done.keys.repeat_interleave(n, 0), done.values.repeat_interleave(n, 0))
            elif share or n == 1:  # with one sample per prompt the prefilled cache is already the batch's
                cache.batch_repeat_interleave(n)
            else:
                return plain
        except Exception:  # noqa: BLE001 - a model-specific cache problem: the plain path still works
            return plain
        return {
            "input_ids": input_ids.repeat_interleave(n, 0),
            "attention_mask": mask.repeat_interleave(n, 0),
            "cache": cache,
        }

    def generate_batch(
        self,
        prompts: list[list[dict[str, str]]],
        request: GenerationRequest,
        n_samples: int = 1,
        stop: threading.Event | None = None,
    ) -> list[list[GenerationStats]]:
        """Sample `n_samples` replies for each chat in `prompts` in one batched `generate` call.

        `request` supplies the sampling and budget settings (its messages are ignored). Returns, per prompt, its
        samples, with exact per-row thinking/answer token counts and whether the budget cut the thought.
        """
        if not prompts:
            return []
        stop = stop or threading.Event()
        with self._generating() as loaded:
            tok = loaded.tokenizer
            rendered = []
            for messages in prompts:
                req = GenerationRequest(**{**asdict(request), "messages": messages})
                req.validate()
                rendered.append(self.render(req))
            opened = rendered[0][1]
            if any(r[1] != opened for r in rendered):
                raise ValueError("All prompts of a batch must agree on whether the template opens <think>.")
            width = max(len(r[0]) for r in rendered)
            pad = tok.pad_token_id
            device = next(loaded.model.parameters()).device
            input_ids = torch.tensor([[pad] * (width - len(r[0])) + r[0] for r in rendered], device=device)
            mask = torch.tensor([[0] * (width - len(r[0])) + [1] * len(r[0]) for r in rendered], device=device)
            processor = ThinkingBudgetProcessor(self.tags, self._budget(request), opened)
            kwargs = self._generate_kwargs(request, width, processor, stop)
            t0 = time.perf_counter()
            if request.seed is not None:
                torch.manual_seed(request.seed)
            with torch.inference_mode():
                inputs = self._sample_inputs(loaded.model, input_ids, mask, n_samples, kwargs["max_new_tokens"])
                shared = n_samples if "cache" in inputs and self.share_prefill else 1  # its rows repeat each prompt
                with shared_prefix(loaded.model, width - 1, shared):
                    out = loaded.model.generate(**inputs, **kwargs)
            seconds = time.perf_counter() - t0
        hidden = self._hidden_ids()
        results: list[list[GenerationStats]] = []
        total_tokens = 0
        for i in range(len(prompts)):
            samples = []
            for j in range(n_samples):
                row = i * n_samples + j
                gen = out[row, width:].tolist()
                tracker = count_tokens(gen, self.tags, opened)
                text = tok.decode([t for t in gen if t not in hidden], skip_special_tokens=False)
                thinking, answer, closed = split_text(text, opened, *self.tag_text)
                used = tracker.think_tokens + tracker.answer_tokens
                total_tokens += used
                samples.append(
                    GenerationStats(
                        thinking=thinking,
                        answer=answer,
                        thinking_tokens=tracker.think_tokens,
                        answer_tokens=tracker.answer_tokens,
                        seconds=seconds,
                        budget_reached=bool(processor.rows and processor.rows[row].budget_reached),
                        thought_closed=closed,
                        extensions=processor.rows[row].extensions if processor.rows else 0,
                        stopped=stop.is_set(),
                        model=loaded.name,
                    )
                )
            results.append(samples)
        rate = total_tokens / seconds if seconds > 0 else 0.0
        for samples in results:
            for s in samples:
                s.tokens_per_s = rate
        return results
