"""Where ``villagegreen publish`` may post: the ``[[targets]]`` tables of ``villagegreen.toml``.

Read here with tomllib from the same file ``load_config`` reads (``--config``, then
``$VILLAGEGREEN_CONFIG``, then ``./villagegreen.toml``); ``load_config`` ignores this table.
Secrets never live in the file: ``token_env`` (and ``webhook_env`` for a Slack incoming webhook,
whose URL is itself the secret) names the environment variable that holds them. Example::

    [[targets]]
    name = "intranet"            # what --to names
    kind = "site"                # site, email, matrix, discourse, slack, zulip, mattermost
    path = "public/stories"

    [[targets]]
    name = "newsletter"
    kind = "email"
    smtp_host = "smtp.example.org"
    smtp_port = 587              # default 25; starttls = true upgrades the connection
    sender = "stories@example.org"
    recipients = ["members@example.org"]
    username = "stories"         # optional; the password comes from token_env
    token_env = "SMTP_PASSWORD"

    [[targets]]
    name = "matrix-general"
    kind = "matrix"
    homeserver = "https://matrix.example.org"
    room = "!abc:example.org"
    token_env = "MATRIX_TOKEN"

Per kind, the keys that must be present are :data:`REQUIRED`; anything else wrong is one
:class:`ConfigError` naming the file, the target and the key.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from villagegreen.errors import ConfigError

CONFIG_ENV = "VILLAGEGREEN_CONFIG"
DEFAULT_CONFIG_NAME = "villagegreen.toml"
KINDS = ("site", "email", "matrix", "discourse", "slack", "zulip", "mattermost")
REQUIRED: dict[str, tuple[str, ...]] = {
    "site": ("path",),
    "email": ("smtp_host", "sender", "recipients"),
    "matrix": ("homeserver", "room", "token_env"),
    "discourse": ("url", "username", "token_env"),
    "slack": ("channel", "token_env"),
    "zulip": ("url", "email", "channel", "token_env"),
    "mattermost": ("url", "channel_id", "token_env"),
}
_STRINGS = ("path", "smtp_host", "sender", "username", "homeserver", "room", "url", "channel", "channel_id", "email", "topic",
            "token_env", "webhook_env")  # fmt: skip
_OTHERS = ("name", "kind", "smtp_port", "starttls", "recipients", "category", "reply_to_topic")


@dataclass(frozen=True, slots=True)
class Target:
    """One publishing destination. ``options`` holds the kind's keys (strings, ints, lists, bools)."""

    name: str
    kind: str
    options: dict[str, Any] = field(default_factory=dict)

    def get(self, key: str, default: Any = None) -> Any:
        return self.options.get(key, default)

    def text(self, key: str) -> str:
        return str(self.options[key])

    def secret(self, key: str = "token_env") -> str:
        """The value of the environment variable the target names; missing is one line, never the value."""
        variable = self.options.get(key)
        if not variable:
            raise ConfigError(f"target {self.name!r} has no {key}; add the name of the environment variable holding its secret")
        value = os.environ.get(str(variable))
        if not value:
            raise ConfigError(f"target {self.name!r}: environment variable {variable} is not set; export it before publishing")
        return value


def config_file(path: Path | None) -> Path | None:
    """The configuration file, found as ``load_config`` finds it; None when there is none."""
    explicit = path or (Path(value) if (value := os.environ.get(CONFIG_ENV)) else None)
    if explicit is not None:
        return explicit
    default = Path(DEFAULT_CONFIG_NAME)
    return default if default.is_file() else None


def load_targets(path: Path | None = None) -> tuple[Target, ...]:
    """Every ``[[targets]]`` entry of the configuration, checked."""
    found = config_file(path)
    if found is None:
        return ()
    try:
        data = tomllib.loads(found.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{found}: configuration file not found; create it or drop --config") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"{found}: not valid TOML ({error}); fix the file") from None
    entries = data.get("targets", [])
    if not isinstance(entries, list) or not all(isinstance(entry, dict) for entry in entries):
        raise ConfigError(f"{found}: [targets] must be an array of tables ([[targets]])")
    targets = tuple(_target(found, entry) for entry in entries)
    names = [t.name for t in targets]
    if duplicate := next((n for n in names if names.count(n) > 1), None):
        raise ConfigError(f"{found}: two targets are called {duplicate!r}; give each a unique name")
    return targets


def find_target(name: str, path: Path | None = None) -> Target:
    targets = load_targets(path)
    for target in targets:
        if target.name == name:
            return target
    known = ", ".join(t.name for t in targets) or "none"
    raise ConfigError(f"no publishing target {name!r} (configured: {known}); add a [[targets]] entry to villagegreen.toml (docs/publishing.md)")


def _target(path: Path, entry: dict[str, Any]) -> Target:
    name, kind = entry.get("name"), entry.get("kind")
    if not isinstance(name, str) or not name:
        raise ConfigError(f'{path}: a [[targets]] entry has no name; add name = "..."')
    if kind not in KINDS:
        raise ConfigError(f"{path}: target {name!r} has kind {kind!r}; choose one of: {', '.join(KINDS)}")
    unknown = sorted(set(entry) - set(_STRINGS) - set(_OTHERS))
    if unknown:
        raise ConfigError(f"{path}: target {name!r} has unknown key {unknown[0]!r}; see docs/publishing.md")
    required = REQUIRED[kind]
    if kind == "slack" and "webhook_env" in entry:
        required = ("webhook_env",)  # an incoming webhook knows its channel
    missing = [key for key in required if key not in entry]
    if missing:
        raise ConfigError(f"{path}: target {name!r} ({kind}) needs {missing[0]!r}; see docs/publishing.md")
    for key in _STRINGS:
        if key in entry and (not isinstance(entry[key], str) or not entry[key]):
            raise ConfigError(f"{path}: target {name!r}: {key} must be a non-empty string")
    if "recipients" in entry and (not isinstance(entry["recipients"], list) or not entry["recipients"]
                                  or not all(isinstance(r, str) and "@" in r for r in entry["recipients"])):  # fmt: skip
        raise ConfigError(f"{path}: target {name!r}: recipients must be a list of e-mail addresses")
    for key in ("smtp_port", "category", "reply_to_topic"):
        if key in entry and (not isinstance(entry[key], int) or isinstance(entry[key], bool)):
            raise ConfigError(f"{path}: target {name!r}: {key} must be a whole number")
    options = {k: v for k, v in entry.items() if k not in ("name", "kind")}
    for key in ("url", "homeserver"):
        if key in options:
            options[key] = options[key].rstrip("/")
    return Target(name, kind, options)
