"""GRPO rollouts with the playground's batched sampler: one prefill per prompt, shared by its whole group.

TRL's default generation repeats every prompt `num_generations` times and prefills each copy. `make_rollout`
returns a `rollout_func` for `GRPOTrainer` that renders each distinct prompt once, prefills it once
(`playground.generation.batching.BatchCache`) and lets its samples attend to that one prefix
(`playground.generation.shared_prefix`), then hands TRL the same prompt and completion ids its own path would.
"""

from __future__ import annotations

from typing import Any

from playground.generation.batching import BatchCache
from playground.generation.shared_prefix import shared_prefix


def groups(prompts: list[Any], n: int) -> list[Any]:
    """The distinct prompts of a batch in which each prompt appears `n` times in a row (TRL's sampler order)."""
    if len(prompts) % n or any(prompts[i] != prompts[i - i % n] for i in range(len(prompts))):
        raise ValueError(f"expected each prompt {n} times in a row, got {len(prompts)} prompts")
    return prompts[::n]


def make_rollout(tokenizer: Any, num_generations: int, max_new_tokens: int, temperature: float) -> Any:
    """A `rollout_func(prompts, trainer)` sampling `num_generations` completions per distinct prompt."""
    import torch

    batching = BatchCache(static_cache=False)  # completions run far past twice a puzzle prompt's length
    eos = tokenizer.eos_token_id

    def rollout(prompts: list[Any], trainer: Any) -> dict[str, Any]:
        n = num_generations
        distinct = groups(prompts, n)
        rendered = [
            tokenizer.apply_chat_template(p, add_generation_prompt=True, tokenize=True, return_dict=False)
            if isinstance(p, list)
            else tokenizer(p)["input_ids"]
            for p in distinct
        ]
        rendered = [list(r["input_ids"] if isinstance(r, dict) else r) for r in rendered]
        model = trainer.accelerator.unwrap_model(trainer.model)
        device = next(model.parameters()).device
        width, pad = max(len(r) for r in rendered), tokenizer.pad_token_id
        input_ids = torch.tensor([[pad] * (width - len(r)) + r for r in rendered], device=device)
        mask = torch.tensor([[0] * (width - len(r)) + [1] * len(r) for r in rendered], device=device)
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad():
                inputs = batching.sample_inputs(model, input_ids, mask, n, max_new_tokens)
                with shared_prefix(model, width - 1, batching.rows_share_prefix(inputs, n)):
                    out = model.generate(
                        **inputs,
                        max_new_tokens=max_new_tokens,
                        do_sample=True,
                        temperature=temperature,
                        top_p=1.0,
                        top_k=0,
                        pad_token_id=pad,
                        eos_token_id=eos,
                    )
        finally:
            model.train(was_training)
        completion_ids = []
        for row in out[:, width:].tolist():
            cut = row.index(eos) + 1 if eos in row else len(row)  # keep the end-of-turn token, as TRL does
            completion_ids.append(row[:cut])
        prompt_ids = [r for r in rendered for _ in range(n)]
        return {"prompt_ids": prompt_ids, "completion_ids": completion_ids, "logprobs": None}

    return rollout
