"""The programme file: what the organisation intends the community to talk about.

Format (YAML, or Markdown whose YAML front matter between ``---`` lines holds the same keys)::

    name: Sales academy 2025          # optional
    goals:                            # or "skills"; at least one goal or key message
      - name: Discovery calls         # required, unique
        description: Start from the customer's problem before the product.
        keywords: [discovery, pain point, open question]   # optional; matched as whole words
    key_messages:
      - text: A good sales call starts with the customer's problem.   # required
        source: Sales 101, module 2   # optional: the course it comes from
        id: km-discovery              # optional; defaults to km-1, km-2, ... in file order

Anything wrong with the file is one :class:`InputError` naming the field and what to write.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from villagegreen.errors import InputError


@dataclass(frozen=True, slots=True)
class Goal:
    name: str
    description: str = ""
    keywords: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        """What the goal is embedded as: its name, description and keywords together."""
        return ". ".join(part for part in (self.name, self.description, ", ".join(self.keywords)) if part)


@dataclass(frozen=True, slots=True)
class KeyMessage:
    id: str
    text: str
    source: str = ""


@dataclass(frozen=True, slots=True)
class Programme:
    name: str
    goals: tuple[Goal, ...]
    key_messages: tuple[KeyMessage, ...]


def load_programme(path: Path) -> Programme:
    """Reads a programme file (``.yaml``/``.yml``, or ``.md`` with YAML front matter)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: no programme file here; write one like examples/programme.yaml") from None
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: cannot read the programme file ({error}); save it as UTF-8 text") from None
    return parse_programme(_front_matter(text, path) if path.suffix.lower() in {".md", ".markdown"} else text, str(path))


def _front_matter(text: str, origin: Path) -> str:
    lines = text.lstrip("\ufeff").splitlines()
    if not lines or lines[0].strip() != "---":
        raise InputError(f"{origin}: a Markdown programme must start with YAML front matter between '---' lines")
    for index, line in enumerate(lines[1:], start=1):
        if line.strip() in {"---", "..."}:
            return "\n".join(lines[1:index])
    raise InputError(f"{origin}: the YAML front matter is not closed; add a '---' line after it")


def parse_programme(text: str, origin: str = "programme") -> Programme:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        where = getattr(error, "problem_mark", None)
        line = f" at line {where.line + 1}" if where is not None else ""
        raise InputError(f"{origin}: not valid YAML{line}; check indentation and quoting") from None
    if not isinstance(data, dict):
        raise InputError(f"{origin}: expected a mapping with 'goals' and/or 'key_messages' at the top level")
    raw_goals = data.get("goals", data.get("skills")) or []
    raw_messages = data.get("key_messages") or []
    if not isinstance(raw_goals, list) or not isinstance(raw_messages, list):
        raise InputError(f"{origin}: 'goals' and 'key_messages' must be lists (each item starting with '- ')")
    goals = tuple(_goal(item, index, origin) for index, item in enumerate(raw_goals, start=1))
    messages = tuple(_key_message(item, index, origin) for index, item in enumerate(raw_messages, start=1))
    if not goals and not messages:
        raise InputError(f"{origin}: declares no goals and no key messages; add at least one")
    for label, names in (("goal name", [g.name for g in goals]), ("key message id", [m.id for m in messages])):
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise InputError(f"{origin}: {label} {duplicates[0]!r} appears twice; make each one unique")
    return Programme(str(data.get("name") or origin), goals, messages)


def _text_field(item: dict[str, Any], key: str, where: str, *, required: bool) -> str:
    value = item.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InputError(f"{where}: '{key}' is missing; every entry needs one")
        return ""
    if not isinstance(value, str | int | float):
        raise InputError(f"{where}: '{key}' must be text")
    return str(value).strip()


def _goal(item: Any, index: int, origin: str) -> Goal:
    where = f"{origin}: goal {index}"
    if isinstance(item, str):
        return Goal(item.strip())
    if not isinstance(item, dict):
        raise InputError(f"{where}: expected 'name', 'description' and 'keywords'")
    keywords = item.get("keywords") or []
    if isinstance(keywords, str):
        keywords = [k for k in keywords.split(",")]
    if not isinstance(keywords, list) or not all(isinstance(k, str | int | float) for k in keywords):
        raise InputError(f"{where}: 'keywords' must be a list of words or phrases")
    cleaned = tuple(str(k).strip() for k in keywords if str(k).strip())
    return Goal(_text_field(item, "name", where, required=True), _text_field(item, "description", where, required=False), cleaned)


def _key_message(item: Any, index: int, origin: str) -> KeyMessage:
    where = f"{origin}: key message {index}"
    if isinstance(item, str):
        return KeyMessage(f"km-{index}", item.strip())
    if not isinstance(item, dict):
        raise InputError(f"{where}: expected 'text' and optionally 'source' and 'id'")
    text = _text_field(item, "text", where, required=True)
    return KeyMessage(_text_field(item, "id", where, required=False) or f"km-{index}", text, _text_field(item, "source", where, required=False))
