"""Finding and removing a person's identifying strings anywhere in the store.

Used by erasure (:mod:`villagegreen.store.erasure`). What counts as identifying:

- free-text needles, matched case-insensitively at word boundaries (so "Ann" does not eat
  "Annual"): their person id and identity ids, display names, handles, emails (and the
  ``name at example.org`` spelling mail archives use), and their message ids when those are
  long and not plain numbers (mail Message-IDs often carry a login or host name);
- native user ids: matched only as whole values under keys that name a user (``user``,
  ``author``, ``owner``, ``from``, ``sender``, ...) inside JSON, because short numeric ids
  ("42") also occur as ordinary numbers.

Names and handles shorter than :data:`MIN_NEEDLE` characters are not searched in free text
(they would erase ordinary words); the report lists how many were left out.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from villagegreen.store.database import Store

REDACTED = "[erased]"
MIN_NEEDLE = 3
_USER_KEY = re.compile(r"user|author|owner|from|sender|creator|poster|member|account", re.IGNORECASE)
# Tables whose rows are bookkeeping without people in them, or that erasure rewrites itself.
_NOT_SCANNED = {"schema_migrations", "erased_identities"}
_SQL_CHUNK = 64
# Top-level payload keys (lower case, no underscores) that name the author of the item itself.
_AUTHOR_KEYS = {"owneruserid", "userid", "user", "author", "authorid", "fromid", "sender", "senderid", "username", "creatorid"}


def trie_pattern(words: list[str]) -> str:
    """A regex alternation factored by common prefixes: fast to match against thousands of names."""
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def build(node: dict[str, Any]) -> str:
        ends = "" in node
        branches = [re.escape(char) + build(child) for char, child in sorted(node.items()) if char]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        # Optional tails are greedy, so the longest name wins ("Annabel" before "Ann").
        return f"(?:{body})?" if ends else body

    return build(trie)


@dataclass(slots=True)
class Needles:
    texts: set[str] = field(default_factory=set)
    native_ids: set[str] = field(default_factory=set)
    too_short: int = 0

    def add_text(self, value: str | None) -> None:
        value = (value or "").strip()
        if not value:
            return
        if len(value) < MIN_NEEDLE:
            self.too_short += 1
        else:
            self.texts.add(value)

    def add_email(self, value: str | None) -> None:
        self.add_text(value)
        if value and "@" in value:
            local, _, domain = value.partition("@")
            self.add_text(f"{local} at {domain}")

    @property
    def pattern(self) -> re.Pattern[str] | None:
        if not self.texts:
            return None
        # A trie-shaped alternation: Python's re tries alternatives one by one, and a prolific
        # mail author brings a thousand Message-IDs.
        alternatives = trie_pattern(sorted({t.lower() for t in self.texts}))
        return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)

    def sql_patterns(self) -> list[str]:
        """RE2 prefilters over lower-cased text (supersets of the Python pattern's matches).

        Chunks of at most :data:`_SQL_CHUNK` alternatives: RE2's automaton falls off a cliff
        beyond a few hundred (400 Message-IDs took 60 s over 11,000 mails, 100 took 0.2 s).
        """
        needles = sorted({re.escape(t.lower()) for t in self.texts})
        return ["(?:" + "|".join(needles[i : i + _SQL_CHUNK]) + ")" for i in range(0, len(needles), _SQL_CHUNK)]


def redact_text(text: str, pattern: re.Pattern[str]) -> str:
    return pattern.sub(REDACTED, text)


def redact_json(value: Any, needles: Needles, pattern: re.Pattern[str] | None) -> Any:
    """A copy of a parsed JSON value with needles replaced in strings and user ids under user keys nulled."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            new_key = redact_text(key, pattern) if pattern else key
            if _USER_KEY.search(key) and not isinstance(item, (dict, list)) and item is not None and str(item) in needles.native_ids:
                out[new_key] = None
            else:
                out[new_key] = redact_json(item, needles, pattern)
        return out
    if isinstance(value, list):
        return [redact_json(item, needles, pattern) for item in value]
    if isinstance(value, str) and pattern:
        return redact_text(value, pattern)
    return value


def owned_by(payload: Any, native_ids: set[str]) -> bool:
    """True when a raw payload's own top-level author field is one of ``native_ids``.

    Only top-level keys that mean "the author of this item" count (Stack Exchange's
    ``OwnerUserId``/``UserId``, Slack's ``user``, Discourse's ``user_id``...), not editors.
    """
    if not isinstance(payload, dict):
        return False
    for key, value in payload.items():
        scalar = value is not None and not isinstance(value, (dict, list))
        if key.lower().replace("_", "") in _AUTHOR_KEYS and scalar and str(value) in native_ids:
            return True
    return False


def text_columns(store: Store) -> dict[str, list[tuple[str, str]]]:
    """Per table, the (column, type) pairs that can hold text: VARCHAR, JSON and VARCHAR lists."""
    rows = store.con.execute(
        "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = 'main' "
        "AND data_type IN ('VARCHAR', 'JSON', 'VARCHAR[]') ORDER BY table_name, ordinal_position"
    ).fetchall()
    columns: dict[str, list[tuple[str, str]]] = {}
    for table, column, kind in rows:
        if table not in _NOT_SCANNED:
            columns.setdefault(table, []).append((column, kind))
    return columns


def redact_store(store: Store, needles: Needles) -> dict[str, int]:
    """Rewrite every text cell of every table that mentions a needle; returns rows changed per table.

    Runs inside the caller's transaction. SQL finds candidate rows (RE2, no word boundaries);
    Python decides and rewrites, so JSON stays valid and word boundaries hold.
    """
    pattern = needles.pattern
    if pattern is None and not needles.native_ids:
        return {}
    prefilters = needles.sql_patterns() if pattern else []
    ids = "|".join(re.escape(i) for i in sorted(needles.native_ids))
    # A user id under a user-like key: "user_id":42 or "UserId": "42".
    id_filter = rf'(?i)"[a-z_]*(?:user|author|owner|from|sender|creator|poster|member|account)[a-z_]*":\s*"?(?:{ids})"?\s*[,}}\]]' if ids else None
    changed: dict[str, int] = {}
    for table, columns in text_columns(store).items():
        for column, kind in columns:
            tests = [f'regexp_matches(lower("{column}"::VARCHAR), $p{n})' for n in range(len(prefilters))]
            params = {f"p{n}": prefilter for n, prefilter in enumerate(prefilters)}
            if id_filter and kind == "JSON":
                tests.append(f'regexp_matches("{column}"::VARCHAR, $i)')
                params["i"] = id_filter
            if not tests:
                continue
            rows = store.con.execute(f'SELECT rowid, "{column}" FROM "{table}" WHERE {" OR ".join(tests)}', params).fetchall()
            updates = [(rowid, new) for rowid, value in rows if (new := _redacted(value, kind, needles, pattern)) != value]
            if updates:
                _write_back(store, table, column, kind, updates)
                changed[table] = changed.get(table, 0) + len(updates)
    return changed


def _write_back(store: Store, table: str, column: str, kind: str, updates: list[tuple[int, Any]]) -> None:
    # One set-based UPDATE per column: row-by-row updates of wide JSON rows cost ~15 ms each.
    value_type = pa.list_(pa.string()) if kind == "VARCHAR[]" else pa.string()
    staged = pa.table({"rid": pa.array([u[0] for u in updates], pa.int64()), "value": pa.array([u[1] for u in updates], value_type)})
    store.con.register("vg_redacted", staged)
    try:
        store.con.execute(f'UPDATE "{table}" SET "{column}" = r.value FROM vg_redacted r WHERE "{table}".rowid = r.rid')
    finally:
        store.con.unregister("vg_redacted")


def _redacted(value: Any, kind: str, needles: Needles, pattern: re.Pattern[str] | None) -> Any:
    if kind == "VARCHAR[]":
        return [redact_text(v, pattern) if (pattern and isinstance(v, str)) else v for v in value]
    if kind == "JSON":
        try:
            parsed = json.loads(value)
        except ValueError:
            return redact_text(value, pattern) if pattern else value
        new = redact_json(parsed, needles, pattern)
        return value if new == parsed else json.dumps(new, ensure_ascii=False, separators=(",", ":"))
    return redact_text(value, pattern) if pattern else value
