"""The organisation's settings: ``villagegreen.toml``.

Only what the data cannot tell us lives here: who the facilitators are and the privacy
policy for person-level views. Secrets never do (they come from the environment).

Example::

    [[facilitators]]
    source = "urho3d"          # a source name or id; "*" or omitted: every source
    handle = "ana"             # match on handle, email, native_id or display_name

    [[facilitators]]
    platform_role = "moderator"   # accept the platform's own staff/moderator/admin flag

    [privacy]
    k_anonymity = 5            # smallest group shown when consent is not recorded
    unrecorded = "aggregate"   # "aggregate" (default) or "show"

    [[sources]]                # a live source for `villagegreen sync` (docs/connectors/matrix.md)
    name = "community"
    platform = "matrix"
    homeserver = "https://matrix.example.org"
    token_env = "MATRIX_TOKEN" # the NAME of the environment variable holding the access token
    rooms = ["#general:example.org"]   # or "joined" (the default): every joined room

The file is looked for at ``--config``, then ``$VILLAGEGREEN_CONFIG``, then
``villagegreen.toml`` in the working directory; without one, nobody is a facilitator and
the privacy defaults apply.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from villagegreen.errors import ConfigError

CONFIG_ENV = "VILLAGEGREEN_CONFIG"
DEFAULT_CONFIG_NAME = "villagegreen.toml"
IDENTITY_FIELDS = ("handle", "email", "native_id", "display_name")
PLATFORM_ROLES = ("staff", "moderator", "admin")


@dataclass(frozen=True, slots=True)
class FacilitatorRule:
    """Matches identities that act as facilitators; every field given must match."""

    source: str | None = None
    handle: str | None = None
    email: str | None = None
    native_id: str | None = None
    display_name: str | None = None
    platform_role: str | None = None

    def describe(self) -> str:
        parts = [f"{name}={value}" for name in ("source", *IDENTITY_FIELDS, "platform_role") if (value := getattr(self, name))]
        return ", ".join(parts)


@dataclass(frozen=True, slots=True)
class PrivacyConfig:
    k_anonymity: int = 5
    unrecorded: Literal["aggregate", "show"] = "aggregate"


@dataclass(frozen=True, slots=True)
class SourceConfig:
    """A live source for ``villagegreen sync`` (``[[sources]]``); the token stays in the environment.

    ``rooms`` empty means every joined room; ``source_key`` (default: the account's server) seeds
    ids, so set it to the name ``villagegreen import`` printed to sync into an imported source.
    """

    name: str
    platform: str
    homeserver: str
    token_env: str
    rooms: tuple[str, ...] = ()
    source_key: str | None = None
    include_private: bool = False


@dataclass(frozen=True, slots=True)
class Config:
    facilitators: tuple[FacilitatorRule, ...] = ()
    privacy: PrivacyConfig = field(default_factory=PrivacyConfig)
    path: Path | None = None
    sources: tuple[SourceConfig, ...] = ()


def load_config(path: Path | None = None) -> Config:
    """Read the configuration, or the defaults when no file is given or found."""
    explicit = path or (Path(value) if (value := os.environ.get(CONFIG_ENV)) else None)
    if explicit is None:
        default = Path(DEFAULT_CONFIG_NAME)
        if not default.is_file():
            return Config()
        explicit = default
    try:
        data = tomllib.loads(explicit.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{explicit}: configuration file not found; create it or drop --config") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"{explicit}: not valid TOML ({error}); fix the file") from None
    return Config(
        facilitators=tuple(_facilitator(explicit, entry) for entry in _list(explicit, data, "facilitators")),
        privacy=_privacy(explicit, data.get("privacy", {})),
        path=explicit,
        sources=tuple(_source(explicit, entry) for entry in _list(explicit, data, "sources")),
    )


def _list(path: Path, data: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise ConfigError(f"{path}: [{key}] must be an array of tables ([[{key}]])")
    return value


def _facilitator(path: Path, entry: dict[str, Any]) -> FacilitatorRule:
    allowed = {"source", *IDENTITY_FIELDS, "platform_role"}
    unknown = sorted(set(entry) - allowed)
    if unknown:
        raise ConfigError(f"{path}: unknown facilitator field(s) {', '.join(unknown)}; use {', '.join(sorted(allowed))}")
    if not any(entry.get(name) for name in (*IDENTITY_FIELDS, "platform_role")):
        raise ConfigError(f"{path}: a [[facilitators]] entry needs one of {', '.join((*IDENTITY_FIELDS, 'platform_role'))}")
    role = entry.get("platform_role")
    if role is not None and role not in PLATFORM_ROLES:
        raise ConfigError(f"{path}: platform_role must be one of {', '.join(PLATFORM_ROLES)}, not {role!r}")
    source = entry.get("source")
    return FacilitatorRule(
        source=None if source in (None, "*") else str(source),
        **{name: str(entry[name]) for name in (*IDENTITY_FIELDS, "platform_role") if entry.get(name) is not None},
    )


def _privacy(path: Path, data: Any) -> PrivacyConfig:
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: [privacy] must be a table")
    k = data.get("k_anonymity", 5)
    if not isinstance(k, int) or isinstance(k, bool) or k < 2:
        raise ConfigError(f"{path}: privacy.k_anonymity must be a whole number of at least 2")
    unrecorded = data.get("unrecorded", "aggregate")
    if unrecorded not in ("aggregate", "show"):
        raise ConfigError(f'{path}: privacy.unrecorded must be "aggregate" or "show"')
    return PrivacyConfig(k_anonymity=k, unrecorded=unrecorded)


SYNC_PLATFORMS = ("matrix",)
_SOURCE_FIELDS = {"name", "platform", "homeserver", "token_env", "rooms", "source_key", "include_private"}


def _source(path: Path, entry: dict[str, Any]) -> SourceConfig:
    unknown = sorted(set(entry) - _SOURCE_FIELDS)
    if unknown:
        # "token" itself is refused here: a secret in the file would end up in backups and repos.
        raise ConfigError(f"{path}: unknown [[sources]] field(s) {', '.join(unknown)}; use {', '.join(sorted(_SOURCE_FIELDS))}")
    for key in ("name", "platform", "homeserver", "token_env"):
        if not isinstance(entry.get(key), str) or not entry[key]:
            raise ConfigError(f"{path}: every [[sources]] entry needs {key} (a string)")
    if entry["platform"] not in SYNC_PLATFORMS:
        raise ConfigError(f"{path}: source {entry['name']}: platform must be one of {', '.join(SYNC_PLATFORMS)}")
    if not str(entry["homeserver"]).startswith(("https://", "http://")):
        raise ConfigError(f"{path}: source {entry['name']}: homeserver must be a URL (https://matrix.example.org)")
    rooms = entry.get("rooms", "joined")
    rooms = [] if rooms == "joined" else rooms
    if not isinstance(rooms, list) or not all(isinstance(r, str) and r[:1] in "!#" for r in rooms):
        raise ConfigError(f'{path}: source {entry["name"]}: rooms must be "joined" or a list of room ids (!...) and aliases (#...)')
    source_key = entry.get("source_key")
    private = entry.get("include_private", False)
    if (source_key is not None and not isinstance(source_key, str)) or not isinstance(private, bool):
        raise ConfigError(f"{path}: source {entry['name']}: source_key must be a string and include_private true or false")
    return SourceConfig(
        name=entry["name"], platform=entry["platform"], homeserver=entry["homeserver"], token_env=entry["token_env"],
        rooms=tuple(rooms), source_key=source_key, include_private=private,
    )  # fmt: skip
