"""The shared-prompt attention used by batched sampling gives the same attention as transformers' sdpa."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from transformers import LlavaConfig
from transformers.integrations.sdpa_attention import sdpa_attention_forward

from playground.generation import shared_prefix as sp


class _Module(torch.nn.Module):
    is_causal = True

    def __init__(self, groups: int):
        super().__init__()
        self.num_key_value_groups = groups


def _case(prompts: int, n: int, heads: int, kv_heads: int, prefix: int, new: int, slack: int, seed: int):
    """Random q/k/v for `prompts`×`n` rows whose first `prefix` cache positions repeat within each group of n rows,
    left padding that differs per prompt, and `slack` empty (masked) static-cache slots at the end."""
    g = torch.Generator().manual_seed(seed)
    rows, dim, length = prompts * n, 16, prefix + new + slack
    shared_k = torch.randn(prompts, kv_heads, prefix, 16, generator=g).repeat_interleave(n, 0)
    shared_v = torch.randn(prompts, kv_heads, prefix, 16, generator=g).repeat_interleave(n, 0)
    key = torch.cat([shared_k, torch.randn(rows, kv_heads, new + slack, dim, generator=g)], dim=2)
    value = torch.cat([shared_v, torch.randn(rows, kv_heads, new + slack, dim, generator=g)], dim=2)
    query = torch.randn(rows, heads, 1, dim, generator=g)
    mask = torch.ones(rows, 1, 1, length, dtype=torch.bool)
    mask[..., prefix + new :] = False  # empty slots of a static cache
    for p in range(prompts):  # left padding of each prompt, shared by its samples
        mask[p * n : (p + 1) * n, ..., : p % prefix] = False
    return query, key, value, mask


@pytest.mark.parametrize(
    "prompts,n,heads,kv_heads,prefix,new,slack",
    [(1, 16, 4, 4, 40, 7, 9), (3, 4, 4, 2, 25, 1, 0), (2, 2, 6, 3, 10, 30, 5), (2, 3, 2, 1, 1, 3, 2)],
)
def test_matches_sdpa(prompts, n, heads, kv_heads, prefix, new, slack) -> None:
    query, key, value, mask = _case(prompts, n, heads, kv_heads, prefix, new, slack, seed=prompts * 100 + n)
    module = _Module(heads // kv_heads).eval()
    want, _ = sdpa_attention_forward(module, query, key, value, mask, scaling=0.3)
    token = sp._ACTIVE.set(sp._Groups(n, prefix))
    try:
        got, _ = sp.attention(module, query, key, value, mask, scaling=0.3)
    finally:
        sp._ACTIVE.reset(token)
    assert got.shape == want.shape == (prompts * n, 1, heads, 16)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
    # Outside the context it is sdpa itself; a wrong grouping would give other numbers (the test can fail).
    assert torch.equal(sp.attention(module, query, key, value, mask, scaling=0.3)[0], want)
    key2 = key.clone()
    key2[1:n, :, :prefix] = 0.0  # rows other than a group's first are never read for the prompt part
    token = sp._ACTIVE.set(sp._Groups(n, prefix))
    try:
        torch.testing.assert_close(sp.attention(module, query, key2, value, mask, scaling=0.3)[0], want)
    finally:
        sp._ACTIVE.reset(token)


def test_switches_only_sdpa_models_and_restores(engine) -> None:
    config = engine.loaded.model.config
    assert config._attn_implementation == "sdpa"
    with sp.shared_prefix(engine.loaded.model, prefix=10, n=4) as on:
        assert on and config._attn_implementation == sp.NAME
    assert config._attn_implementation == "sdpa"
    with sp.shared_prefix(engine.loaded.model, prefix=10, n=1) as on:
        assert not on and config._attn_implementation == "sdpa"
    composite = LlavaConfig()  # vision + text sub-configs: a switch would spread into all of them
    composite._attn_implementation = "sdpa"
    with sp.shared_prefix(SimpleNamespace(config=composite), prefix=10, n=4) as on:
        assert not on and composite._attn_implementation == "sdpa"
    config._attn_implementation = "eager"
    try:
        with sp.shared_prefix(engine.loaded.model, prefix=10, n=4) as on:
            assert not on and config._attn_implementation == "eager"
    finally:
        config._attn_implementation = "sdpa"


def _active(n: int, prefix: int, fn):
    token = sp._ACTIVE.set(sp._Groups(n, prefix))
    try:
        return fn()
    finally:
        sp._ACTIVE.reset(token)


def test_half_precision_is_as_accurate_as_sdpa() -> None:
    """Scores and softmax run in float32 whatever the cache dtype (the 4-bit path decodes in bf16)."""
    query, key, value, mask = _case(2, 4, 4, 2, 30, 5, 3, seed=7)
    module = _Module(2).eval()
    exact, _ = sdpa_attention_forward(module, query.double(), key.double(), value.double(), mask, scaling=0.25)
    for dtype in (torch.bfloat16, torch.float16):
        q, k, v = query.to(dtype), key.to(dtype), value.to(dtype)
        got, _ = _active(4, 30, lambda: sp.attention(module, q, k, v, mask, scaling=0.25))  # noqa: B023
        want, _ = sdpa_attention_forward(module, q, k, v, mask, scaling=0.25)
        assert got.dtype == dtype
        err = (got.double() - exact).abs().max()
        assert err <= (want.double() - exact).abs().max() * 1.01 + 1e-6


def test_falls_back_to_sdpa_where_the_prompt_slots_are_not_shared() -> None:
    """A sliding-window layer's cache shifts once the window is full; value heads of another size (latent attention)
    are not handled: both take sdpa itself. Tampering with the repeated prompt rows shows which path ran."""
    query, key, value, mask = _case(1, 4, 2, 2, 20, 6, 0, seed=3)
    key[1:4, :, :20] += 1.0  # no longer the same prompt: only plain sdpa reads these rows
    module = _Module(1).eval()
    want, _ = sdpa_attention_forward(module, query, key, value, mask, scaling=0.3)
    shared, _ = _active(4, 20, lambda: sp.attention(module, query, key, value, mask, scaling=0.3))
    assert not torch.allclose(shared, want)  # the shared path ran and read only row 0
    sliding, _ = _active(4, 20, lambda: sp.attention(module, query, key, value, mask, scaling=0.3, sliding_window=8))
    assert torch.equal(sliding, want)
    module.sliding_window = 8
    assert torch.equal(_active(4, 20, lambda: sp.attention(module, query, key, value, mask, scaling=0.3))[0], want)
    module.sliding_window = None
    small_v = value[..., :8].contiguous()
    want_v, _ = sdpa_attention_forward(module, query, key, small_v, mask, scaling=0.3)
    assert torch.equal(_active(4, 20, lambda: sp.attention(module, query, key, small_v, mask, scaling=0.3))[0], want_v)
