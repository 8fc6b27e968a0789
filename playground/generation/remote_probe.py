"""What an OpenAI-compatible server offers for a served model, found out with small real requests.

`probe` tries /v1/completions (and whether it returns token ids), a chat reply (whether a reasoning parser puts the
thought in `reasoning`), chat's `thinking_token_budget` (vLLM with a reasoning config), and where the rendered
prompt leaves the thought (the tokens after the opening tag, which vLLM counts as thinking). `load_tokenizer` loads
the served model's tokenizer here when it can (a folder on this machine, or the hub), so the playground renders
prompts itself; `describe_served` reads the served folder's card.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from playground.generation.openai_client import RemoteError, ServerClient
from playground.models.presets import Preset


@dataclass
class Capabilities:
    """What the server (and this machine) offer for the served model."""

    completions: bool = False  # /v1/completions answers
    token_ids: bool = False  # completions return the generated token ids (vLLM's return_token_ids)
    thinking_budget: bool = False  # chat takes a per-request thinking_token_budget (vLLM with reasoning config)
    reasoning_field: bool = False  # chat replies carry the thought in `reasoning` (a reasoning parser runs)
    tokenizer: bool = False  # the model's tokenizer loads here, so the playground renders prompts itself
    budget_offset: int = 0  # prompt tokens after the opening tag, which the server counts as thinking
    opened: bool = False  # the chat template opens the thought
    open_ids: list[int] = field(default_factory=list)  # the opening tag's token ids
    close_ids: list[int] = field(default_factory=list)  # the close tag's token ids (empty: unknown)

    @property
    def close_tokens(self) -> int:
        """The close tag's length in tokens (one when unknown)."""
        return len(self.close_ids) or 1

    def summary(self) -> str:
        exact = "exact in every budget mode (continuation loop over /v1/completions)"
        if not (self.completions and self.tokenizer):
            exact = "hard budgets enforced by the server" if self.thinking_budget else "no thinking budgets"
        return f"Thinking budgets: {exact}."


def load_tokenizer(root: str, model_id: str, offline: bool) -> tuple[object | None, list[str]]:
    """The served model's tokenizer, loaded here (a local folder, or the hub), or None with a notice."""
    from transformers import AutoTokenizer

    local = Path(root).expanduser()
    tried = []
    for source in ([str(local)] if local.is_dir() else []) + [root, model_id]:
        if source in tried:
            continue
        tried.append(source)
        try:
            return AutoTokenizer.from_pretrained(source, local_files_only=offline or Path(source).is_dir()), []
        except Exception as err:  # noqa: BLE001 - any failure means: no tokenizer here
            reason = f"{type(err).__name__}"
    return None, [
        f"The tokenizer of {model_id} cannot be loaded here ({reason}): the server renders prompts, and only "
        "the budgets it enforces itself are available."
    ]


def probe(client: ServerClient, model_id: str, tokenizer, preset: Preset | None) -> Capabilities:
    """What the server offers for `model_id`: small real requests (one or four tokens each)."""
    caps = Capabilities(tokenizer=tokenizer is not None)
    open_tag, close_tag = (preset.think_open, preset.think_close) if preset else ("<think>", "</think>")
    try:
        prompt = tokenizer("a", add_special_tokens=False)["input_ids"] if tokenizer is not None else "a"
        out = client.post(
            "/completions", {"model": model_id, "prompt": prompt, "max_tokens": 1, "return_token_ids": True}
        )
        choice = (out.get("choices") or [{}])[0]
        caps.completions = True
        caps.token_ids = isinstance(choice.get("token_ids"), list)
    except RemoteError:
        pass
    chat = [{"role": "user", "content": "a"}]
    try:
        out = client.post("/chat/completions", {"model": model_id, "messages": chat, "max_tokens": 4})
        message = (out.get("choices") or [{}])[0].get("message") or {}
        caps.reasoning_field = bool(message.get("reasoning") or message.get("reasoning_content"))
        client.post(
            "/chat/completions", {"model": model_id, "messages": chat, "max_tokens": 1, "thinking_token_budget": 1}
        )
        caps.thinking_budget = True
    except (RemoteError, AttributeError):
        pass
    try:  # where the rendered prompt leaves the thought: the server's own tokenizer and template
        if tokenizer is not None:
            ids = tokenizer.apply_chat_template(chat, tokenize=False, add_generation_prompt=True)
            ids = tokenizer(ids, add_special_tokens=False)["input_ids"]
            tag = tokenizer(open_tag, add_special_tokens=False)["input_ids"]
            end = tokenizer(close_tag, add_special_tokens=False)["input_ids"]
        else:
            ids = client.post("/tokenize", {"model": model_id, "messages": chat}, root=True)["tokens"]
            tag, end = (
                client.post("/tokenize", {"model": model_id, "prompt": t, "add_special_tokens": False}, root=True)[
                    "tokens"
                ]
                for t in (open_tag, close_tag)
            )
        start, stop = _last_index(ids, tag), _last_index(ids, end)
        caps.open_ids, caps.close_ids = list(tag), list(end)
        caps.opened = start >= 0 and start > stop
        caps.budget_offset = len(ids) - (start + len(tag)) if caps.opened else 0
    except (RemoteError, KeyError, TypeError, ValueError):
        pass
    return caps


def _last_index(ids: list[int], part: list[int]) -> int:
    for i in range(len(ids) - len(part), -1, -1):
        if part and ids[i : i + len(part)] == part:
            return i
    return -1


def describe_served(root: str, preset: Preset | None) -> tuple[str, bool, list[str] | None]:
    """(description, placeholder, families) of the served model: from its folder when it is on this machine."""
    from playground.models.loading import _describe_local

    path = Path(root).expanduser()
    if path.is_dir():
        return _describe_local(path)
    return (preset.description if preset else f"model {root}"), False, None
