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

    [[sources]]                # each platform declares its own fields (SOURCE_FIELDS below)
    name = "forum"
    platform = "discourse"     # also slack, mattermost, zulip, teams: see docs/connectors/<platform>.md
    url = "https://forum.example.org"
    api_username = "system"
    token_env = "DISCOURSE_API_KEY"

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

    Which fields a platform takes is declared in ``SOURCE_FIELDS``. ``rooms`` (Matrix) and
    ``channels`` (Slack, Mattermost) empty mean every joined room or channel the account can
    read. ``source_key`` seeds ids: set it to the name ``villagegreen import`` printed to sync
    into an imported source (default: the Matrix account's server, the Discourse or Mattermost
    host, the Slack team id).
    """

    name: str
    platform: str
    token_env: str
    homeserver: str = ""
    rooms: tuple[str, ...] = ()
    source_key: str | None = None
    include_private: bool = False
    url: str = ""
    api_username: str = ""
    # Zulip: the (bot) account's email; the API key is in the environment.
    email: str = ""
    # Teams: the team's id; with tenant_id and client_id, token_env holds the app's client secret
    # (client-credentials flow), without them a ready Graph access token.
    team_id: str = ""
    tenant_id: str = ""
    client_id: str = ""
    channels: tuple[str, ...] = ()
    # Slack: how far back each sync re-reads channel history to notice new replies in threads.
    thread_lookback_days: int = 14


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


_COMMON_FIELDS = ("name", "platform", "token_env", "source_key", "include_private")
# platform -> (required fields, optional fields), beyond the common ones.
SOURCE_FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "matrix": (("homeserver",), ("rooms",)),
    "discourse": (("url", "api_username"), ()),
    "slack": ((), ("channels", "thread_lookback_days")),
    "mattermost": (("url",), ("channels",)),
    "zulip": (("url", "email"), ("channels",)),
    "teams": (("team_id",), ("tenant_id", "client_id", "channels")),
}
SYNC_PLATFORMS = tuple(SOURCE_FIELDS)
_URL_FIELDS = ("homeserver", "url")
_STRING_FIELDS = ("homeserver", "url", "api_username", "email", "team_id", "tenant_id", "client_id")


def _source(path: Path, entry: dict[str, Any]) -> SourceConfig:
    for key in ("name", "platform", "token_env"):
        if not isinstance(entry.get(key), str) or not entry[key]:
            raise ConfigError(f"{path}: every [[sources]] entry needs {key} (a string)")
    name, platform = entry["name"], entry["platform"]
    if platform not in SOURCE_FIELDS:
        raise ConfigError(f"{path}: source {name}: platform must be one of {', '.join(SYNC_PLATFORMS)}")
    required, optional = SOURCE_FIELDS[platform]
    allowed = {*_COMMON_FIELDS, *required, *optional}
    unknown = sorted(set(entry) - allowed)
    if unknown:
        # "token" itself is refused here: a secret in the file would end up in backups and repos.
        raise ConfigError(f"{path}: source {name}: unknown field(s) {', '.join(unknown)} for {platform}; use {', '.join(sorted(allowed))}")
    for key in required:
        if not isinstance(entry.get(key), str) or not entry[key]:
            raise ConfigError(f"{path}: source {name}: a {platform} source needs {key} (a string)")
    for key in _STRING_FIELDS:
        if key in entry and (not isinstance(entry[key], str) or not entry[key]):
            raise ConfigError(f"{path}: source {name}: {key} must be a non-empty string")
    for key in _URL_FIELDS:
        if key in entry and not str(entry[key]).startswith(("https://", "http://")):
            raise ConfigError(f"{path}: source {name}: {key} must be a URL (https://...)")
    rooms = entry.get("rooms", "joined")
    rooms = [] if rooms == "joined" else rooms
    if not isinstance(rooms, list) or not all(isinstance(r, str) and r[:1] in "!#" for r in rooms):
        raise ConfigError(f'{path}: source {name}: rooms must be "joined" or a list of room ids (!...) and aliases (#...)')
    channels = entry.get("channels", "all")
    channels = [] if channels == "all" else channels
    if not isinstance(channels, list) or not all(isinstance(c, str) and c for c in channels):
        raise ConfigError(f'{path}: source {name}: channels must be "all" or a list of channel names or ids')
    source_key = entry.get("source_key")
    private = entry.get("include_private", False)
    if (source_key is not None and not isinstance(source_key, str)) or not isinstance(private, bool):
        raise ConfigError(f"{path}: source {name}: source_key must be a string and include_private true or false")
    if bool(entry.get("tenant_id")) != bool(entry.get("client_id")):
        raise ConfigError(f"{path}: source {name}: give both tenant_id and client_id (app sign-in), or neither (token_env holds an access token)")
    lookback = entry.get("thread_lookback_days", 14)
    if not isinstance(lookback, int) or isinstance(lookback, bool) or not 0 <= lookback <= 365:
        raise ConfigError(f"{path}: source {name}: thread_lookback_days must be a whole number from 0 to 365")
    return SourceConfig(
        name=name, platform=platform, token_env=entry["token_env"], homeserver=entry.get("homeserver", ""),
        rooms=tuple(rooms), source_key=source_key, include_private=private, url=entry.get("url", ""),
        api_username=entry.get("api_username", ""), email=entry.get("email", ""), team_id=entry.get("team_id", ""),
        tenant_id=entry.get("tenant_id", ""), client_id=entry.get("client_id", ""), channels=tuple(channels),
        thread_lookback_days=lookback,
    )  # fmt: skip
