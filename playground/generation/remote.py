"""The remote backend: a vLLM (or any OpenAI-compatible) server generates; the playground keeps its exact budgets.

`RemoteBackend` implements `playground.generation.backend.Backend` over HTTP. `load` picks a model from the
server's `/v1/models` and finds out what the server offers (see `Capabilities`). Each request then takes one of
two paths:
- "completions" (any server with /v1/completions, and the model's tokenizer here to render the prompt): the
  continuation loop of `remote_budget.py`, exact in every budget mode;
- "native" (chat completions; vLLM with a reasoning parser): the server renders the prompt and enforces the hard
  thinking budget itself (`remote_chat.py`); wrapup and extend need the other path.
"auto" takes the completions path where it can. Batches (the evaluation) send every sample as its own request,
at most `max_in_flight` at once over all callers, so the server's continuous batching stays full.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from playground.generation.backend import ModelInfo
from playground.generation.openai_client import RemoteError, ServerClient
from playground.generation.prompt import render_prompt
from playground.generation.remote_budget import Context, ContinuationLoop, Plan, Tags
from playground.generation.remote_chat import chat_reply
from playground.generation.remote_probe import Capabilities, describe_served, load_tokenizer, probe
from playground.generation.request import Event, GenerationRequest, GenerationStats, final_stats
from playground.models.loading import ModelLoadError, resolve_source
from playground.models.presets import Preset, find_preset

PATHS = ("auto", "completions", "native")


@dataclass
class RemoteModel:
    """What `prompt.render_prompt` reads from a loaded model: its tokenizer, preset and context length."""

    tokenizer: object
    preset: Preset | None
    context_length: int


class RemoteBackend:
    """A `Backend` whose model runs on an OpenAI-compatible server at `server` (…/v1)."""

    concurrent_batches = 4  # evaluation batches in flight at once (see evaluation/run.py)

    def __init__(
        self,
        server: str,
        model: str | None = None,
        api_key: str | None = None,
        path: str = "auto",
        max_in_flight: int = 64,
        offline: bool = False,
        retries: int = 3,
        timeout: float = 600.0,
    ):
        if path not in PATHS:
            raise ValueError(f"unknown path {path!r}; choose one of {', '.join(PATHS)}")
        self.server = server.rstrip("/")
        self.client = ServerClient(self.server, api_key, timeout=timeout, retries=retries)
        self.model, self.path, self.offline, self.timeout = model, path, offline, timeout
        self.max_in_flight = max_in_flight
        self.caps = Capabilities()
        self.remote: RemoteModel | None = None
        self.info: ModelInfo | None = None
        self._slots = threading.BoundedSemaphore(max_in_flight)
        self._guard = threading.Lock()
        self._active = 0

    @property
    def retries(self) -> int:
        """Requests tried again after a failure (timeouts, 5xx, dropped connections) since the start."""
        return self.client.retries

    @property
    def busy(self) -> bool:
        return self._active > 0

    def describe(self) -> ModelInfo | None:
        return self.info

    @property
    def loaded(self) -> ModelInfo | None:
        """The served model as the app's model cache keys it (name, quant, device, adapter): `describe()`."""
        return self.info

    @contextmanager
    def _generating(self) -> Iterator[None]:
        with self._guard:
            if self.info is None:
                raise RuntimeError(f"No model is served from {self.server}: load one first.")
            self._active += 1
        try:
            yield
        finally:
            with self._guard:
                self._active -= 1

    # ------------------------------------------------------------ models
    def served(self) -> list[dict]:
        """The server's model cards (/v1/models); RemoteError when it cannot be reached."""
        cards = self.client.get("/models")
        return [c for c in (cards.get("data") if isinstance(cards, dict) else None) or [] if isinstance(c, dict)]

    def load(
        self,
        name: str = "auto",
        quant: str = "auto",
        device: str = "auto",
        offline: bool = False,
        fallback: bool = True,
    ) -> ModelInfo:
        """Serve `name` from the server's list ("auto", "current" or empty: the model given at start, else the
        first listed; a name whose folder the server serves, e.g. "tiny", picks it). Quant and device are the
        server's business and ignored."""
        with self._guard:
            if self._active:
                raise RuntimeError("A generation is running: stop it before switching models.")
        try:
            cards = self.served()
        except RemoteError as err:
            raise ModelLoadError(str(err)) from err
        if not cards:
            raise ModelLoadError(f"The server at {self.server} lists no models (/v1/models is empty).")
        card = self._pick(cards, (name or "").strip())
        self._setup(card, offline or self.offline)
        return self.info

    def _pick(self, cards: list[dict], name: str) -> dict:
        wanted = self.model if name in ("", "auto", "current") else name
        if wanted is None:
            return cards[0]
        for card in cards:
            if wanted in (card.get("id"), card.get("root")):
                return card
        source = resolve_source(wanted)
        for card in cards:
            if source in (card.get("id"), card.get("root")):
                return card
        listed = ", ".join(str(c.get("id")) for c in cards)
        raise ModelLoadError(f"The server at {self.server} does not serve {wanted!r}; it serves: {listed}.")

    def _setup(self, card: dict, offline: bool, adapter: str | None = None, base: str | None = None) -> None:
        model_id, root = str(card.get("id")), str(card.get("root") or card.get("id"))
        preset = find_preset(model_id) or find_preset(root)
        tokenizer, notices = load_tokenizer(root, model_id, offline)
        context = int(card.get("max_model_len") or getattr(tokenizer, "model_max_length", 0) or 4096)
        context = min(context, 131072)
        self.remote = RemoteModel(tokenizer, preset, context) if tokenizer is not None else None
        self.caps = probe(self.client, model_id, tokenizer, preset)
        description, placeholder, families = describe_served(root, preset)
        if self.path == "completions" and not (self.caps.completions and self.caps.tokenizer):
            notices.append("The completions path was asked for but this server or model cannot take it.")
        self.info = ModelInfo(
            name=model_id if adapter is None else f"{base} + {Path(adapter).parent.name or adapter}",
            source=f"{model_id} @ {self.server}",
            description=f"{description} — served by {self.server}. {self.caps.summary()}",
            quant="as served",
            device=f"remote ({self.server})",
            params=0,
            context_length=context,
            notices=notices,
            adapter=adapter,
            base_name=base,
            placeholder=placeholder,
            preset=preset,
            families=families,
        )
        self.model = model_id

    def load_adapter(self, adapter_dir: str, offline: bool = False) -> ModelInfo:
        """A LoRA adapter the server serves under the run's name (vLLM: --enable-lora --lora-modules RUN=PATH) is
        picked from its list; the server cannot take adapters sent from here."""
        path = Path(adapter_dir).expanduser()
        run = path.parent.name if path.name == "adapter" else path.name
        try:
            cards = self.served()
        except RemoteError as err:
            raise ModelLoadError(str(err)) from err
        for card in cards:
            if card.get("id") == run:
                base = (
                    self.info.name
                    if self.info and not self.info.adapter
                    else (self.info.base_name if self.info else None)
                )
                self._setup(card, offline or self.offline, adapter=str(path), base=base or str(card.get("parent")))
                return self.info
        raise ModelLoadError(
            f"The server at {self.server} serves the model; adapters are loaded by the server, not sent from here. "
            f"Start vLLM with --enable-lora --lora-modules {run}={path} and load it again (served now: "
            f"{', '.join(str(c.get('id')) for c in cards)})."
        )

    # ------------------------------------------------------------ generation
    def _route(self, request: GenerationRequest) -> str:
        """The path for this request, or ValueError saying why the server can take none."""
        caps = self.caps
        loop = caps.completions and caps.tokenizer
        if self.path == "completions" or (self.path == "auto" and loop):
            if not loop:
                raise ValueError(
                    f"The server at {self.server} has no /v1/completions for this model, or its tokenizer is not "
                    "available here, so the continuation loop cannot run."
                )
            return "completions"
        if request.think_budget is not None and not caps.thinking_budget:
            raise ValueError(
                f"The server at {self.server} cannot enforce a thinking budget: it takes no thinking_token_budget "
                "(start vLLM with --reasoning-parser and --reasoning-config) and offers no /v1/completions with the "
                "model's tokenizer here. Choose an unlimited thinking budget."
            )
        if request.think_budget not in (None, 0) and request.budget_mode != "hard":
            raise ValueError(
                f"The {request.budget_mode} mode needs the continuation loop (/v1/completions and the model's "
                "tokenizer here); the server itself enforces hard budgets only."
            )
        return "native"

    def stream(self, request: GenerationRequest, stop: threading.Event | None = None) -> Iterator[Event]:
        """One reply as events (see `Backend.stream`); closing the generator closes the HTTP stream."""
        request.validate()
        stop = stop or threading.Event()
        route = self._route(request)
        finished = False
        with self._generating():
            try:
                if route == "completions":
                    yield from ContinuationLoop(self.client, self._plan(request), request, stop).events()
                else:
                    system = self._system(request)
                    yield from chat_reply(self.client, self.model, request, system, stop, self.caps)
                finished = True
            finally:
                if not finished:
                    stop.set()

    def _system(self, request: GenerationRequest) -> str:
        if request.system_prompt is not None:
            return request.system_prompt
        return self.info.preset.system_prompt if self.info and self.info.preset else ""

    def _plan(self, request: GenerationRequest) -> Plan:
        remote = self.remote
        tok = remote.tokenizer
        preset = remote.preset
        open_text, close_text = (preset.think_open, preset.think_close) if preset else ("<think>", "</think>")

        def enc(text: str) -> list[int]:
            return tok(text, add_special_tokens=False)["input_ids"]

        think = request.think_budget if request.think_budget is not None else remote.context_length
        answer = request.answer_budget if request.answer_budget is not None else remote.context_length
        ids, opened, notices = render_prompt(remote, request, think + answer + 8, open_text)
        eos = tok.eos_token_id
        eos_ids = [e for e in (eos if isinstance(eos, list) else [eos]) if e is not None]
        wrap = "\n" + request.wrapup_text.strip() + "\n" if request.wrapup_text.strip() else ""
        text = tok.decode(ids, skip_special_tokens=False)
        return Plan(
            model=self.model,
            context=Context(ids if self.caps.token_ids else None, text),
            opened=opened,
            tags=Tags(open_text, close_text, enc(open_text), enc(close_text), eos_ids),
            wrapup_ids=enc(wrap) if wrap else [],
            wait_ids=enc("\nWait,"),
            wait_text="\nWait,",
            context_length=remote.context_length,
            decode=lambda part: tok.decode(part, skip_special_tokens=False),
            notices=notices,
        )

    def generate(self, request: GenerationRequest, stop: threading.Event | None = None) -> GenerationStats:
        return final_stats(self.stream(request, stop))

    def generate_batch(
        self,
        prompts: list[list[dict[str, str]]],
        request: GenerationRequest,
        n_samples: int = 1,
        stop: threading.Event | None = None,
    ) -> list[list[GenerationStats]]:
        """Every sample as its own request, all sent at once (at most `max_in_flight` in flight). A reply cut off
        midway is generated again (counted in `retries`); a request that still fails stops the others and raises
        RemoteError."""
        from concurrent.futures import ThreadPoolExecutor

        stop = stop or threading.Event()
        mine = _EitherStop(stop)
        jobs = [(i, j) for i in range(len(prompts)) for j in range(n_samples)]
        for messages in prompts:
            replace(request, messages=messages).validate()

        def run(job: tuple[int, int]) -> GenerationStats:
            i, j = job
            seed = None if request.seed is None else (request.seed * 1_000_003 + j) % 2**63
            with self._slots:
                for attempt in range(self.client.tries):
                    if mine.is_set():
                        return GenerationStats(model=self.model or "", stopped=True)
                    try:
                        return self.generate(replace(request, messages=prompts[i], seed=seed), mine)
                    except RemoteError as err:  # a reply cut off midway is generated again from its start
                        if not err.retryable or attempt + 1 >= self.client.tries:
                            mine.set()
                            raise
                        self.client.wait(attempt)
                    except BaseException:
                        mine.set()
                        raise
                return GenerationStats(model=self.model or "", stopped=True)

        if not jobs:
            return []
        with ThreadPoolExecutor(max_workers=min(len(jobs), self.max_in_flight)) as pool:
            futures = [pool.submit(run, job) for job in jobs]
        results = [f.result() for f in futures]  # the first failure is raised here, after all have ended
        return [results[i * n_samples : (i + 1) * n_samples] for i in range(len(prompts))]


class _EitherStop:
    """A stop flag set by the caller's event or by this batch (a failed request stops its siblings)."""

    def __init__(self, outer: threading.Event):
        self.outer, self.own = outer, threading.Event()

    def is_set(self) -> bool:
        return self.outer.is_set() or self.own.is_set()

    def set(self) -> None:
        self.own.set()


def api_key_from(env_var: str | None) -> str | None:
    """The API key held in environment variable `env_var` (None when no variable is named); a named variable
    that is unset or empty is an error the user must see."""
    if not env_var:
        return None
    key = os.environ.get(env_var, "").strip()
    if not key:
        raise ValueError(f"--api-key-env {env_var}: that environment variable is not set or empty")
    return key


def connect(server: str, model: str | None = None, api_key_env: str | None = None, offline: bool = False):
    """A `RemoteBackend` on `server` serving `model` (default: the server's first), as the app and the CLIs make it.
    Raises ValueError (bad --api-key-env) or ModelLoadError (the server cannot be reached or lacks the model)."""
    backend = RemoteBackend(server, model, api_key_from(api_key_env), offline=offline)
    backend.load(model or "auto")
    return backend
