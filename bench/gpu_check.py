"""GPU readiness: the CUDA paths end to end on a model of a real architecture's shape, with no hub access.

    python bench/gpu_check.py              # CUDA: a Qwen3-1.7B-shaped model (random weights), 4-bit NF4
    python bench/gpu_check.py --cpu-smoke  # the same steps on a tiny Qwen3 of the same architecture, on CPU

Builds a local model folder (random weights; the tiny tokenizer of playground/models/tiny_tokenizer.py, its
vocabulary padded with filler tokens to the config's size), then through the playground's own code: the memory
check, the 4-bit NF4 load (`models.loading`), streams under hard and wrap-up budgets (`Engine.stream`, checked
exact), a batched evaluation (`evaluation.run`), and three QLoRA steps (`training.sft.run`). It prints decode
tokens/s at batch 1 and 16 and the time to first token for the engine and for plain `model.generate` side by side,
peak memory, and the memory-bandwidth ceiling: weight bytes read per decode step ÷ measured copy bandwidth.
Exit code 0 when every check held, 1 otherwise (the failed checks are listed).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing here may reach the hub
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import torch  # noqa: E402


@dataclass(frozen=True)
class Shape:
    """A Qwen3 shape: Qwen3-1.7B's for the GPU, a tiny one (bitsandbytes-friendly sizes) for the CPU smoke."""

    hidden: int
    intermediate: int
    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    vocab: int  # 0: the tokenizer's size rounded up to a multiple of 64
    decode_tokens: int  # tokens per decode measurement
    eval_puzzles: int
    eval_samples: int


QWEN3_1_7B = Shape(2048, 6144, 28, 16, 8, 128, 151_936, 256, 8, 4)
# in_features % 64 == 0 and out_features % 32 == 0 in every linear layer: bitsandbytes 4-bit on CPU
TINY_QWEN3 = Shape(128, 384, 2, 4, 2, 32, 0, 32, 2, 2)


def build_model(out: Path, shape: Shape, device: str) -> Path:
    """A Qwen3 folder with random weights and a local tokenizer padded to the model's vocabulary."""
    from tokenizers import Tokenizer
    from transformers import GenerationConfig, PreTrainedTokenizerFast, Qwen3ForCausalLM

    from playground.models.tiny_tokenizer import build_tokenizer

    base = build_tokenizer(model_max_length=8192, open_think=True)
    vocab = shape.vocab or -(-len(base) // 64) * 64
    state = json.loads(base.backend_tokenizer.to_str())
    # the added tokens join the model's vocabulary under their ids (so they keep them when the tokenizer is read
    # back), then filler words take every id up to the config's vocabulary size
    words = state["model"]["vocab"]
    words.update({t["content"]: t["id"] for t in state["added_tokens"]})
    taken = set(words.values())
    words.update({f"\u2581w{i}": i for i in range(vocab) if i not in taken})
    tok = PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer.from_str(json.dumps(state)),
        clean_up_tokenization_spaces=False,
        eos_token=base.eos_token,
        pad_token=base.pad_token,
        unk_token=base.unk_token,
        chat_template=base.chat_template,
        model_max_length=8192,
        padding_side="left",
    )
    config = qwen3_config(shape, vocab, tok.eos_token_id, tok.pad_token_id)
    torch.manual_seed(0)
    with torch.device(device):
        model = Qwen3ForCausalLM(config).to(torch.bfloat16)
    model.generation_config = GenerationConfig(eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    model.save_pretrained(out)
    tok.save_pretrained(out)
    (out / "playground.json").write_text(json.dumps({"description": "gpu_check: random-weight Qwen3"}))
    del model
    return out


def qwen3_config(shape: Shape, vocab: int, eos: int | None = None, pad: int | None = None):
    """The transformers config of a Qwen3 of `shape` (tied embeddings, as Qwen3-1.7B)."""
    from transformers import Qwen3Config

    return Qwen3Config(
        vocab_size=vocab,
        hidden_size=shape.hidden,
        intermediate_size=shape.intermediate,
        num_hidden_layers=shape.layers,
        num_attention_heads=shape.heads,
        num_key_value_heads=shape.kv_heads,
        head_dim=shape.head_dim,
        max_position_embeddings=40_960,
        tie_word_embeddings=True,
        rope_theta=1_000_000.0,
        bos_token_id=None,
        eos_token_id=eos,
        pad_token_id=pad,
    )


def copy_bandwidth_gbs(device: str, nbytes: int) -> float:
    """Memory bandwidth measured by copying a buffer (bytes read + bytes written per second), in GB/s."""
    src = torch.empty(nbytes, dtype=torch.uint8, device=device)
    dst = torch.empty_like(src)
    dst.copy_(src)
    sync(device)
    t0 = time.perf_counter()
    for _ in range(5):
        dst.copy_(src)
    sync(device)
    return 2 * nbytes * 5 / (time.perf_counter() - t0) / 1e9


def sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def reset_peak(device: str) -> None:
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()


def peak(device: str) -> str:
    """Peak memory since the last `reset_peak`: GPU memory allocated on CUDA, this process's peak RSS on CPU."""
    if device == "cuda":
        return f"{torch.cuda.max_memory_allocated() / 1e9:.2f} GB GPU"
    from training.progress import peak_rss_gb

    return f"{peak_rss_gb():.2f} GB RSS (process peak)"


def weight_bytes(model: torch.nn.Module) -> int:
    """Bytes of every parameter and buffer as stored (4-bit weights packed, their quantization state included)."""
    total = sum(t.numel() * t.element_size() for t in [*model.parameters(), *model.buffers()])
    for p in model.parameters():
        state = getattr(p, "quant_state", None)
        if state is not None:
            total += state.absmax.numel() * state.absmax.element_size()
    return total


class Report:
    """Checks (name → ok, detail) and figures, printed at the end."""

    def __init__(self):
        self.checks: list[tuple[str, bool, str]] = []
        self.rows: list[tuple[str, str]] = []

    def check(self, name: str, ok: bool, detail: str = "") -> bool:
        self.checks.append((name, bool(ok), detail))
        print(f"[{'ok' if ok else 'FAIL'}] {name}{': ' + detail if detail else ''}", flush=True)
        return bool(ok)

    def figure(self, name: str, value: str) -> None:
        self.rows.append((name, value))

    def failed(self) -> list[str]:
        return [name for name, ok, _ in self.checks if not ok]


def engine_stream(engine, request) -> tuple[object, float, float, int]:
    """(stats, time to first token, decode tokens/s after it, tokens) of one streamed reply."""
    from playground.generation.request import AnswerDelta, Done, ThinkingDelta

    t0 = time.perf_counter()
    first = None
    stats = None
    for event in engine.stream(request):
        if first is None and isinstance(event, ThinkingDelta | AnswerDelta):
            first = time.perf_counter() - t0
        if isinstance(event, Done):
            stats = event.stats
    total = time.perf_counter() - t0
    tokens = stats.thinking_tokens + stats.answer_tokens
    rate = (tokens - 1) / (total - first) if first is not None and total > first and tokens > 1 else 0.0
    return stats, first or 0.0, rate, tokens


def hf_generate(model, tok, prompts: list[str], new_tokens: int, device: str) -> tuple[float, float, float]:
    """Plain `model.generate`, greedy, `new_tokens` per row: (time to first token, decode tokens/s after it,
    tokens/s with the prefill included), over all rows."""
    enc = tok(prompts, return_tensors="pt", padding=True, add_special_tokens=False).to(device)
    kwargs = dict(do_sample=False, pad_token_id=tok.pad_token_id, eos_token_id=None, temperature=None, top_p=None)
    kwargs.update(top_k=None)
    with torch.inference_mode():
        model.generate(**enc, max_new_tokens=2, **kwargs)  # warm-up
        sync(device)
        t0 = time.perf_counter()
        model.generate(**enc, max_new_tokens=1, **kwargs)
        sync(device)
        ttft = time.perf_counter() - t0
        t0 = time.perf_counter()
        out = model.generate(**enc, max_new_tokens=new_tokens, min_new_tokens=new_tokens, **kwargs)
        sync(device)
        seconds = time.perf_counter() - t0
    generated = (out.shape[1] - enc["input_ids"].shape[1]) * out.shape[0]
    return ttft, (generated - out.shape[0]) / max(seconds - ttft, 1e-9), generated / seconds


def run_checks(args: argparse.Namespace, work: Path, report: Report) -> None:
    from playground.evaluation.run import EvalConfig, run_evaluation
    from playground.generation.engine import Engine
    from playground.generation.request import GenerationRequest
    from playground.models.loading import check_memory, free_memory_gb, load_model
    from playground.models.presets import Preset
    from playground.puzzles import generate

    device = "cpu" if args.cpu_smoke else "cuda"
    shape = TINY_QWEN3 if args.cpu_smoke else QWEN3_1_7B
    if device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("no CUDA GPU is visible: run with --cpu-smoke on a machine without one")
    t0 = time.perf_counter()
    folder = build_model(work / "model", shape, device)
    report.figure("model", f"Qwen3 {shape.layers} layers × {shape.hidden} hidden, vocab {shape.vocab or 'tiny'}")
    report.figure("build (random weights, saved)", f"{time.perf_counter() - t0:.1f} s")

    # the memory check a preset of this size goes through before any download
    n_params = _count_params(folder)
    preset = Preset(name="gpu-check", hub_id=str(folder), params_b=n_params / 1e9)
    try:
        check_memory(preset, "4bit", device)
        report.check("memory check", True, f"needs ~{preset.need_gb('4bit')} GB, {free_memory_gb(device):.1f} free")
    except Exception as err:  # noqa: BLE001 - reported
        report.check("memory check", False, str(err))

    reset_peak(device)
    t0 = time.perf_counter()
    loaded = load_model(str(folder), quant="4bit", device=device, offline=True, fallback=False)
    report.figure("4-bit NF4 load", f"{time.perf_counter() - t0:.1f} s")
    quantized = sum(1 for p in loaded.model.parameters() if getattr(p, "quant_state", None) is not None)
    report.check("weights are 4-bit NF4", quantized >= 7 * shape.layers, f"{quantized} quantized tensors")
    report.check("params counted unpacked", abs(loaded.params - n_params) / n_params < 0.01, f"{loaded.params:,}")
    engine = Engine(loaded)
    prompt = generate("maze", 1, 0).prompt

    def req(**kw) -> GenerationRequest:
        base = dict(messages=[{"role": "user", "content": prompt}], temperature=0.0, answer_budget=16)
        return GenerationRequest(**{**base, **kw})

    n = shape.decode_tokens
    engine_stream(engine, req(think_budget=8))  # warm-up
    stats, ttft, rate, _ = engine_stream(engine, req(think_budget=n, answer_budget=8))
    report.check("hard budget exact", stats.thinking_tokens <= n and stats.budget_reached, f"{stats.thinking_tokens}")
    wrap, _, _, _ = engine_stream(engine, req(think_budget=24, budget_mode="wrapup", wrapup_text="Time is up."))
    report.check("wrap-up budget exact", wrap.thinking_tokens <= 24, f"{wrap.thinking_tokens} thinking tokens")
    none, _, _, _ = engine_stream(engine, req(think_budget=0, answer_budget=8))
    report.check("budget 0: no thought", none.thinking_tokens == 0 and none.answer_tokens <= 8)
    report.figure("engine: time to first token (batch 1)", f"{ttft * 1000:.0f} ms")
    report.figure("engine: decode tokens/s (batch 1)", f"{rate:.1f}")

    prompts16 = [[{"role": "user", "content": generate("maze", 1, s).prompt}] for s in range(16)]
    batch_req = req(think_budget=n, answer_budget=0)  # greedy, as the plain generate it is compared with
    engine.generate_batch(prompts16[:2], req(think_budget=4, answer_budget=0), 1)  # warm-up
    sync(device)
    t0 = time.perf_counter()
    rows = engine.generate_batch(prompts16, batch_req, 1)
    sync(device)
    seconds = time.perf_counter() - t0
    tokens = sum(s.thinking_tokens + s.answer_tokens for r in rows for s in r)
    report.check("batch of 16 within budget", all(s.thinking_tokens <= n for r in rows for s in r))
    report.figure("engine: tokens/s (batch 16, prefill included)", f"{tokens / seconds:.1f}")
    report.figure("engine: peak memory (load, streams, batch 16)", peak(device))

    texts = [loaded.tokenizer.apply_chat_template(p, add_generation_prompt=True, tokenize=False) for p in prompts16]
    reset_peak(device)
    hf_ttft, hf_rate1, _ = hf_generate(loaded.model, loaded.tokenizer, texts[:1], n, device)
    _, hf_decode16, hf_rate16 = hf_generate(loaded.model, loaded.tokenizer, texts, n, device)
    report.figure("HF generate: time to first token (batch 1)", f"{hf_ttft * 1000:.0f} ms")
    report.figure("HF generate: decode tokens/s (batch 1)", f"{hf_rate1:.1f}")
    report.figure("HF generate: tokens/s (batch 16, prefill included)", f"{hf_rate16:.1f}")
    report.figure("HF generate: decode tokens/s (batch 16, after the first token)", f"{hf_decode16:.1f}")
    report.figure("HF generate: peak memory (batch 1 and 16)", peak(device))
    report.figure("engine / HF generate, batch 1 decode", f"{rate / hf_rate1:.2f}x" if hf_rate1 else "–")
    report.figure("engine / HF generate, batch 16", f"{tokens / seconds / hf_rate16:.2f}x" if hf_rate16 else "–")

    wbytes = weight_bytes(loaded.model)
    bandwidth = copy_bandwidth_gbs(device, 2**30 if device == "cuda" else 2**28)
    ceiling = bandwidth * 1e9 / wbytes
    report.figure("weights read per decode step", f"{wbytes / 1e9:.3f} GB")
    report.figure("copy bandwidth (measured)", f"{bandwidth:.0f} GB/s")
    report.figure("bandwidth ceiling, batch 1 (bandwidth ÷ weight bytes)", f"{ceiling:.0f} tokens/s")
    report.figure("bandwidth ceiling, batch 16 (weights read once a step)", f"{16 * ceiling:.0f} tokens/s")
    if args.bandwidth_gbs:  # the data sheet's figure, beside the measured one
        sheet = args.bandwidth_gbs * 1e9 / wbytes
        report.figure(f"bandwidth ceiling, batch 1, at {args.bandwidth_gbs:g} GB/s (given)", f"{sheet:.0f} tokens/s")
        report.figure("HF generate batch 1 / given ceiling", f"{hf_rate1 / sheet:.1%}")
    report.figure("HF generate batch 1 / ceiling", f"{hf_rate1 / ceiling:.1%}")
    report.figure("engine batch 1 / ceiling", f"{rate / ceiling:.1%}")

    config = EvalConfig(
        family="maze",
        puzzles=shape.eval_puzzles,
        samples=shape.eval_samples,
        budgets=[0, 32],
        answer_budget=16,
        batch_rows=16,
    )
    t0 = time.perf_counter()
    result = run_evaluation(engine, config, save=False)
    seconds = time.perf_counter() - t0
    expected = shape.eval_puzzles * shape.eval_samples * 2
    report.check("batched evaluation", len(result.records) == expected, f"{len(result.records)} answers verified")
    report.figure("evaluation: answers/s", f"{expected / seconds:.1f}")
    del engine, loaded

    qlora(folder, work, device, report)


def _count_params(folder: Path) -> int:
    from safetensors import safe_open

    total = 0
    for file in folder.glob("*.safetensors"):
        with safe_open(str(file), "pt") as fh:
            for key in fh.keys():
                shape = fh.get_slice(key).get_shape()
                count = 1
                for dim in shape:
                    count *= dim
                total += count
    return total


def qlora(folder: Path, work: Path, device: str, report: Report) -> None:
    """Three QLoRA steps through training.sft (in this process; the app runs the same code in a subprocess)."""
    import signal

    from training import sft
    from training.sft_config import config_from_dict

    cfg = config_from_dict(
        {
            "base_model": str(folder),
            "name": "qlora",
            "output_dir": str(work / "qlora"),
            "data_source": "puzzles",
            "puzzle_families": ["maze"],
            "num_examples": 8,
            "load_in_4bit": True,
            "max_steps": 3,
            "batch_size": 2,
            "max_seq_len": 2048,
            "lora_r": 8,
            "warmup": 0,
            "learning_rate": 1e-3,
            "gradient_checkpointing": device == "cuda",
        }
    )
    handlers = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    reset_peak(device)
    quantized: list[int] = []
    load = sft.load_model

    def load_and_count(config):  # the trainer's model, as sft loads it: how many of its weights are 4-bit
        model, tok = load(config)
        quantized.append(sum(1 for p in model.parameters() if getattr(p, "quant_state", None) is not None))
        return model, tok

    sft.load_model = load_and_count
    t0 = time.perf_counter()
    try:
        result = sft.run(cfg)
    finally:
        sft.load_model = load
        signal.signal(signal.SIGTERM, handlers[0])
        signal.signal(signal.SIGINT, handlers[1])
    seconds = time.perf_counter() - t0
    metrics = [json.loads(line) for line in (work / "qlora" / "metrics.jsonl").read_text().splitlines()]
    adapter = Path(result["adapter_dir"]) / "adapter_config.json"
    report.check("QLoRA base is 4-bit", bool(quantized and quantized[0] > 0), f"{quantized} quantized tensors")
    report.check("three QLoRA steps", result["step"] == 3 and adapter.is_file(), f"loss {result['final_loss']:.3f}")
    report.figure("QLoRA: seconds for 3 steps (load included)", f"{seconds:.1f}")
    if metrics:
        report.figure("QLoRA: tokens/s (last step)", f"{metrics[-1]['tokens_per_s']:.0f}")
        gpu = metrics[-1].get("gpu_mem_gb")
        report.figure("QLoRA: peak memory", f"{gpu:.2f} GB GPU" if gpu else f"{metrics[-1]['rss_gb']:.2f} GB RSS")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python bench/gpu_check.py", description=__doc__.split("\n")[0])
    parser.add_argument("--cpu-smoke", action="store_true", help="a tiny model of the same architecture, on CPU")
    parser.add_argument("--keep", default=None, help="keep the model, adapter and logs in this folder")
    parser.add_argument(
        "--bandwidth-gbs", type=float, default=None, help="the GPU's memory bandwidth from its data sheet, in GB/s"
    )
    args = parser.parse_args(argv)
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="gpu-check-"))
    work.mkdir(parents=True, exist_ok=True)
    report = Report()
    where = "CPU (smoke)" if args.cpu_smoke else torch.cuda.get_device_name(0) if torch.cuda.is_available() else "?"
    print(f"gpu_check on {where}; torch {torch.__version__}", flush=True)
    t0 = time.perf_counter()
    try:
        run_checks(args, work, report)
    except SystemExit:
        raise
    except Exception:  # noqa: BLE001 - every failure is reported, with its traceback
        traceback.print_exc()
        report.check("ran to the end", False, "an exception stopped the checks (traceback above)")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(f"\n{'figure':<64} value")
    for name, value in report.rows:
        print(f"{name:<64} {value}")
    failed = report.failed()
    print(f"\n{len(report.checks) - len(failed)}/{len(report.checks)} checks held in {time.perf_counter() - t0:.0f} s")
    if failed:
        print("FAILED: " + ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
