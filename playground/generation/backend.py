"""The seam between the playground and whatever generates: the `Backend` protocol and the `ModelInfo` it describes.

The UI, the CLIs and the evaluation talk to a backend only through these methods and the types of
`playground.generation.request`, so a backend that generates elsewhere (e.g. an OpenAI-compatible server) plugs in
without touching them. `playground.generation.engine.Engine` (local transformers weights) is the first
implementation. Nothing here imports torch.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from playground.generation.request import Event, GenerationRequest, GenerationStats
from playground.models.presets import Preset


@dataclass
class ModelInfo:
    """What the UI shows about the model a backend serves: its banner, its defaults and what the user must know."""

    name: str  # as the user named it; "<base> + <run>" with an adapter applied
    source: str  # the folder, hub id or server actually used
    description: str
    quant: str  # 4bit | 8bit | none (or what the server reports)
    device: str
    params: int  # number of parameters (0 when unknown)
    context_length: int  # longest sequence the model takes (prompt + generated)
    notices: list[str] = field(default_factory=list)
    adapter: str | None = None  # the PEFT adapter folder applied on top, if any
    base_name: str | None = None  # with an adapter: the base model's name (what to compare against)
    placeholder: bool = False  # random weights: it streams noise
    preset: Preset | None = None  # sampling defaults and system prompt of a known model
    families: list[str] | None = None  # puzzle families it was trained on (None: a general model, any family)

    def knows(self, family: str) -> bool:
        """Whether the model was trained on the puzzle family (a general model is assumed to know every one)."""
        return self.families is None or family in self.families


@runtime_checkable
class Backend(Protocol):
    """Generates replies for the playground. Several generations may run at once; loading waits for none."""

    def load(
        self,
        name: str = "auto",
        quant: str = "auto",
        device: str = "auto",
        offline: bool = False,
        fallback: bool = True,
    ) -> ModelInfo:
        """Serve the model `name` from now on. Raises ModelLoadError with a message for the user; with `fallback`,
        a model that cannot be reached may be replaced by the embedded default (the notices say so)."""
        ...

    def load_adapter(self, adapter_dir: str, offline: bool = False) -> ModelInfo:
        """Serve the adapter's base with the PEFT adapter folder `adapter_dir` on top, named "<base> + <run>".
        Raises ModelLoadError when the adapter or its base cannot be loaded (or this backend takes no adapters)."""
        ...

    def describe(self) -> ModelInfo | None:
        """The model served now, or None when none is loaded."""
        ...

    @property
    def busy(self) -> bool:
        """True while any generation runs."""
        ...

    def stream(self, request: GenerationRequest, stop: threading.Event | None = None) -> Iterator[Event]:
        """One reply as events: Notice*, ThinkingDelta*, ThinkingDone?, AnswerDelta*, then Done(stats).
        Raises ValueError for a bad request; setting `stop` ends the generation within a token."""
        ...

    def generate(self, request: GenerationRequest, stop: threading.Event | None = None) -> GenerationStats:
        """One reply, run to the end."""
        ...

    def generate_batch(
        self,
        prompts: list[list[dict[str, str]]],
        request: GenerationRequest,
        n_samples: int = 1,
        stop: threading.Event | None = None,
    ) -> list[list[GenerationStats]]:
        """`n_samples` replies per chat in `prompts` (the request gives sampling and budgets; its messages are
        ignored); per prompt, its samples in order."""
        ...
