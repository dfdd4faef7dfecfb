"""Finding and loading the JSON files of either Zulip input format.

Detection reads only the first few KB of a few files. An organisation export is a folder
holding ``realm.json`` (an object of ``zerver_*`` tables) beside ``messages-000001.json``...;
saved API pages are JSON objects with a ``messages`` list whose head shows at least two keys
only Zulip's ``GET /messages`` response uses (``sender_id``, ``display_recipient``,
``found_newest``...). Telegram's ``result.json`` also has a ``messages`` list, but none of
those keys.
"""

from __future__ import annotations

import json
import re
from typing import Any

from villagegreen.connectors.tree import SourceTree
from villagegreen.errors import InputError

SNIFF_BYTES = 8192
SNIFF_FILES = 3
REALM_FILE = "realm.json"
MESSAGES_FILE = re.compile(r"messages-\d+\.json")
_OBJECT = re.compile(rb"^(?:\xef\xbb\xbf)?\s*\{")
_ZERVER_TABLE = re.compile(rb'"zerver_[a-z_]+"\s*:\s*\[')
_MESSAGES_KEY = re.compile(rb'"messages"\s*:\s*\[')
_API_KEYS = re.compile(
    rb'"(sender_id|sender_full_name|sender_email|sender_realm_str|display_recipient|found_newest|found_oldest|found_anchor|history_limited)"\s*:'
)
_STREAMS_KEY = re.compile(rb'"(?:streams|subscriptions)"\s*:\s*\[')
_MEMBERS_KEY = re.compile(rb'"members"\s*:\s*\[')

EXPORT_HINT = "export the organisation again (./manage.py export, or the organisation settings' Export page)"
PAGES_HINT = "save the body of GET /api/v1/messages as it is returned"


def looks_like_realm(head: bytes) -> bool:
    return _OBJECT.match(head) is not None and _ZERVER_TABLE.search(head) is not None


def looks_like_page(head: bytes) -> bool:
    if _OBJECT.match(head) is None or _MESSAGES_KEY.search(head) is None:
        return False
    return len({match.group(1) for match in _API_KEYS.finditer(head)}) >= 2


def looks_like_streams(head: bytes) -> bool:
    """A saved ``GET /streams`` or ``GET /users/me/subscriptions`` response."""
    return _OBJECT.match(head) is not None and _STREAMS_KEY.search(head) is not None and b'"stream_id"' in head and b'"invite_only"' in head


def looks_like_users(head: bytes) -> bool:
    """A saved ``GET /users`` response."""
    return _OBJECT.match(head) is not None and _MEMBERS_KEY.search(head) is not None and b'"user_id"' in head and b'"full_name"' in head


def export_folder(tree: SourceTree) -> str | None:
    """The folder (``""`` for the top, else ``"name/"``) holding an export's ``realm.json``
    beside at least one ``messages-*.json``; the shallowest wins."""
    names = tree.names()
    realms = sorted((n for n in names if n.rpartition("/")[2] == REALM_FILE and n.count("/") <= 2), key=lambda n: (n.count("/"), n))
    for realm in realms[:SNIFF_FILES]:
        folder = realm[: -len(REALM_FILE)]
        if any(message_files_in(names, folder)) and looks_like_realm(tree.head(realm, SNIFF_BYTES)):
            return folder
    return None


def message_files_in(names: list[str], folder: str) -> list[str]:
    return [n for n in names if n.startswith(folder) and "/" not in n[len(folder) :] and MESSAGES_FILE.fullmatch(n[len(folder) :])]


def json_names(tree: SourceTree) -> list[str]:
    """JSON files, shallowest first; a lone file whatever its name."""
    if tree.kind == "file":
        return tree.names()
    return tree.by_depth(".json")


def page_files(tree: SourceTree, limit: int | None = None) -> list[str]:
    """Saved ``GET /messages`` responses; ``limit`` bounds how many files are read (sniffing)."""
    names = json_names(tree)[:limit] if limit else json_names(tree)
    return [n for n in names if looks_like_page(tree.head(n, SNIFF_BYTES))]


def load(tree: SourceTree, name: str, hint: str) -> dict[str, Any]:
    """A JSON object; an empty, truncated, non-UTF-8 or non-object file is one fatal, one-line error."""
    where = tree.describe(name)
    data = tree.read_bytes(name)
    if not data.strip():
        raise InputError(f"{where}: the file is empty; {hint}")
    try:
        document = json.loads(data)
    except json.JSONDecodeError as error:
        position = f"line {error.lineno}, column {error.colno}"
        raise InputError(f"{where}: malformed JSON at {position} ({error.msg}); the file is truncated or corrupt: {hint}") from None
    except UnicodeDecodeError:
        raise InputError(f"{where}: not UTF-8 text, so not Zulip JSON; {hint}") from None
    if not isinstance(document, dict):
        raise InputError(f"{where}: not a JSON object, so not a Zulip file; {hint}")
    return document
