"""The tiny reasoner's curriculum: verified solver traces of the puzzle families, tokenized for causal-LM training.

Every example is one puzzle rendered with the model's chat template (the generation prompt opens `<think>`), then
the solver's `trace()` as the thought and the reference answer after `</think>`. Each example is checked with the
family's own verifier before it is kept. Three shapes teach the model to answer under any thinking budget, exactly
as the engine's budget processor cuts a thought (it forces `</think>` right after the last allowed token):

    full       <think>\\n{trace}\\n</think>\\n{answer}<|end|>
    no-think   <think>\\n</think>\\n{answer}<|end|>              (budget 0)
    cut-short  <think>\\n{first k tokens of trace}</think>\\n{answer}<|end|>    (a budget reached mid-thought)

In the last two the budget's `</think>` is part of the input but not a target (see `encode`).

Training seeds start at TRAIN_SEED_BASE; evaluation uses seeds 0, 1, 2, ... (the evaluation CLI's default), and
seeds below EVAL_SEED_RESERVE are reserved for it. On top of disjoint seeds, any training instance whose prompt equals
the prompt of a reserved evaluation instance is dropped (small levels have few distinct puzzles).
"""

from __future__ import annotations

import random
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from playground.puzzles import get_family, spatial_map
from playground.puzzles.base import Instance

EVAL_SEED_RESERVE = 2000  # seeds 0..1999 of every family/level are evaluation seeds: never trained on
TRAIN_SEED_BASE = 10_000_000
IGNORE = -100


def spatial_tree_drill(seed: int) -> Instance:
    """A 4- or 5-object spatial map where each new object is placed by one statement: sketched like level 1.

    In level 1 the sketch has two lines, so its look-ups can be guessed from line order without matching names;
    with more objects, every statement's reference and both asked objects must be looked up by name. Training-only
    (`--drill spatial_map=F`); the default recipe does not use it.
    """
    n_objects = random.Random(seed).choice((4, 5))
    cfg = spatial_map.SpatialMapConfig(seed=seed, level=1, n_objects=n_objects, links=1, qtypes=("direction",))
    return spatial_map.generate_config(cfg)


# family -> generator of extra training-only instances (not a level: never evaluated, never shown in the UI)
DRILLS: dict[str, Callable[[int], Instance]] = {"spatial_map": spatial_tree_drill}


@dataclass
class CurriculumStats:
    """What building the curriculum kept and dropped (written to the model card)."""

    examples: dict[str, int]
    shapes: dict[str, int]
    drilled: dict[str, int] = field(default_factory=dict)  # examples drawn from DRILLS, per family
    dropped_eval_overlap: int = 0
    dropped_unverified: int = 0
    dropped_too_long: int = 0
    target_tokens: int = 0
    total_tokens: int = 0


@lru_cache(maxsize=64)
def eval_prompts(family: str, level: int, n: int = EVAL_SEED_RESERVE) -> frozenset[str]:
    """The prompts of the reserved evaluation instances (seeds 0..n-1) of one family and level."""
    fam = get_family(family)
    return frozenset(fam.generate(seed, level).prompt for seed in range(n))


def render(tokenizer, inst: Instance, thought: str | None, closed_by_budget: bool = False) -> tuple[str, str]:
    """(prompt text, target text) of one example; `thought` None is the no-think shape."""
    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": inst.prompt}], tokenize=False, add_generation_prompt=True
    )
    if not prompt.endswith("<think>\n"):
        raise ValueError("the tiny reasoner's chat template must open <think> in the generation prompt")
    if thought is None:
        body = "</think>\n"
    elif closed_by_budget:
        body = thought + "</think>\n"
    else:
        body = thought + "\n</think>\n"
    return prompt, body + inst.reference + tokenizer.eos_token


def encode(tokenizer, prompt: str, target: str, forced_close: bool = False) -> dict[str, list[int]]:
    """Token ids with labels only on the assistant's part (the prompt is masked out of the loss).

    With `forced_close` (the no-think and cut-short shapes) the `</think>` that the budget put there is not a
    target either: the engine forces it, and a model trained to predict it would learn to close its thought on its
    own at once. The model learns to answer after a forced close, never to close early itself.
    """
    p = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    t = tokenizer(target, add_special_tokens=False)["input_ids"]
    labels = list(t)
    if forced_close:
        labels[t.index(tokenizer.convert_tokens_to_ids("</think>"))] = IGNORE
    return {"input_ids": p + t, "labels": [IGNORE] * len(p) + labels}


def build_curriculum(
    tokenizer,
    families: Sequence[str],
    levels: Sequence[int],
    per_family: int | dict[str, int],
    seed: int = 0,
    p_nothink: float = 0.1,
    p_cut: float = 0.1,
    max_tokens: int = 2560,
    drill: dict[str, float] | None = None,
) -> tuple[list[dict[str, list[int]]], CurriculumStats]:
    """`per_family` verified examples of each family (an int, or a count per family name), spread over `levels` and
    shuffled deterministically from `seed`. `drill` {family: fraction} draws that fraction of a family's examples
    from its DRILLS generator instead of its levels."""
    drill = drill or {}
    unknown = set(drill) - set(DRILLS)
    if unknown:
        raise ValueError(f"no drill for {sorted(unknown)}; drills exist for {sorted(DRILLS)}")
    rng = random.Random(seed)
    stats = CurriculumStats(examples={}, shapes={"full": 0, "no-think": 0, "cut-short": 0})
    examples: list[dict[str, list[int]]] = []
    for f_index, name in enumerate(families):
        fam = get_family(name)
        usable = [lv for lv in levels if lv in fam.levels]
        reserved = {lv: eval_prompts(name, lv) for lv in usable}
        kept, seed_i = 0, 0
        base = TRAIN_SEED_BASE + 1_000_000 * f_index + 100_000 * seed
        wanted = per_family[name] if isinstance(per_family, dict) else per_family
        drilled = 0
        while kept < wanted and usable:
            level = usable[kept % len(usable)]
            from_drill = drilled < drill.get(name, 0.0) * (kept + 1)  # spread evenly through the family's examples
            inst = DRILLS[name](base + seed_i) if from_drill else fam.generate(base + seed_i, level)
            level = inst.level
            seed_i += 1
            if inst.prompt in reserved.get(level, ()):
                stats.dropped_eval_overlap += 1
                continue
            trace = fam.trace(inst).rstrip()
            if not fam.verify(inst, f"<think>\n{trace}\n</think>\n{inst.reference}").correct:
                stats.dropped_unverified += 1
                continue
            r = rng.random()
            if r < p_nothink:
                shape, prompt, target = "no-think", *render(tokenizer, inst, None)
            elif r < p_nothink + p_cut:
                # cut at a token boundary, as the engine's budget does
                ids = tokenizer(trace, add_special_tokens=False)["input_ids"]
                cut = tokenizer.decode(ids[: rng.randint(1, max(1, len(ids) - 1))])
                shape, prompt, target = "cut-short", *render(tokenizer, inst, cut, closed_by_budget=True)
            else:
                shape, prompt, target = "full", *render(tokenizer, inst, trace)
            ex = encode(tokenizer, prompt, target, forced_close=shape != "full")
            if len(ex["input_ids"]) > max_tokens:
                stats.dropped_too_long += 1
                continue
            # int16 arrays: a curriculum of hundreds of thousands of examples stays a few hundred MB
            examples.append({k: array("h", v) for k, v in ex.items()})
            drilled += from_drill
            kept += 1
            stats.shapes[shape] += 1
            stats.target_tokens += sum(1 for x in ex["labels"] if x != IGNORE)
            stats.total_tokens += len(ex["input_ids"])
        stats.examples[name] = kept
        if drilled:
            stats.drilled[name] = drilled
    rng.shuffle(examples)
    return examples, stats


def token_batches(
    examples: Sequence[dict[str, list[int]]], max_tokens: int, seed: int = 0, window: int = 64
) -> list[list[dict[str, list[int]]]]:
    """Group examples into batches of at most `max_tokens` padded tokens (rows x longest row), shuffled.

    Examples are sorted by length within windows of `window` batches' worth of a random order, so rows of a batch
    have similar lengths (little padding) while every batch still mixes families and shapes. The loss is then a
    sum over target tokens divided by one constant (see training/tiny.py), so a batch of short rows does not weigh
    its tokens more than a batch of long ones.
    """
    rng = random.Random(seed)
    order = list(range(len(examples)))
    rng.shuffle(order)
    mean = max(1, sum(len(e["input_ids"]) for e in examples) // max(1, len(examples)))
    chunk = max(1, window * max_tokens // mean)
    batches: list[list[dict[str, list[int]]]] = []
    for start in range(0, len(order), chunk):
        batch: list[dict[str, list[int]]] = []
        longest = 0
        for i in sorted(order[start : start + chunk], key=lambda i: len(examples[i]["input_ids"])):
            n = len(examples[i]["input_ids"])
            if batch and max(longest, n) * (len(batch) + 1) > max_tokens:
                batches.append(batch)
                batch, longest = [], 0
            batch.append(examples[i])
            longest = max(longest, n)
        if batch:
            batches.append(batch)
    rng.shuffle(batches)
    return batches


def pad_collate(pad_id: int, multiple: int = 1):
    """A data collator: right-pad ids with `pad_id`, labels with IGNORE, and build the attention mask.

    Rows are padded to a multiple of `multiple` tokens (fewer distinct shapes for a compiled model). A batch given
    as one pre-built group (a list holding a list of examples, see `token_batches`) is unwrapped.
    """
    import torch

    def collate(batch: list) -> dict[str, torch.Tensor]:
        if len(batch) == 1 and isinstance(batch[0], list):
            batch = batch[0]
        width = max(len(b["input_ids"]) for b in batch)
        width = -(-width // multiple) * multiple
        ids = [list(b["input_ids"]) + [pad_id] * (width - len(b["input_ids"])) for b in batch]
        labels = [list(b["labels"]) + [IGNORE] * (width - len(b["labels"])) for b in batch]
        mask = [[1] * len(b["input_ids"]) + [0] * (width - len(b["input_ids"])) for b in batch]
        return {"input_ids": torch.tensor(ids), "labels": torch.tensor(labels), "attention_mask": torch.tensor(mask)}

    return collate
