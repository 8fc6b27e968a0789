"""Loading and unloading models: presets, hub ids or local folders; 4-bit NF4 / 8-bit / full precision; CUDA or CPU.

The hub is checked once with a short TCP probe so an unreachable hub fails in about a second (not after the hub
client's long series of retries); offline, only local folders and the local cache are used, and the caller may fall
back to the embedded default model.
"""

from __future__ import annotations

import gc
import json
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, BitsAndBytesConfig

from playground.models.presets import (
    AUTO_GPU_ORDER,
    DEVICES,
    EMBEDDED_NAMES,
    PLACEHOLDER_DIR,
    PRESETS,
    QUANTS,
    TINY_REASONER_DIR,
    Preset,
    find_preset,
)


class ModelLoadError(RuntimeError):
    """A model could not be loaded; the message is meant for the user (what went wrong and what to do)."""


@dataclass
class LoadedModel:
    """A model ready to generate, with what the UI needs to describe it."""

    model: torch.nn.Module
    tokenizer: object
    name: str  # what the user asked for, resolved ("tiny", a preset name, a hub id or a path)
    source: str  # the folder or hub id actually loaded
    preset: Preset | None
    quant: str
    device: str
    description: str
    placeholder: bool = False
    notices: list[str] = field(default_factory=list)
    adapter: str | None = None  # a PEFT adapter folder applied on top (models.adapters.apply_adapter)
    base_name: str | None = None  # with an adapter: the base's name (`name` is then "<base> + <run>")
    families: list[str] | None = None  # puzzle families it was trained on (None: a general model)

    @property
    def context_length(self) -> int:
        """Longest sequence the model takes (prompt + generated)."""
        n = getattr(self.model.config, "max_position_embeddings", None) or 4096
        return int(min(n, 131072))

    @property
    def params(self) -> int:
        """Number of parameters; a 4-bit weight is stored packed (two per byte), so its original shape counts."""
        total = 0
        for p in self.model.parameters():
            state = getattr(p, "quant_state", None)
            total += int(torch.Size(state.shape).numel()) if state is not None else p.numel()
        return total


def hub_reachable(timeout: float = 1.0) -> bool:
    """True when the Hugging Face hub answers a TCP connect (never when HF_HUB_OFFLINE is set)."""
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
        return False
    try:
        with socket.create_connection(("huggingface.co", 443), timeout=timeout):
            return True
    except OSError:
        return False


def embedded_default_path() -> Path:
    """The embedded default: the trained tiny reasoner when shipped, else the placeholder (built on first use)."""
    if (TINY_REASONER_DIR / "config.json").exists():
        return TINY_REASONER_DIR
    if not (PLACEHOLDER_DIR / "config.json").exists():
        from playground.models.placeholder import build_placeholder

        build_placeholder(PLACEHOLDER_DIR)
    return PLACEHOLDER_DIR


def existing_path(name: str) -> Path | None:
    """`name` as an existing file or folder on this machine (`~` expanded), or None: nothing there, or a name that
    cannot be a path at all (longer than the file system allows, a NUL character, an unknown user's `~`)."""
    try:
        path = Path(name).expanduser()
        return path if path.exists() else None
    except (OSError, ValueError, RuntimeError):
        return None


def resolve_source(name: str) -> str:
    """Where a model name's weights come from: the embedded names → the embedded folder, a preset (by name or hub
    id) → its hub id, an existing folder → its absolute path, anything else (a hub id) as given."""
    name = (name or "").strip()
    if name.lower() in EMBEDDED_NAMES:
        return str(embedded_default_path())
    preset = find_preset(name)
    if preset is not None:
        return preset.hub_id
    path = existing_path(name)
    return str(path.resolve()) if path is not None else name


ZEROGPU_MEMORY_GB = 70.0  # GPU memory of a ZeroGPU task (its "large" slice); ZEROGPU_CUDA_TOTAL_MEMORY overrides


def on_zerogpu() -> bool:
    """Whether this is a ZeroGPU Space, told as the `spaces` package tells it (SPACES_ZERO_GPU). There the main
    process has no GPU: CUDA exists only inside `@spaces.GPU` calls, and `torch.cuda` answers are stand-ins."""
    return os.environ.get("SPACES_ZERO_GPU", "").lower() in ("1", "t", "true")


def zerogpu_memory_gb() -> float:
    """GPU memory a ZeroGPU task gets, from the Space's settings (never from torch.cuda, which is faked there)."""
    try:
        return int(os.environ["ZEROGPU_CUDA_TOTAL_MEMORY"]) / 1e9
    except (KeyError, ValueError):
        return ZEROGPU_MEMORY_GB


def resolve_device(device: str) -> str:
    """'auto' → 'cuda' when a GPU is visible (always on ZeroGPU, where the GPU comes per call), else 'cpu'; asking
    for CUDA without one is an error."""
    if device not in DEVICES:
        raise ModelLoadError(f"unknown device {device!r}; choose one of {', '.join(DEVICES)}")
    if on_zerogpu():
        return device if device == "cpu" else "cuda"
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ModelLoadError("--device cuda was asked for but no CUDA GPU is visible; use --device cpu or auto")
    return device


def resolve_quant(quant: str, device: str) -> str:
    """'auto' → 4-bit NF4 on CUDA, full precision on CPU, and bf16 on ZeroGPU: bitsandbytes quantizes while
    loading, on a GPU, and ZeroGPU's main process (where models load) has none."""
    if quant not in QUANTS:
        raise ModelLoadError(f"unknown quantization {quant!r}; choose one of {', '.join(QUANTS)}")
    if quant == "auto":
        return "4bit" if device == "cuda" and not on_zerogpu() else "none"
    return quant


def free_memory_gb(device: str) -> float:
    """Free memory where the weights would go: GPU memory on CUDA, available RAM on CPU."""
    if device == "cuda" and on_zerogpu():
        return zerogpu_memory_gb()
    if device == "cuda":
        free, _ = torch.cuda.mem_get_info()
        return free / 1e9
    try:
        with open("/proc/meminfo") as fh:
            info = {line.split(":")[0]: int(line.split()[1]) for line in fh}
        return info.get("MemAvailable", 0) / 1e6
    except OSError:
        return float("inf")


def check_memory(preset: Preset, quant: str, device: str) -> None:
    """Refuse a preset whose estimated need exceeds free memory, saying which presets would fit."""
    need = preset.need_gb(quant)
    if device == "cpu" and quant == "none":
        need = preset.params_b * 4.1 + 1  # float32 on CPU
    free = free_memory_gb(device)
    if need <= free:
        return
    fits = [p.name for p in PRESETS.values() if p.need_gb("4bit") <= free]
    where = "GPU" if device == "cuda" else "RAM"
    hint = f" Presets that fit in 4-bit: {', '.join(fits)}." if fits else " No preset fits; use the embedded 'tiny'."
    raise ModelLoadError(
        f"{preset.name} needs about {need:.1f} GB ({quant}) but only {free:.1f} GB of {where} is free.{hint}"
    )


def bnb_config(quant: str, compute_dtype: torch.dtype = torch.bfloat16) -> BitsAndBytesConfig | None:
    """The bitsandbytes recipe for `quant`: 4-bit NF4 with double quantization, or 8-bit; None for full precision.

    The app's loader and the training runs both quantize with it, so a QLoRA adapter is trained on the same 4-bit
    weights it is later applied to."""
    if quant == "4bit":
        return BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=compute_dtype,
        )
    if quant == "8bit":
        return BitsAndBytesConfig(load_in_8bit=True)
    return None


def quantization_kwargs(quant: str, device: str) -> dict:
    """`from_pretrained` keyword arguments for a resolved quantization ("4bit", "8bit", "none") on a device."""
    if quant == "4bit":
        return {"quantization_config": bnb_config(quant), "dtype": torch.bfloat16}
    if quant == "8bit":
        return {"quantization_config": bnb_config(quant)}
    return {"dtype": torch.bfloat16 if device == "cuda" else torch.float32}


def _describe_local(path: Path) -> tuple[str, bool, list[str] | None]:
    """(description, is the random-weight placeholder, puzzle families it was trained on) from playground.json."""
    try:
        info = json.loads((path / "playground.json").read_text())
    except (OSError, ValueError):
        return f"local model {path}", False, None
    if not isinstance(info, dict):
        return f"local model {path}", False, None
    families = info.get("families")
    families = [str(f) for f in families] if isinstance(families, list) else None
    return str(info.get("description", path.name)), info.get("kind") == "placeholder", families


def load_model(
    name: str = "auto", quant: str = "auto", device: str = "auto", offline: bool = False, fallback: bool = True
) -> LoadedModel:
    """Load `name` (preset, hub id, local folder, 'tiny' or 'auto') and its tokenizer.

    With `fallback`, a model that cannot be fetched because the hub is unreachable (or `offline`) is replaced by the
    embedded default, and the returned notices say so. Other errors raise ModelLoadError with a user-facing message.
    """
    device = resolve_device(device)
    notices: list[str] = []
    online = not offline and hub_reachable()
    name = (name or "auto").strip()
    if name == "auto":
        name = _auto_choice(device, online, notices, resolve_quant(quant, device))
    if name.lower() in EMBEDDED_NAMES:
        return _load(embedded_default_path(), "tiny", None, resolve_quant(quant, device), device, notices, True)
    preset = find_preset(name)
    path = existing_path(name)
    if preset is None and path is not None:
        if not (path / "config.json").exists():
            raise ModelLoadError(f"{path} is a folder but has no config.json: not a transformers model folder")
        return _load(path, name, None, resolve_quant(quant, device), device, notices, True)
    source = preset.hub_id if preset else name
    quant = resolve_quant(quant, device)
    if preset:
        check_memory(preset, quant, device)
    try:
        return _load(source, preset.name if preset else name, preset, quant, device, notices, local_only=not online)
    except ModelLoadError as err:
        if not fallback or online:
            raise
        notices.append(f"{err} Falling back to the embedded default model.")
        return _load(embedded_default_path(), "tiny", None, resolve_quant("auto", device), device, notices, True)


def _auto_choice(device: str, online: bool, notices: list[str], quant: str = "4bit") -> str:
    """The best preset of AUTO_GPU_ORDER that fits in free GPU memory at `quant`, else the embedded 'tiny'."""
    if device == "cuda" and online:
        free = free_memory_gb("cuda")
        for candidate in AUTO_GPU_ORDER:
            if PRESETS[candidate].need_gb(quant) <= free:
                return candidate
    if device == "cuda" and not online:
        notices.append("The Hugging Face hub is unreachable, so the embedded default model is used.")
    return "tiny"


def _load(
    source: str | Path,
    name: str,
    preset: Preset | None,
    quant: str,
    device: str,
    notices: list[str],
    local_only: bool,
) -> LoadedModel:
    """Load weights and tokenizer from a folder or the hub (cache only when `local_only`)."""
    kwargs = {"local_files_only": local_only, **quantization_kwargs(quant, device)}
    zerogpu = device == "cuda" and on_zerogpu()  # loaded on the CPU, then moved as ZeroGPU expects (`.to("cuda")`)
    if (quant in ("4bit", "8bit") or device == "cuda") and not zerogpu:
        kwargs["device_map"] = "auto" if device == "cuda" else {"": "cpu"}
    try:
        # never a model's own Python code (trust_remote_code), and never a y/N question on the server's terminal
        tokenizer = AutoTokenizer.from_pretrained(str(source), local_files_only=local_only, trust_remote_code=False)
        model = AutoModelForCausalLM.from_pretrained(str(source), trust_remote_code=False, **kwargs)
    except OSError as err:
        where = "the hub is unreachable (offline) and it is not in the local cache" if local_only else str(err)
        if str(source).startswith(("/", ".", "~")):  # a path, never a hub id: say what is wrong with it
            where = "there is no such folder on this machine"
        raise ModelLoadError(f"Could not load {name!r}: {where}.") from err
    except (ValueError, ImportError, RuntimeError, TypeError, KeyError, AttributeError) as err:
        if "trust_remote_code" in str(err):
            raise ModelLoadError(
                f"Could not load {name!r}: it needs its own Python code to run (trust_remote_code), which the "
                "playground never runs."
            ) from err
        # a folder whose config.json is not a model config (e.g. `[]`) fails deep inside transformers
        raise ModelLoadError(f"Could not load {name!r}: {type(err).__name__}: {err}") from err
    if device == "cpu" and quant == "none":
        model.to("cpu")
    if zerogpu:
        model.to("cuda")
    model.eval()
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "left"  # batched generation appends to the right
    placeholder, families = False, None
    if Path(str(source)).exists():
        description, placeholder, families = _describe_local(Path(str(source)))
    else:
        description = preset.description if preset else f"hub model {source}"
    if placeholder:
        notices.append(
            "This is an UNTRAINED PLACEHOLDER with random weights: it streams noise. It exists so budgets and the "
            "interface can be tried without a GPU; load a real model for real reasoning."
        )
    return LoadedModel(
        model, tokenizer, name, str(source), preset, quant, device, description, placeholder, notices, families=families
    )


def unload(loaded: LoadedModel | None) -> None:
    """Release a model's memory (GPU memory included) so that switching models does not grow memory."""
    if loaded is None:
        return
    loaded.model = None
    gc.collect()
    if not on_zerogpu() and torch.cuda.is_available():
        torch.cuda.empty_cache()
