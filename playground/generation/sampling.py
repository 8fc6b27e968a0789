"""Seeded sampling that belongs to one request: a private random generator instead of torch's global one.

torch's global generator is shared by every thread of the process, so `torch.manual_seed` before a generation
repeats it only when nothing else samples meanwhile; in a server where visitors chat and evaluate at the same time,
"the same seed repeats the run" would not hold. `SeededSampler` is the last logits processor of a seeded request:
it applies temperature, top-k and top-p (transformers' own warpers), draws each row's next token with the request's
own `torch.Generator`, and forces it; `generate` then runs greedily and picks exactly that token.
"""

from __future__ import annotations

import torch
from transformers import LogitsProcessor, LogitsProcessorList
from transformers.generation.logits_process import TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper


class SeededSampler(LogitsProcessor):
    """Sample every row's next token from its warped distribution with a private generator, then force it."""

    def __init__(self, seed: int, temperature: float, top_p: float = 1.0, top_k: int = 0, device: str = "cpu"):
        self.generator = torch.Generator(device=device)
        self.generator.manual_seed(seed)
        warpers: list[LogitsProcessor] = [TemperatureLogitsWarper(temperature)]
        if top_k:
            warpers.append(TopKLogitsWarper(top_k))
        if top_p < 1.0:
            warpers.append(TopPLogitsWarper(top_p))
        self.warpers = LogitsProcessorList(warpers)

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        warped = self.warpers(input_ids, scores)
        probs = torch.softmax(warped.float(), dim=-1)
        tokens = torch.multinomial(probs, 1, generator=self.generator)
        forced = torch.full_like(scores, float("-inf"))
        return forced.scatter_(1, tokens, 0.0)
