"""PEFT adapters: the one place an adapter is found, applied to a loaded model and named.

A model with an adapter is named "<base> + <run>" everywhere (e.g. "tiny + sft-0101"), where <run> is the training
run's name for runs/<run>/adapter and the folder's own name otherwise; `LoadedModel.base_name` keeps the base's name
so a comparison can load the base on its own.
"""

from __future__ import annotations

import json
from pathlib import Path

from playground.models.loading import LoadedModel, ModelLoadError

CONFIG_FILE = "adapter_config.json"


def adapter_label(adapter_dir: str | Path) -> str:
    """A short name for an adapter folder: the run's name for runs/<run>/adapter, else the folder's name."""
    path = Path(adapter_dir)
    return path.parent.name if path.name == "adapter" and path.parent.name else path.name


def adapted_name(base: str, adapter_dir: str | Path) -> str:
    """The name of a base with an adapter applied: "<base> + <run label>"."""
    return f"{base} + {adapter_label(adapter_dir)}"


def is_adapter(adapter_dir: str | Path) -> bool:
    """Whether a folder holds a PEFT adapter (its adapter_config.json)."""
    return (Path(adapter_dir).expanduser() / CONFIG_FILE).is_file()


def require_adapter(adapter_dir: str | Path) -> Path:
    """The folder as a path; ModelLoadError when it is not a PEFT adapter folder."""
    path = Path(adapter_dir).expanduser()
    if not is_adapter(path):
        raise ModelLoadError(f"{path} is not a PEFT adapter folder (no {CONFIG_FILE})")
    return path


def adapter_base(adapter_dir: str | Path) -> str | None:
    """The base model an adapter folder names (base_model_name_or_path), if any."""
    try:
        config = json.loads((Path(adapter_dir).expanduser() / CONFIG_FILE).read_text())
    except (OSError, ValueError):
        return None
    return config.get("base_model_name_or_path") or None


def same_model(a: str, b: str) -> bool:
    """Whether two model references name the same weights (equal text, or the same folder on disk)."""
    if a == b:
        return True
    pa, pb = Path(a).expanduser(), Path(b).expanduser()
    return pa.exists() and pb.exists() and pa.resolve() == pb.resolve()


def base_for(adapter_dir: str | Path, current: LoadedModel | None) -> str:
    """The model an adapter goes on: the base it names, or the current model's base when it names none or the same
    weights (then the current model's own name is kept, e.g. 'tiny')."""
    named = adapter_base(adapter_dir)
    base = (current.base_name or current.name) if current else None
    if current is None or base is None:
        if not named:
            raise ModelLoadError(f"{adapter_dir} names no base model and none is loaded: load its base first.")
        return named
    if not named or same_model(named, current.source) or named in (current.name, base):
        return base
    return named


def apply_adapter(loaded: LoadedModel, adapter_dir: str | Path, merge: bool | None = None) -> LoadedModel:
    """Apply a PEFT (LoRA/QLoRA) adapter folder to a loaded base, in place, and name the result "<base> + <run>".

    `merge` (default: when the base is not quantized) folds the adapter into the weights: same outputs, faster
    generation. A folder without adapter_config.json, or one whose shapes do not fit the base, raises ModelLoadError
    and leaves the base as it was.
    """
    path = require_adapter(adapter_dir)
    try:
        from peft import PeftModel
    except ImportError as err:
        raise ModelLoadError(f"loading an adapter needs the 'peft' package: {err}") from err
    try:
        model = PeftModel.from_pretrained(loaded.model, str(path))
    except (ValueError, RuntimeError, OSError, KeyError) as err:
        raise ModelLoadError(f"could not apply the adapter {path} to {loaded.name!r}: {err}") from err
    if loaded.quant == "none" if merge is None else merge:
        model = model.merge_and_unload()
    model.eval()
    trained_on = adapter_base(path) or ""
    same = trained_on in (loaded.source, loaded.name) or Path(trained_on).name == Path(loaded.source).name
    if trained_on and not same:
        loaded.notices.append(f"The adapter was trained on {trained_on!r}, not on {loaded.source!r}.")
    loaded.model = model
    loaded.adapter = str(path)
    loaded.base_name = loaded.base_name or loaded.name
    loaded.name = adapted_name(loaded.name, path)
    loaded.description = f"{loaded.description}, with the adapter {path}"
    return loaded


def find_adapters(runs_dir: str | Path) -> list[str]:
    """Adapter folders saved under `runs_dir` (newest first), for the adapter pickers."""
    try:
        found = [p.parent for p in Path(runs_dir).glob(f"**/{CONFIG_FILE}")]
    except OSError:
        return []
    return [str(p) for p in sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)]
