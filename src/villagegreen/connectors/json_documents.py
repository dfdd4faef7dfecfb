"""Finding and loading whole JSON documents in an export, with the one-line errors users see.

Several exports are folders of JSON documents (DiscordChatExporter, Matrix pages, Graph pages).
They share how candidate files are ordered and what an empty, truncated or non-UTF-8 file
says; each connector supplies the words for its platform.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from villagegreen.connectors.tree import SourceTree
from villagegreen.errors import InputError


@dataclass(frozen=True, slots=True)
class JsonFormat:
    """How to talk about one platform's JSON files in errors."""

    what: str  # "Matrix JSON": what a non-UTF-8 file is not
    hint: str  # what to give instead
    again: str  # how to get a good copy of a broken file


def json_candidates(tree: SourceTree) -> list[str]:
    """JSON files, shallowest first (top-level documents are the likeliest); a lone file whatever its name."""
    if tree.kind == "file":
        return tree.names()
    return tree.by_depth(".json")


def load_json(tree: SourceTree, name: str, fmt: JsonFormat) -> Any:
    """One whole document; an empty, truncated or non-UTF-8 file is one fatal, one-line error."""
    where = tree.describe(name)
    data = tree.read_bytes(name)
    if not data.strip():
        raise InputError(f"{where}: the file is empty; {fmt.hint}")
    try:
        return json.loads(data)
    except json.JSONDecodeError as error:
        raise InputError(
            f"{where}: malformed JSON at line {error.lineno}, column {error.colno} ({error.msg}); the file is truncated or corrupt: {fmt.again}"
        ) from None
    except UnicodeDecodeError:
        raise InputError(f"{where}: not UTF-8 text, so not {fmt.what}; {fmt.hint}") from None
