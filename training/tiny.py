"""The tiny-reasoner recipe: a small Llama trained from scratch on the puzzle families' verified solver traces.

    python -m training.tiny [--out DIR] [--seed 0] [--minutes 70 | --max-steps N] [--families sat maze ...]

Builds the tokenizer (characters, maze grid tokens and the frequent words of the puzzles; its chat template opens
`<think>`), the curriculum (training/curriculum.py: verified traces from training seeds disjoint from the evaluation
seeds, ~10% no-think and ~10% cut-short examples), and trains `LlamaForCausalLM` from random weights with the
transformers `Trainer` (loss on the assistant part only, bf16 autocast on CPU). The learning rate warms up, stays
flat, then decays linearly to 10% over the last quarter of the run — of the steps with `--max-steps` (bit-for-bit
deterministic from the seed), of the wall-clock time with `--minutes` (the same data order, but where the run stops
depends on the machine's speed). Every `--checkpoint-minutes` the folder in `--out` is rewritten, so a run stopped
early still leaves a usable model.
The output is a normal Hugging Face folder: config, safetensors, tokenizer + chat template, generation config,
README.md model card (recipe, seed, wall time, tokens/s, accuracy table) and playground.json for the UI.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import torch
from tokenizers import AddedToken
from transformers import (
    AutoTokenizer,
    GenerationConfig,
    LlamaForCausalLM,
    Trainer,
    TrainerCallback,
    TrainingArguments,
)

from playground.models.placeholder import tiny_llama_config
from playground.models.presets import TINY_REASONER_DIR
from playground.models.tiny_tokenizer import FIXED_TOKENS, build_tokenizer, frequent_words
from playground.puzzles import get_family
from training.curriculum import (
    IGNORE,
    TRAIN_SEED_BASE,
    CurriculumStats,
    build_curriculum,
    pad_collate,
    token_batches,
)

DEFAULT_DIR = TINY_REASONER_DIR
DEFAULT_FAMILIES = ["sat", "maze", "tsp", "spatial_map"]
DEFAULT_MINUTES = 70.0  # the command line's run length when neither --minutes nor --max-steps is given
CHECKPOINT_MINUTES = 10.0


@dataclass
class Recipe:
    """Every knob of a run (written verbatim into the model card)."""

    seed: int = 0
    families: list[str] = field(default_factory=lambda: list(DEFAULT_FAMILIES))
    levels: list[int] = field(default_factory=lambda: [1])
    per_family: int = 4000
    mix: dict[str, float] = field(default_factory=dict)  # family -> multiplier of per_family (default 1)
    drill: dict[str, float] = field(default_factory=dict)  # family -> fraction of its examples from curriculum.DRILLS
    p_nothink: float = 0.1
    p_cut: float = 0.1
    hidden: int = 256  # multiples of 64: bitsandbytes 4-bit on CPU needs in_features % 64 == 0
    layers: int = 4
    heads: int = 4
    intermediate: int = 768
    max_positions: int = 4096
    batch_tokens: int = 8192  # rows x longest row per batch (similar lengths batched together)
    lr: float = 1.5e-3
    warmup_steps: int = 60
    weight_decay: float = 0.01
    max_steps: int | None = None
    minutes: float | None = None
    bf16: bool = True
    compile: bool = False  # torch.compile: faster on CPU once the first shapes are compiled (a minute or two)
    init: str | None = None  # continue from this model folder instead of random weights


class Schedule:
    """Warm up, hold, then decay linearly to 10% over the last quarter of the run (steps or wall-clock time)."""

    def __init__(self, recipe: Recipe):
        self.recipe, self.t0 = recipe, None

    def progress(self, step: int) -> float:
        if self.recipe.max_steps:
            return step / self.recipe.max_steps
        if self.t0 is None:
            self.t0 = time.monotonic()
        return (time.monotonic() - self.t0) / (60 * (self.recipe.minutes or 1.0))

    def __call__(self, step: int) -> float:
        warm = min(1.0, (step + 1) / max(1, self.recipe.warmup_steps))
        p = self.progress(step)
        return warm * (1.0 if p < 0.75 else max(0.1, 1.0 - 0.9 * (p - 0.75) / 0.25))


class Clock(TrainerCallback):
    """Stop at the time limit, rewrite the output folder every few minutes, and count trained tokens."""

    def __init__(self, recipe: Recipe, save, checkpoint_minutes: float):
        self.recipe, self.save, self.every = recipe, save, 60 * checkpoint_minutes
        self.t0 = self.last = self.last_log = time.monotonic()
        self.tokens = self.examples = self.tokens_at_log = 0
        self.losses: list[tuple[int, float]] = []

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs and "loss" in logs:
            self.losses.append((state.global_step, float(logs["loss"])))
            now = time.monotonic()
            rate = (self.tokens - self.tokens_at_log) / max(1e-9, now - self.last_log)
            self.tokens_at_log, self.last_log = self.tokens, now
            print(f"step {state.global_step} loss {logs['loss']:.4f} tokens/s {rate:,.0f}", flush=True)

    def on_step_end(self, args, state, control, **kwargs):
        now = time.monotonic()
        if self.recipe.minutes and now - self.t0 >= 60 * self.recipe.minutes:
            control.should_training_stop = True
        elif self.every and now - self.last >= self.every:
            self.last = now
            self.save(state.global_step)


class TokenCounter:
    """Wraps the collator to count the examples and tokens (padding excluded) that the model is trained on."""

    def __init__(self, collate, clock: Clock):
        self.collate, self.clock = collate, clock

    def __call__(self, batch):
        out = self.collate(batch)
        self.clock.tokens += int(out["attention_mask"].sum())
        self.clock.examples += len(out["input_ids"])
        return out


class TokenSumTrainer(Trainer):
    """Trainer whose loss is the sum over a batch's target tokens divided by one constant for the whole run.

    Batches are grouped by length (training/curriculum.py `token_batches`), so their numbers of target tokens differ
    a lot; with the usual per-batch mean, the tokens of a batch of short no-think examples would weigh many times
    more than those of full traces, which teaches the model to close its thought at once. A constant divisor weighs
    every target token the same.
    """

    def __init__(self, *args, tokens_per_batch: float, **kwargs):
        super().__init__(*args, **kwargs)
        self.tokens_per_batch = tokens_per_batch

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        return super().compute_loss(model, inputs, return_outputs, num_items_in_batch=self.tokens_per_batch)


def vocabulary(recipe: Recipe, per_family: int = 300) -> list[str]:
    """The word tokens of a run: the frequent words of prompts, traces and answers of training-seed puzzles."""
    texts = []
    for f_index, name in enumerate(recipe.families):
        fam = get_family(name)
        levels = [lv for lv in recipe.levels if lv in fam.levels]
        for i in range(per_family if levels else 0):
            inst = fam.generate(TRAIN_SEED_BASE + 1_000_000 * f_index + i, levels[i % len(levels)])
            texts += [inst.prompt, fam.trace(inst), inst.reference]
    return frequent_words(texts)


def build_tiny_tokenizer(recipe: Recipe):
    """The run's tokenizer: characters + fixed puzzle tokens + the run's words; when continuing a model, the
    model's own tokenizer with any fixed tokens added since it was made (`build_model` grows the embeddings)."""
    if recipe.init:
        tok = AutoTokenizer.from_pretrained(recipe.init)
        vocab = tok.get_vocab()
        tok.add_tokens([AddedToken(t, normalized=False) for t in FIXED_TOKENS if t not in vocab])
        return tok
    return build_tokenizer(model_max_length=recipe.max_positions, open_think=True, words=vocabulary(recipe))


def build_model(recipe: Recipe, tok) -> LlamaForCausalLM:
    config = tiny_llama_config(
        tok, recipe.hidden, recipe.intermediate, recipe.layers, recipe.heads, recipe.max_positions
    )
    torch.manual_seed(recipe.seed)
    model = LlamaForCausalLM.from_pretrained(recipe.init) if recipe.init else LlamaForCausalLM(config)
    if recipe.init:
        grow_embeddings(model, tok, AutoTokenizer.from_pretrained(recipe.init))
    model.generation_config = GenerationConfig(
        eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id, max_new_tokens=2048
    )
    return model


def grow_embeddings(model: LlamaForCausalLM, tok, old_tok) -> list[str]:
    """Give a continued model rows for the tokens `tok` has beyond `old_tok`; returns the added tokens.

    Each new row starts as the mean of the rows of the pieces the old tokenizer split the token into ("c4: " from
    "c4", ":", " "), so it already carries the identity of what it stands for: the continued model can copy what
    follows a new token from its first steps instead of first learning what a random row means.
    """
    added = [t for t in tok.get_vocab() if t not in old_tok.get_vocab()]
    if model.get_input_embeddings().num_embeddings < len(tok):
        model.resize_token_embeddings(len(tok), pad_to_multiple_of=32, mean_resizing=False)
    emb = model.get_input_embeddings().weight
    with torch.no_grad():
        for t in added:
            pieces = old_tok(t, add_special_tokens=False)["input_ids"]
            emb[tok.convert_tokens_to_ids(t)] = emb[pieces].mean(0)
    return added


def write_folder(out: Path, model, tok, card: str, description: str, recipe: Recipe) -> None:
    """Save a loadable HF folder (fp32 safetensors, tokenizer, template, card, playground.json: what the UI shows
    and which puzzle families and levels the model was trained on)."""
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tok.save_pretrained(out)
    (out / "README.md").write_text(card)
    meta = {"kind": "tiny-reasoner", "description": description, "families": recipe.families, "levels": recipe.levels}
    (out / "playground.json").write_text(json.dumps(meta, indent=2))


def describe(recipe: Recipe, params: int) -> str:
    """The banner's description of a freshly trained model (tiny_eval adds what it solves)."""
    fams = ", ".join(get_family(f).short_title for f in recipe.families)
    return (
        f"a {params / 1e6:.1f}M-parameter demo reasoner trained from scratch on CPU on small puzzles "
        f"(level {'/'.join(map(str, recipe.levels))} of {fams}) that thinks in <think> traces like the solvers'"
    )


def earlier_phases(init: str | None) -> list[dict]:
    """The training phases that made the `init` folder (from its training_run.json), oldest first."""
    path = Path(init) / "training_run.json" if init else None
    if path is None or not path.exists():
        return [{"recipe": {"init": init}, "run": {}}] if init else []
    facts = json.loads(path.read_text())
    run = {k: v for k, v in facts.get("run", {}).items() if k != "losses"}
    return [*facts.get("earlier_phases", []), {"recipe": facts.get("recipe", {}), "run": run}]


def phase_lines(phases: list[dict]) -> str:
    """One Markdown line per earlier phase."""
    lines = []
    for k, phase in enumerate(phases, 1):
        r, run = phase["recipe"], phase["run"]
        lines.append(
            f"- phase {k}: families {', '.join(r.get('families', []))}, seed {r.get('seed')}, init "
            f"{r.get('init') or 'random'}: {run.get('steps')} steps, {run.get('tokens', 0):,} tokens, "
            f"{run.get('minutes', 0):.1f} min, {run.get('tokens_per_s', 0):,.0f} tokens/s on {run.get('machine')}"
        )
    return "\n".join(lines)


def card_text(
    recipe: Recipe, params: int, stats: CurriculumStats, run: dict, table: str = "", phases: list[dict] | None = None
) -> str:
    losses = run.get("losses", [])
    history = f"\nThis run continued the model its `init` names, made by:\n{phase_lines(phases)}\n" if phases else ""
    loss_line = (
        f"{losses[0][1]:.3f} (step {losses[0][0]}) → {losses[-1][1]:.3f} (step {losses[-1][0]})" if losses else ""
    )
    return f"""---
library_name: transformers
tags: [tiny-reasoner, reasoning, puzzles, from-scratch]
---
# Tiny reasoner (the playground's embedded default)

A {params:,}-parameter Llama ({recipe.layers} layers, hidden {recipe.hidden}, {recipe.heads} heads, intermediate
{recipe.intermediate}, tied embeddings, vocabulary: characters, maze squares and steps, numbers, 3SAT assignments,
names and frequent words) trained **from scratch** by
`python -m training.tiny` on the playground's own verified puzzle traces. It is a demo of a model thinking in `<think>`
traces under a thinking budget; the accuracy table below says what it really solves. It knows nothing else.

## Recipe
- curriculum: level {recipe.levels} of {", ".join(recipe.families)}; verified examples per family {stats.examples}
  from training seeds ≥ 10,000,000 (evaluation seeds 0–1999 reserved; instances whose prompt equals a reserved
  evaluation prompt dropped: {stats.dropped_eval_overlap}); shapes {stats.shapes} (no-think p={recipe.p_nothink},
  cut-short p={recipe.p_cut}); {stats.total_tokens:,} tokens, {stats.target_tokens:,} of them trained (assistant part).
- training: transformers Trainer, AdamW lr {recipe.lr} (warm-up {recipe.warmup_steps} steps, flat, linear decay to
  10% over the last quarter), weight decay {recipe.weight_decay}, batches of <= {recipe.batch_tokens}
  tokens (similar lengths together; loss = sum over target tokens / one constant), bf16 autocast: {recipe.bf16},
  torch.compile: {recipe.compile}, seed {recipe.seed}, init {recipe.init or "random"}.
- run: {run.get("steps")} steps, {run.get("examples_seen", 0):,} examples seen, {run.get("tokens", 0):,} tokens,
  wall time {run.get("minutes", 0):.1f} min, {run.get("tokens_per_s", 0):,.0f} tokens/s on {run.get("machine")}.
- loss: {loss_line}

Full `Recipe`: `{json.dumps(asdict(recipe))}`
{history}
## Accuracy (greedy pass@1, level 1, held-out seeds 0..N-1)
Budgets are fractions of the family's median reference-trace length (0 = no thinking; unlimited = no practical cap).
Measured with `python -m training.tiny_eval` / `bench/bench_tiny_reasoner.py`.

<!-- accuracy -->
{table or "(not measured yet)"}
<!-- /accuracy -->
"""


def train(
    recipe: Recipe, out: str | Path = DEFAULT_DIR, checkpoint_minutes: float = CHECKPOINT_MINUTES, log_every: int = 10
) -> dict:
    """Run the recipe and write the model folder to `out`; returns the run's facts (steps, tokens/s, losses...)."""
    if not recipe.max_steps and not recipe.minutes:
        raise ValueError("give max_steps or minutes")
    out = Path(out)
    torch.manual_seed(recipe.seed)
    tok = build_tiny_tokenizer(recipe)
    print(f"tokenizer: {len(tok)} tokens", flush=True)
    t_data = time.monotonic()
    examples, stats = build_curriculum(
        tok,
        recipe.families,
        recipe.levels,
        {f: round(recipe.per_family * recipe.mix.get(f, 1.0)) for f in recipe.families},
        recipe.seed,
        recipe.p_nothink,
        recipe.p_cut,
        drill=recipe.drill,
    )
    print(f"curriculum: {len(examples)} examples in {time.monotonic() - t_data:.0f}s: {stats}", flush=True)
    model = build_model(recipe, tok)
    params = sum(p.numel() for p in model.parameters())
    run: dict = {"machine": f"CPU, {torch.get_num_threads()} threads", "steps": 0}
    phases = earlier_phases(recipe.init)

    def save(step: int) -> None:
        elapsed = time.monotonic() - clock.t0
        run.update(
            steps=step,
            tokens=clock.tokens,
            minutes=elapsed / 60,
            tokens_per_s=clock.tokens / max(elapsed, 1e-9),
            examples_seen=clock.examples,
            losses=clock.losses,
        )
        card = card_text(recipe, params, stats, run, phases=phases)
        write_folder(out, model, tok, card, describe(recipe, params), recipe)
        facts = {"recipe": asdict(recipe), "run": run, "earlier_phases": phases}
        (out / "training_run.json").write_text(json.dumps(facts, indent=1))
        print(f"saved {out} at step {step}", flush=True)

    clock = Clock(recipe, save, checkpoint_minutes)
    batches = token_batches(examples, recipe.batch_tokens, recipe.seed)
    targets = sum(sum(1 for x in ex["labels"] if x != IGNORE) for ex in examples)
    print(f"{len(batches)} batches of <= {recipe.batch_tokens} tokens", flush=True)
    optimizer = torch.optim.AdamW(model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay, betas=(0.9, 0.95))
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, Schedule(recipe))
    args = TrainingArguments(
        output_dir=str(out.parent / f".{out.name}-trainer"),
        per_device_train_batch_size=1,  # one pre-built batch of similar-length rows per step
        max_steps=recipe.max_steps or 10**9,
        logging_steps=log_every,
        save_strategy="no",
        report_to=[],
        seed=recipe.seed,
        data_seed=recipe.seed,
        bf16=recipe.bf16,
        use_cpu=True,
        torch_compile=recipe.compile,
        remove_unused_columns=False,
        dataloader_num_workers=0,
        max_grad_norm=1.0,
        disable_tqdm=True,
    )
    trainer = TokenSumTrainer(
        model=model,
        args=args,
        train_dataset=batches,
        data_collator=TokenCounter(pad_collate(tok.pad_token_id, multiple=32 if recipe.compile else 1), clock),
        optimizers=(optimizer, scheduler),
        callbacks=[clock],
        tokens_per_batch=targets / max(1, len(batches)),
    )
    clock.t0 = clock.last = clock.last_log = time.monotonic()
    trainer.train()
    save(trainer.state.global_step)
    run["params"] = params
    return run


def family_value(item: str) -> tuple[str, float]:
    """One FAMILY=X item of --mix/--drill; argparse turns the ValueError into a usage message."""
    name, sep, value = item.partition("=")
    if not sep or not name:
        raise ValueError(item)
    return name, float(value)


def main() -> None:
    d = Recipe()  # the command line's defaults are the recipe's
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(DEFAULT_DIR))
    parser.add_argument("--seed", type=int, default=d.seed)
    limit = parser.add_mutually_exclusive_group()
    limit.add_argument("--minutes", type=float, help=f"wall-clock limit (default {DEFAULT_MINUTES:g})")
    limit.add_argument("--max-steps", type=int)
    parser.add_argument("--families", nargs="+", default=d.families)
    parser.add_argument("--levels", nargs="+", type=int, default=d.levels)
    parser.add_argument("--per-family", type=int, default=d.per_family)
    parser.add_argument(
        "--mix",
        nargs="*",
        type=family_value,
        default=list(d.mix.items()),
        metavar="FAMILY=X",
        help="more or fewer examples of a family, e.g. maze=1.5",
    )
    parser.add_argument(
        "--drill",
        nargs="*",
        type=family_value,
        default=list(d.drill.items()),
        metavar="FAMILY=F",
        help="draw this fraction of a family's examples from its training-only drill (training/curriculum.py DRILLS), "
        "e.g. spatial_map=0.5: 4-5 object maps whose look-ups cannot be guessed from line order",
    )
    parser.add_argument("--layers", type=int, default=d.layers)
    parser.add_argument("--hidden", type=int, default=d.hidden)
    parser.add_argument("--heads", type=int, default=d.heads)
    parser.add_argument("--intermediate", type=int, default=d.intermediate)
    parser.add_argument("--batch-tokens", type=int, default=d.batch_tokens)
    parser.add_argument("--lr", type=float, default=d.lr)
    parser.add_argument("--warmup-steps", type=int, default=d.warmup_steps)
    parser.add_argument(
        "--no-bf16",
        action="store_true",
        help="train in fp32: bf16 autocast is faster only on CPUs with bf16 instructions (AVX512-BF16/AMX); "
        "without them fp32 is faster",
    )
    parser.add_argument("--compile", action="store_true", help="torch.compile the model (faster after warm-up)")
    parser.add_argument("--init", help="continue training from this model folder")
    parser.add_argument("--checkpoint-minutes", type=float, default=CHECKPOINT_MINUTES)
    parser.add_argument(
        "--threads",
        type=int,
        default=0,
        help="torch CPU threads (0: torch's default); on a shared machine 1 avoids threads waiting for each other",
    )
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    known = {f.name for f in fields(Recipe)}
    values = {k: v for k, v in vars(args).items() if k in known}
    recipe = Recipe(**{**values, "mix": dict(args.mix), "drill": dict(args.drill), "bf16": not args.no_bf16})
    if not recipe.max_steps and not recipe.minutes:
        recipe.minutes = DEFAULT_MINUTES
    run = train(recipe, args.out, args.checkpoint_minutes)
    print(json.dumps({k: v for k, v in run.items() if k != "losses"}, indent=1))


if __name__ == "__main__":
    main()
