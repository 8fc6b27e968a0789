"""Before/after evaluation of a fully fine-tuned run (GRPO's `model/` folder): its base and the trained model on the
same held-out puzzles, with the same settings and sampling seed.

`playground.evaluation.compare` does this for an adapter applied on its base; a full fine-tune is a model of its
own, so here both are loaded as models and judged by the same `run_evaluation`, and the result is the same
`Comparison` (pass@1 ± std, tokens, and the answers that changed, right → wrong and wrong → right). The app's
loaded model serves as the base when it is exactly the base; at most one extra model is in memory at a time.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

from playground.evaluation.compare import CompareConfig, Comparison, Progress, default_config, run_config
from playground.evaluation.run import EvalResult, run_evaluation
from playground.generation.engine import Engine
from playground.models.loading import load_model, resolve_source, unload


def is_full_model(path: str | Path) -> bool:
    """Whether a run's output folder is a whole model (config.json) rather than a PEFT adapter."""
    path = Path(path)
    return (path / "config.json").is_file() and not (path / "adapter_config.json").is_file()


def compare_model(
    engine: Engine,
    model_dir: str | Path,
    config: CompareConfig | None = None,
    offline: bool = False,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
) -> Comparison:
    """Evaluate the run's base, then the trained model, on the same held-out puzzles; results go to
    runs/<run>/before-after/ (base/, model/ and comparison.json)."""
    model_dir = Path(model_dir).expanduser()
    config = config or default_config(model_dir)
    config.validate()
    stop = stop or threading.Event()
    base = str(run_config(model_dir).get("base_model") or "")
    if not base:
        raise ValueError(f"{model_dir} does not say which base it was trained from (training_config.yaml)")
    out = model_dir.parent / "before-after"
    per_model = config.puzzles * config.samples

    def evaluate(eng: Engine, label: str, offset: int) -> EvalResult:
        report = None
        if progress is not None:
            report = lambda done, _total, message: progress(offset + done, 2 * per_model, message)  # noqa: E731
        return run_evaluation(eng, config.eval_config(label), report, stop, out_dir=out / label)

    current = engine.loaded
    reuse = current is not None and not current.adapter and resolve_source(current.source) == resolve_source(base)
    loaded = None
    try:
        if not reuse:
            loaded = load_model(base, "none", "auto", offline, fallback=False)
        before = evaluate(engine if reuse else Engine(loaded), "base", 0)
        unload(loaded)
        loaded = load_model(str(model_dir), "none", "auto", offline, fallback=False)
        after = evaluate(Engine(loaded), "model", per_model)
    finally:
        unload(loaded)
    result = Comparison(str(model_dir), base if not reuse else current.name, config, before, after)
    out.mkdir(parents=True, exist_ok=True)
    (out / "comparison.json").write_text(json.dumps(result.to_json(), indent=1, ensure_ascii=False))
    return result
