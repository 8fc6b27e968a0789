"""Attention that reads a shared prompt's keys once for all the samples drawn from it.

When `Engine.generate_batch` draws n samples per prompt, the cache rows of one prompt hold n identical copies of the
prompt's keys and values. Plain attention reads all n copies at every decoding step; on CPU, decoding a tiny model is
bound by exactly that memory traffic (the copies of a long prompt weigh far more than the model's weights).
This attention computes the prompt part once per group — the group's n queries against one copy of the prompt's
keys — and the generated part per row, then takes one softmax over both, so the result is the same attention.

It is registered with transformers' AttentionInterface under NAME and behaves exactly like "sdpa" (it calls it)
except inside `shared_prefix(model, prefix_len, n)`, and then only for single-token decoding steps with a boolean
mask; everything else (prefill, other threads' generations on the same model, sliding-window layers, models with
sub-configs) takes the library's sdpa path. Scores and softmax are computed in float32 whatever the cache dtype.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from transformers import AttentionInterface
from transformers.integrations.sdpa_attention import sdpa_attention_forward
from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, sdpa_mask

NAME = "playground_shared_prefix"


@dataclass(frozen=True)
class _Groups:
    n: int  # consecutive cache rows that share a prompt
    prefix: int  # cache positions [0, prefix) are the shared prompt


_ACTIVE: contextvars.ContextVar[_Groups | None] = contextvars.ContextVar("shared_prefix", default=None)


def attention(module, query, key, value, attention_mask, dropout=0.0, scaling=None, **kwargs):
    """sdpa, except for decoding steps inside `shared_prefix` (shapes as transformers' attention functions)."""
    groups = _ACTIVE.get()
    if (
        groups is None
        or module.training
        or query.shape[2] != 1
        or attention_mask is None
        or attention_mask.dtype != torch.bool
        or query.shape[0] % groups.n
        or key.shape[2] <= groups.prefix
        or key.shape[-1] != value.shape[-1]  # e.g. multi-head latent attention: not handled here
        or kwargs.get("sliding_window") is not None  # a sliding layer's cache slots shift: [0, prefix) is not the
        or getattr(module, "sliding_window", None) is not None  # prompt any more once the window is full
    ):
        return sdpa_attention_forward(
            module, query, key, value, attention_mask, dropout=dropout, scaling=scaling, **kwargs
        )
    n, p = groups.n, groups.prefix
    rows, heads, _, dim = query.shape
    kv_heads, g = key.shape[1], rows // n
    rep = heads // kv_heads  # grouped-query attention: query head h reads kv head h // rep
    scale = scaling if scaling is not None else dim**-0.5
    mask = attention_mask[:, 0, 0, :]  # [rows, kv_len], True = may attend
    # The generated part: only up to the last position any row may see (a static cache is mostly empty slots).
    seen = mask[:, p:].any(0).nonzero()
    end = p + (int(seen[-1]) + 1 if len(seen) else 0)

    out_dtype = query.dtype
    # float32 for sdpa's accuracy in half precision too; only the slices read are converted (one prompt copy per
    # group and the filled generated part), never the whole repeated cache
    query = query.float()
    k_prompt, v_prompt = key[::n, :, :p].float(), value[::n, :, :p].float()
    k_new, v_new = key[:, :, p:end].float(), value[:, :, p:end].float()
    # [rows, kv_heads, rep, dim] -> the n rows of a group side by side: [g, kv_heads, n * rep, dim]
    q = query.reshape(rows, kv_heads, rep, dim)
    q_grouped = q.reshape(g, n, kv_heads, rep, dim).transpose(1, 2).reshape(g, kv_heads, n * rep, dim)
    prompt_scores = (q_grouped @ k_prompt.transpose(-1, -2)) * scale  # [g, kv_heads, n * rep, p]
    prompt_scores = prompt_scores.masked_fill(~mask[::n, None, None, :p], float("-inf"))
    prompt_scores = prompt_scores.reshape(g, kv_heads, n, rep, p).transpose(1, 2).reshape(rows, kv_heads, rep, p)
    new_scores = (q @ k_new.transpose(-1, -2)) * scale  # [rows, kv_heads, rep, end - p]
    new_scores = new_scores.masked_fill(~mask[:, None, None, p:end], float("-inf"))

    weights = torch.cat([prompt_scores, new_scores], dim=-1).softmax(-1)
    w_prompt = weights[..., :p].reshape(g, n, kv_heads, rep, p).transpose(1, 2).reshape(g, kv_heads, n * rep, p)
    out = w_prompt @ v_prompt  # [g, kv_heads, n * rep, dim]
    out = out.reshape(g, kv_heads, n, rep, dim).transpose(1, 2).reshape(rows, kv_heads, rep, dim)
    out = out + weights[..., p:] @ v_new
    out = out.reshape(rows, heads, 1, dim).transpose(1, 2).contiguous().to(out_dtype)
    return out, None  # [rows, 1, heads, dim], like sdpa


AttentionInterface.register(NAME, attention)
ALL_MASK_ATTENTION_FUNCTIONS.register(NAME, sdpa_mask)


@contextmanager
def shared_prefix(model, prefix: int, n: int) -> Iterator[bool]:
    """Within the block, decoding on `model` reads cache positions [0, prefix) once per group of `n` rows.

    Only a model running transformers' "sdpa" attention is switched (and switched back afterwards); yields whether
    it was. Safe beside other generations on the same model: outside this context the function is plain sdpa.
    """
    config = model.config
    # A config with sub-configs (vision + text...) copies the setting into all of them: leave those models alone.
    if n < 2 or prefix < 1 or config.sub_configs or getattr(config, "_attn_implementation", None) not in ("sdpa", NAME):
        yield False
        return
    token = _ACTIVE.set(_Groups(n, prefix))
    switched = config._attn_implementation == "sdpa"
    if switched:
        config._attn_implementation = NAME
    try:
        yield True
    finally:
        _ACTIVE.reset(token)
        if switched:
            config._attn_implementation = "sdpa"
