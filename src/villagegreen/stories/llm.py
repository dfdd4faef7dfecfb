"""The optional language-model writer: the extractive draft rewritten as prose, citations kept.

Any OpenAI-compatible server works (llama.cpp's server, Ollama, vLLM, hosted services): one
``POST {base_url}/chat/completions`` with ``model``, ``messages``, ``temperature`` and
``max_tokens``; the reply's ``choices[0].message.content`` is read. Settings come from the
``[writer]`` table of villagegreen.toml, overridden by command-line options::

    [writer]
    base_url = "http://127.0.0.1:8080/v1"
    model = "gemma-3-270m"
    api_key_env = "OPENAI_API_KEY"   # the NAME of the variable holding the key; never the key
    timeout_s = 120

Only the draft is sent (titles, quoted sentences, names; never the store, and nothing of a
member who refused quoting, which the draft already leaves out). Every sentence that comes back
is checked (``stories/llm_check.py``); the ones whose citations do not hold are dropped and
counted. When the server cannot be reached, answers an error, or nothing survives the check,
the extractive draft is kept and ``WriteResult.warning`` says why in one line.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx

from villagegreen.errors import ConfigError
from villagegreen.stories.llm_check import Dropped, check, draft_lines, sources
from villagegreen.stories.model import Story

SYSTEM_PROMPT = (
    "You rewrite the notes of an online community conversation into a short narrative paragraph "
    "(at most 8 sentences) telling who asked what and how the group answered. Rules: every sentence "
    "ends with the markers of the notes it comes from, like [m2]; name a person only as the note with "
    "that marker names them; write 'a member' for anyone the notes call a member; add nothing that "
    "the notes do not say."
)


@dataclass(frozen=True, slots=True)
class WriterSettings:
    base_url: str
    model: str
    api_key_env: str | None = None
    timeout_s: float = 120.0
    max_tokens: int = 512
    temperature: float = 0.2


@dataclass(slots=True)
class WriteResult:
    """The story (rewritten, or the draft on fallback), what was dropped, and a warning on fallback."""

    story: Story
    dropped: list[Dropped] = field(default_factory=list)
    kept: int = 0
    warning: str | None = None
    exchange: dict[str, Any] = field(default_factory=dict)


def load_settings(config_path: Path | None, *, base_url: str | None = None, model: str | None = None, api_key_env: str | None = None) -> WriterSettings:
    """``[writer]`` from the configuration file (if any), then the given overrides."""
    table: dict[str, Any] = {}
    if config_path is not None:
        try:
            table = tomllib.loads(config_path.read_text(encoding="utf-8")).get("writer", {})
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise ConfigError(f"{config_path}: cannot read the [writer] settings ({error}); fix the file or drop --config") from None
        if not isinstance(table, dict):
            raise ConfigError(f"{config_path}: [writer] must be a table with base_url and model")
    url, name = base_url or table.get("base_url"), model or table.get("model")
    if not url or not name:
        raise ConfigError("the llm writer needs a base URL and a model: --writer-url/--writer-model or [writer] base_url/model in villagegreen.toml")
    if not str(url).startswith(("http://", "https://")):
        raise ConfigError(f"writer base URL {url!r} must start with http:// or https:// (e.g. http://127.0.0.1:8080/v1)")
    try:
        timeout = float(table.get("timeout_s", 120.0))
        max_tokens = int(table.get("max_tokens", 512))
    except (TypeError, ValueError):
        raise ConfigError(f"{config_path}: [writer] timeout_s and max_tokens must be numbers") from None
    return WriterSettings(str(url).rstrip("/"), str(name), api_key_env or table.get("api_key_env"), timeout, max_tokens)


def request_body(story: Story, settings: WriterSettings) -> dict[str, Any]:
    lines = "\n".join(draft_lines(story, sources(story)))
    user = f"Conversation: {story.title}\n\nNotes:\n{lines}\n\nWrite the paragraph now. Every sentence ends with its markers."
    return {
        "model": settings.model,
        "messages": [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}],
        "temperature": settings.temperature,
        "max_tokens": settings.max_tokens,
    }


def _complete(body: dict[str, Any], settings: WriterSettings, transport: httpx.BaseTransport | None) -> tuple[str, dict[str, Any]]:
    headers = {"Content-Type": "application/json"}
    key = os.environ.get(settings.api_key_env) if settings.api_key_env else None
    if key:
        headers["Authorization"] = f"Bearer {key}"
    with httpx.Client(timeout=settings.timeout_s, transport=transport) as client:
        response = client.post(f"{settings.base_url}/chat/completions", json=body, headers=headers)
    response.raise_for_status()
    payload = response.json()
    content = payload["choices"][0]["message"]["content"]
    if not isinstance(content, str):
        raise ValueError("choices[0].message.content is not text")
    return content, payload


def write_story(story: Story, settings: WriterSettings, *, refused_names: Collection[str] = (), transport: httpx.BaseTransport | None = None) -> WriteResult:
    """The draft's narrative rewritten by the model; the draft itself when that fails."""
    body = request_body(story, settings)
    try:
        content, payload = _complete(body, settings, transport)
    except (httpx.HTTPError, ValueError, KeyError, IndexError, TypeError) as error:
        reason = f"HTTP {error.response.status_code}" if isinstance(error, httpx.HTTPStatusError) else f"{type(error).__name__}: {error}"
        reason = " ".join(reason.split())  # one line, whatever the exception says
        return WriteResult(story, warning=f"llm writer unavailable at {settings.base_url} ({reason[:160]}); kept the extractive draft")
    checked = check(content, sources(story), set(refused_names))
    exchange = {"request": body, "response": payload}
    if not checked.kept:
        warning = f"llm writer: none of its {len(checked.dropped)} sentence(s) kept their citations; kept the extractive draft"
        return WriteResult(story, checked.dropped, 0, warning, exchange)
    dropped = len(checked.dropped)
    note = f"Narrative rewritten by {settings.model} from the extractive draft; {dropped} sentence(s) dropped because their citations did not check out."
    rewritten = replace(story, narrative=tuple(checked.kept), notes=(*story.notes, note))
    return WriteResult(rewritten, checked.dropped, len(checked.kept), None, exchange)
