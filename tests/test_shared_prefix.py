"""The shared-prompt attention used by batched sampling gives the same attention as transformers' sdpa."""

from __future__ import annotations

import pytest
import torch
from transformers.integrations.sdpa_attention import sdpa_attention_forward

from playground import shared_prefix as sp


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
    config._attn_implementation = "eager"
    try:
        with sp.shared_prefix(engine.loaded.model, prefix=10, n=4) as on:
            assert not on and config._attn_implementation == "eager"
    finally:
        config._attn_implementation = "sdpa"
