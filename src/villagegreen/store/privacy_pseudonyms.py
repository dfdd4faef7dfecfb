"""Stable salted pseudonyms for ``villagegreen export --pseudonymise``.

A person's pseudonym is ``person-`` plus the first 16 hex digits of HMAC-SHA256(salt, person
id); an account's is ``account-`` plus the same over its identity id. The same salt gives the
same pseudonyms in every export, and in exports of other stores that hold the same people
(ids are derived from the platform's own ids); another salt gives unrelated ones. Without the
salt, a pseudonym cannot be turned back into a person, even by someone who can recompute
identity ids from public platform ids; so the salt never goes into the export.

Salt, in order: ``--salt``, ``$VILLAGEGREEN_PSEUDONYM_SALT``, or a file beside the store
(``<store>.pseudonym-salt``, created with a random salt and mode 0600 on first use), so
exports of one store agree with each other unless told otherwise.

Mentions inside text: every display name, handle, email (and ``name at domain``) and long
native id (Slack ``<@U024BE7LH>`` style) of every person, matched at word boundaries
(emails and handles in any case, names as written), becomes that person's pseudonym.
Limits: first names alone, nicknames, misspellings and names inside images or attachments
are not found; names shorter than three characters are not replaced (they would hit ordinary
words).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from villagegreen.errors import ConfigError
from villagegreen.store.database import Store
from villagegreen.store.privacy_redaction import trie_pattern

SALT_ENV = "VILLAGEGREEN_PSEUDONYM_SALT"
MIN_MENTION = 3


def salt_path(store_path: Path) -> Path:
    return store_path.with_name(store_path.name + ".pseudonym-salt")


def resolve_salt(store_path: Path, salt: str | None = None) -> tuple[str, str]:
    """(salt, where it came from): the option, the environment, or the store's salt file."""
    if salt:
        return salt, "--salt"
    if from_env := os.environ.get(SALT_ENV):
        return from_env, f"${SALT_ENV}"
    path = salt_path(store_path)
    if path.is_file():
        return path.read_text(encoding="utf-8").strip(), str(path)
    generated = secrets.token_hex(32)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(generated + "\n")
    except OSError as error:
        raise ConfigError(f"{path}: cannot keep the pseudonym salt ({error}); pass --salt or set ${SALT_ENV}") from error
    return generated, f"{path} (new)"


@dataclass(slots=True)
class Pseudonymiser:
    """Maps people, accounts and their mentions in text to pseudonyms under one salt."""

    salt: bytes
    person_of_identity: dict[str, str]
    _exact: dict[str, str]
    _folded: dict[str, str]
    _pattern: re.Pattern[str] | None

    @classmethod
    def from_store(cls, store: Store, salt: str) -> Pseudonymiser:
        rows = store.con.execute("SELECT id, person_id, native_id, display_name, handle, email FROM identities").fetchall()
        people = store.con.execute("SELECT id, display_name FROM people").fetchall()
        key = salt.encode()
        exact: dict[str, str] = {}  # names, as written
        folded: dict[str, str] = {}  # emails, handles and ids, any case
        for person_id, name in people:
            exact.setdefault(name, person_id)
        for _, person_id, native_id, name, handle, email in rows:
            exact.setdefault(name, person_id)
            for value in (handle, email, native_id if len(native_id) >= 6 and not native_id.lstrip("-").isdigit() else None):
                if value:
                    folded.setdefault(value.casefold(), person_id)
            if email and "@" in email:
                local, _, domain = email.partition("@")
                folded.setdefault(f"{local} at {domain}".casefold(), person_id)
        exact = {k: v for k, v in exact.items() if len(k.strip()) >= MIN_MENTION}
        folded = {k: v for k, v in folded.items() if len(k.strip()) >= MIN_MENTION}
        parts = []
        if exact:
            parts.append(trie_pattern(sorted(exact, key=len, reverse=True)))
        if folded:
            parts.append("(?i:" + trie_pattern(sorted(folded, key=len, reverse=True)) + ")")
        pattern = re.compile(r"(?<!\w)(?:" + "|".join(parts) + r")(?!\w)") if parts else None
        mapping = cls(key, {r[0]: r[1] for r in rows}, {}, {}, pattern)
        mapping._exact = {k: mapping.person(v) for k, v in exact.items()}
        mapping._folded = {k: mapping.person(v) for k, v in folded.items()}
        return mapping

    def _digest(self, value: str) -> str:
        return hmac.new(self.salt, value.encode(), hashlib.sha256).hexdigest()[:16]

    def person(self, person_id: str) -> str:
        return f"person-{self._digest(person_id)}"

    def identity(self, identity_id: str | None) -> str | None:
        """An account's pseudonym (authors, reactors); None stays None (authorless messages)."""
        return None if identity_id is None else f"account-{self._digest(identity_id)}"

    def text(self, value: str | None) -> str | None:
        if value is None or self._pattern is None:
            return value
        return self._pattern.sub(self._replace, value)

    def json_text(self, value: str | None) -> str | None:
        """Mentions replaced inside every string (and key) of a JSON document, which stays valid."""
        if value is None or self._pattern is None:
            return value
        try:
            parsed = json.loads(value)
        except ValueError:
            return self.text(value)
        return json.dumps(self._walk(parsed), ensure_ascii=False, separators=(",", ":"))

    def _walk(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {self.text(k): self._walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._walk(v) for v in value]
        return self.text(value) if isinstance(value, str) else value

    def _replace(self, match: re.Match[str]) -> str:
        found = match.group(0)
        return self._exact.get(found) or self._folded.get(found.casefold()) or "[person]"
