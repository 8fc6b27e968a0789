"""How a batch of N samples per prompt gets its KV cache: one shared prefill, and a preallocated cache on CPU."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch


@dataclass
class BatchCache:
    """The cache strategy of `Engine.generate_batch`; each part can be switched off (e.g. to compare outputs)."""

    share_prefill: bool = True  # run each prompt through the model once per batch, not once per sample
    static_cache: bool = True  # on CPU, preallocate the batch's KV cache instead of growing it every step
    static_cache_max_bytes: int = 4 << 30  # and at most a quarter of the memory free at the time

    def static_cache_fits(self, nbytes: float) -> bool:
        """Whether a static cache of `nbytes` stays under the cap and a quarter of the free memory."""
        try:
            free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):  # not a POSIX system: trust the fixed cap
            free = 4 * self.static_cache_max_bytes
        return nbytes <= min(self.static_cache_max_bytes, free / 4)

    def sample_inputs(self, model, input_ids: torch.Tensor, mask: torch.Tensor, n: int, max_new_tokens: int) -> dict:
        """generate() inputs for n samples per prompt, with a prepared KV cache where that saves work.

        With `share_prefill` (n ≥ 2) the prompts, but for their last token, go through the model once and the cache
        is repeated for each sample: the same samples, one prefill instead of n. With `static_cache`, on CPU, the
        batch's cache is a preallocated StaticCache: a growing DynamicCache concatenates every layer's cache anew at
        every step, and on CPU each of those fresh tensors is new memory the OS must map in. On CUDA the caching
        allocator makes growing cheap and a cache sized for the worst case could be large, so the growing cache stays.
        A static cache attends over all its slots at every step, so it is used only when at most twice the prompt's
        length may be generated and it fits (`static_cache_fits`). A model whose cache cannot be prepared this way
        gets its rows repeated and a cache built by generate.
        """
        # rows repeated here rather than by num_return_sequences, which greedy decoding (used by seeded sampling,
        # see sampling.py) refuses
        plain = {"input_ids": input_ids.repeat_interleave(n, 0), "attention_mask": mask.repeat_interleave(n, 0)}
        rows, width = input_ids.shape[0] * n, input_ids.shape[1]
        share = self.share_prefill and n >= 2
        static = self.static_cache and rows >= 2 and model.device.type == "cpu" and max_new_tokens <= 2 * width
        if width < 2 or not (share or static):
            return plain
        try:
            from transformers import DynamicCache, StaticCache

            cache = DynamicCache(config=model.config)
            positions = (mask.cumsum(-1) - 1).clamp(min=0)
            prompt = {"input_ids": input_ids[:, :-1], "attention_mask": mask[:, :-1], "position_ids": positions[:, :-1]}
            model(**prompt, cache=cache, logits_to_keep=1)  # only the cache is wanted: skip the prompt's logits
            cache_len = width + max_new_tokens
            per_row_token = sum(
                (layer.keys.numel() + layer.values.numel()) * layer.keys.element_size() for layer in cache.layers
            ) / (input_ids.shape[0] * (width - 1))
            if static and self.static_cache_fits(rows * cache_len * per_row_token):
                prefix, cache = cache, StaticCache(config=model.config, max_cache_len=cache_len)
                for layer, done in zip(cache.layers, prefix.layers, strict=True):
                    layer.update(done.keys.repeat_interleave(n, 0), done.values.repeat_interleave(n, 0))
            elif share or n == 1:  # with one sample per prompt the prefilled cache is already the batch's
                cache.batch_repeat_interleave(n)
            else:
                return plain
        except Exception:  # noqa: BLE001 - a model-specific cache problem: the plain path still works
            return plain
        return {
            "input_ids": input_ids.repeat_interleave(n, 0),
            "attention_mask": mask.repeat_interleave(n, 0),
            "cache": cache,
        }

    def rows_share_prefix(self, inputs: dict, n: int) -> int:
        """How many consecutive rows of `inputs` repeat one prompt's prefilled cache (for `shared_prefix`)."""
        return n if "cache" in inputs and self.share_prefill else 1
