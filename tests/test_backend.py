"""The backend seam: the local Engine satisfies the Backend protocol, describes its model, and streams through it;
the protocol and its types import no torch, so a remote backend can implement them without it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from playground.generation.backend import Backend, ModelInfo
from playground.generation.engine import Engine
from playground.generation.request import Done, GenerationRequest, GenerationStats, ThinkingDone

ROOT = Path(__file__).resolve().parent.parent


def test_engine_is_a_backend_and_streams_through_it(engine):
    backend: Backend = engine
    assert isinstance(backend, Backend)
    assert not isinstance(object(), Backend)  # the check looks at the methods: an object without them fails it
    info = backend.describe()
    loaded = engine.loaded
    assert isinstance(info, ModelInfo)
    assert (info.name, info.source, info.quant, info.device) == (loaded.name, loaded.source, "none", "cpu")
    assert info.params == loaded.params > 0 and info.context_length == loaded.context_length
    assert info.adapter is None and info.base_name is None and info.placeholder
    info.notices.append("changed by a caller")
    assert "changed by a caller" not in engine.loaded.notices  # a description, not a handle on the engine's state

    prompt = [{"role": "user", "content": "Is 91 prime?"}]
    request = GenerationRequest(prompt, temperature=0, think_budget=6, answer_budget=4)
    events = list(backend.stream(request))
    assert isinstance(events[-1], Done) and events[-1].stats.model == info.name
    assert any(isinstance(e, ThinkingDone) and e.budget_reached for e in events)
    assert events[-1].stats.thinking_tokens == 6 and events[-1].stats.answer_tokens <= 4
    assert backend.generate(request).thinking == events[-1].stats.thinking  # greedy: the same reply
    batch = backend.generate_batch([request.messages], request, n_samples=2)
    assert [len(samples) for samples in batch] == [2] and isinstance(batch[0][0], GenerationStats)
    assert not backend.busy


def test_an_engine_without_a_model_describes_none():
    assert Engine().describe() is None


def test_the_protocol_and_its_types_import_no_torch():
    code = (
        "import sys\n"
        "import playground.generation.backend, playground.generation.request, playground.generation.chat_session\n"
        "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
