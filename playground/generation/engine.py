"""The local backend: a transformers model loaded in this process, its prompts, and streamed and batched generation.

`Engine` implements `playground.generation.backend.Backend`. `Engine.stream(request)` is a plain generator of small
events (no Gradio): `Notice`, `ThinkingDelta`, `ThinkingDone`, `AnswerDelta` and finally `Done(stats)`.
Replies streamed at the same time decode together as one batch on the scheduler's worker thread (scheduler.py), each
with its own budget, sampler, counting streamer and stop `threading.Event` (which ends it within one token).
Token counts come from generated ids. `generate_batch` samples N replies per prompt in one call (see batching.py).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

import torch
from transformers import LogitsProcessorList, StoppingCriteriaList

from playground.generation.backend import ModelInfo
from playground.generation.batching import BatchCache
from playground.generation.prompt import render_prompt
from playground.generation.request import (
    AnswerDelta,
    Done,
    Event,
    GenerationRequest,
    GenerationStats,
    Notice,
    ThinkingDelta,
    ThinkingDone,
    final_stats,
)
from playground.generation.sampling import SeededSampler
from playground.generation.scheduler import Row, Scheduler, Solo, batchable
from playground.generation.shared_prefix import shared_prefix
from playground.generation.streaming import CountingStreamer, StopOnEvent
from playground.generation.thinking import (
    Budget,
    ThinkingBudgetProcessor,
    ThinkSplitter,
    ThinkTags,
    count_tokens,
    split_text,
    wrapup_too_long,
)
from playground.models.adapters import apply_adapter, base_for, require_adapter
from playground.models.loading import LoadedModel, load_model, unload


class Engine:
    """The local `Backend`: holds the loaded model and generates from it.

    Several generations may run on the model at once (e.g. the two panels of a side-by-side race, or many visitors'
    chats: streamed replies share one batched decoding loop, batches of `generate_batch` run on the caller's thread);
    loading another model waits for none of them but is refused while any runs.
    """

    def __init__(self, loaded: LoadedModel | None = None):
        self.loaded = loaded
        self.batching = BatchCache()  # how generate_batch prepares the KV cache of its samples
        self.scheduler = Scheduler()  # decodes the replies that stream at the same time as one batch
        self.scheduling = True  # off: each streamed reply runs model.generate on its own thread
        self._guard = threading.Lock()
        self._active = 0
        self._tags: ThinkTags | None = None

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

    @property
    def base_name(self) -> str | None:
        """With an adapter applied: the base model's name (the model itself is named "<base> + <run>")."""
        return self.loaded.base_name if self.loaded else None

    def describe(self) -> ModelInfo | None:
        """The loaded model as the UI shows it; None when none is loaded."""
        loaded = self.loaded
        if loaded is None or loaded.model is None:
            return None
        return ModelInfo(
            name=loaded.name,
            source=loaded.source,
            description=loaded.description,
            quant=loaded.quant,
            device=loaded.device,
            params=loaded.params,
            context_length=loaded.context_length,
            notices=list(loaded.notices),
            adapter=loaded.adapter,
            base_name=loaded.base_name,
            placeholder=loaded.placeholder,
            preset=loaded.preset,
            families=loaded.families,
        )

    # ------------------------------------------------------------ loading
    def load(
        self,
        name: str = "auto",
        quant: str = "auto",
        device: str = "auto",
        offline: bool = False,
        fallback: bool = True,
    ) -> ModelInfo:
        """Serve another model. It is loaded first and swapped in only when it loaded, so a model that cannot be
        loaded leaves the current one in place (the old weights are freed after the swap). With `fallback`, a model
        the hub cannot provide is replaced by the embedded default (see `load_model`)."""
        with self._guard:
            if self._active:
                raise RuntimeError("A generation is running on the current model: stop it before loading another.")
        fresh = load_model(name, quant, device, offline, fallback=fallback)
        return self._swap(fresh)

    def _swap(self, fresh: LoadedModel) -> ModelInfo:
        """Put `fresh` in place of the current model and free the old one (refused while a generation runs)."""
        with self._guard:
            if self._active:
                unload(fresh)
                raise RuntimeError("A generation started meanwhile: stop it before loading another model.")
            old, self.loaded, self._tags = self.loaded, fresh, None
        unload(old)
        return self.describe()

    def adapter_base_for(self, adapter_dir: str | Path) -> str:
        """The model an adapter goes on, given the current model (see `models.adapters.base_for`)."""
        return base_for(adapter_dir, self.loaded)

    def load_adapter(self, adapter_dir: str | Path, offline: bool = False) -> ModelInfo:
        """Load the adapter's base afresh (see `adapter_base_for`) and apply the PEFT adapter; returns the new model,
        named "<base> + <run>" with `base_name` set to the base. The current model stays in place until both
        succeeded. Refused while a generation runs."""
        path = require_adapter(adapter_dir)
        with self._guard:
            if self._active:
                raise RuntimeError("A generation is running: stop it (or wait for it) before loading an adapter.")
            base = self.adapter_base_for(path)
            quant = self.loaded.quant if self.loaded else "auto"
            device = self.loaded.device if self.loaded else "auto"
        # fresh base weights: an adapter merged earlier must not stay underneath the new one
        fresh = load_model(base, quant, device, offline, fallback=False)
        try:
            apply_adapter(fresh, path)
        except BaseException:
            unload(fresh)
            raise
        return self._swap(fresh)

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
        """Render the chat with the model's template: (prompt ids, prompt opened <think>, notices); see `prompt.py`
        for how a prompt too long for the context is cut."""
        return render_prompt(self._require(), request, self._new_token_need(request), self.tag_text[0])

    def _new_token_need(self, request: GenerationRequest) -> int:
        loaded = self._require()
        think = request.think_budget
        if think is None:
            think = loaded.preset.max_new_tokens if loaded.preset else loaded.context_length
        answer = request.answer_budget if request.answer_budget is not None else loaded.context_length
        return think + answer + len(self.tags.close_ids) + len(self.tags.open_ids) + 2

    def _budget(self, request: GenerationRequest) -> Budget:
        """The processor's budget: the request's limits with the wrap-up sentence and "Wait," as token ids."""
        tok = self._require().tokenizer

        def enc(text: str) -> list[int]:
            return tok(text, add_special_tokens=False)["input_ids"]

        return Budget(
            think=request.think_budget,
            mode=request.budget_mode,  # type: ignore[arg-type]
            min_think=request.min_think if request.budget_mode == "extend" else 0,
            answer=request.answer_budget,
            wrapup_ids=enc("\n" + request.wrapup_text.strip() + "\n") if request.wrapup_text.strip() else [],
            wait_ids=enc("\nWait,"),
        )

    def _generate_kwargs(self, request: GenerationRequest, prompt_len: int, processor, stop: threading.Event) -> dict:
        """generate() settings: the budget processor, Stop, and how to sample. A seeded request samples with its own
        generator (`SeededSampler`, generate then runs greedily); an unseeded one uses generate's own sampling."""
        loaded = self._require()
        processors = [processor]
        sample = request.temperature > 0
        if sample and request.seed is not None:
            device = str(next(loaded.model.parameters()).device)
            top_k = request.top_k or 0
            processors.append(SeededSampler(request.seed, request.temperature, request.top_p, top_k, device))
            sample = False
        kwargs = dict(
            max_new_tokens=max(1, min(self._new_token_need(request), loaded.context_length - prompt_len)),
            do_sample=sample,
            logits_processor=LogitsProcessorList(processors),
            stopping_criteria=StoppingCriteriaList([StopOnEvent(stop)]),
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
            budget = self._budget(request)
            if budget.mode == "wrapup" and budget.think is not None and len(budget.wrapup_ids) > budget.think:
                notices.append(wrapup_too_long(len(budget.wrapup_ids), budget.think))
            for note in notices:
                yield Notice(note)
            processor = ThinkingBudgetProcessor(self.tags, budget, opened)
            streamer = CountingStreamer(loaded.tokenizer, self.tags, opened, self._hidden_ids())
            kwargs = self._generate_kwargs(request, len(ids), processor, stop)
            t0 = time.perf_counter()
            job = self._start(loaded, ids, kwargs, streamer, stop, request)
            splitter = ThinkSplitter(opened, *self.tag_text)
            stats = GenerationStats(model=loaded.name, notices=notices)
            think_end: float | None = None
            n_think = n_answer = 0
            read_to_the_end = False
            try:
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
                read_to_the_end = True
            finally:
                if not read_to_the_end:  # the caller went away (a closed generator, an error): stop generating too
                    stop.set()
                job.wait()  # the model is in use until its generation has ended
            if job.error is not None:
                raise RuntimeError(f"Generation failed: {job.error}") from job.error
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

    def _start(self, loaded: LoadedModel, ids: list[int], kwargs: dict, streamer, stop, request) -> Row | Solo:
        """Start decoding one reply: as a row of the scheduler's shared batch, or (for a model the batch loop does
        not serve, or with `scheduling` off) with `model.generate` on its own thread."""
        if self.scheduling and batchable(loaded.model):
            processors = list(kwargs["logits_processor"])
            if kwargs["do_sample"]:  # unseeded sampling: a fresh random seed, drawn with the row's own generator
                device = str(next(loaded.model.parameters()).device)
                seed = secrets.randbelow(2**63)
                processors.append(SeededSampler(seed, request.temperature, request.top_p, request.top_k or 0, device))
            row = Row(
                loaded.model,
                ids,
                processors,
                streamer,
                stop,
                kwargs["max_new_tokens"],
                frozenset(kwargs["eos_token_id"]),
            )
            return self.scheduler.submit(row)
        input_ids = torch.tensor([ids], device=next(loaded.model.parameters()).device)
        kwargs.update(input_ids=input_ids, attention_mask=torch.ones_like(input_ids), streamer=streamer)
        return Solo(loaded.model, kwargs)

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
        return final_stats(self.stream(request, stop))

    # ------------------------------------------------------------ batches (evaluation)
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
            with torch.inference_mode():
                inputs = self.batching.sample_inputs(loaded.model, input_ids, mask, n_samples, kwargs["max_new_tokens"])
                shared = self.batching.rows_share_prefix(inputs, n_samples)
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
