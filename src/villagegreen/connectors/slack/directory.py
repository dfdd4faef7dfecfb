"""Who is who in one Slack export: accounts from users.json plus anyone else the messages name.

Identities are yielded after the messages, because only then is it known which unlisted
authors exist (people from another workspace in a shared channel, deleted accounts) and which
of them are bots (they post with a ``bot_id``).

Bot flags: an account is a bot when users.json says ``is_bot``, when its profile carries a
``bot_id`` (Slack marks some app users ``is_bot: false`` but gives them one), or for Slackbot.
An account that users.json describes as a person stays a person even when one of its messages
carries a ``bot_id``: that is an app posting on the person's behalf (``/giphy``), and calling
the person a bot would hide everything they wrote. Authors users.json does not list are bots
when they post with a ``bot_id`` or the ``bot_message`` subtype.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from villagegreen.connectors.base import ReadContext
from villagegreen.model import Identity, JsonDict

SLACKBOT = "USLACKBOT"


@dataclass(slots=True)
class _Unlisted:
    display_name: str
    handle: str | None
    is_bot: bool
    kind: str  # "user" or "bot"


# What a copy of the directory learnt while reading: unlisted accounts in the order first met, bot names.
Learnt = tuple[list[tuple[str, _Unlisted]], dict[str, str]]


class Directory:
    def __init__(self, users: list[JsonDict], channel_names: dict[str, str]) -> None:
        self._users = {u["id"]: u for u in users if isinstance(u.get("id"), str) and u["id"]}
        self._names = {user_id: display_name(user) for user_id, user in self._users.items()}
        self._bot_owner: dict[str, str] = {
            bot_id: user_id for user_id, user in self._users.items() if isinstance(bot_id := _profile(user).get("bot_id"), str) and bot_id
        }
        self._unlisted: dict[str, _Unlisted] = {}
        self._bot_names: dict[str, str] = {}
        self._channel_names = channel_names

    def copy(self) -> Directory:
        """An independent directory with what this one knows now (for reading one space alone)."""
        twin = Directory.__new__(Directory)
        # Listed accounts never change after construction, so they can be shared.
        twin._users, twin._names, twin._bot_owner, twin._channel_names = self._users, self._names, self._bot_owner, self._channel_names
        twin._unlisted = {user_id: _Unlisted(s.display_name, s.handle, s.is_bot, s.kind) for user_id, s in self._unlisted.items()}
        twin._bot_names = dict(self._bot_names)
        return twin

    def learnt(self) -> Learnt:
        """Everything about unlisted accounts and bot names this directory holds (picklable)."""
        return list(self._unlisted.items()), dict(self._bot_names)

    def absorb(self, learnt: Learnt) -> None:
        """Fold in what a copy learnt: new accounts are added, a bot flag once set stays set.

        The first account description and the first bot name win, as when one directory reads
        every space in turn.
        """
        unlisted, bot_names = learnt
        for user_id, seen in unlisted:
            known = self._unlisted.get(user_id)
            if known is None:
                self._unlisted[user_id] = _Unlisted(seen.display_name, seen.handle, seen.is_bot, seen.kind)
            else:
                known.is_bot = known.is_bot or seen.is_bot
        for bot_id, name in bot_names.items():
            self._bot_names.setdefault(bot_id, name)

    def name(self, user_id: str) -> str | None:
        """The display name of a user id, for rendering mentions."""
        known = self._names.get(user_id)
        if known is not None:
            return known
        unlisted = self._unlisted.get(user_id)
        return unlisted.display_name if unlisted else None

    def names_by_identity(self, context: ReadContext) -> dict[str, str]:
        """Every account's display name keyed by its identity id (for disentanglement's name cues)."""
        names = {context.id("identity", user_id): name for user_id, name in self._names.items()}
        names.update((context.id("identity", native_id), self._unlisted_name(native_id, seen)) for native_id, seen in self._unlisted.items())
        return names

    def _unlisted_name(self, native_id: str, seen: _Unlisted) -> str:
        # A bot known only by its id takes the name an "added an integration" notice gave it.
        return self._bot_names.get(native_id, seen.display_name) if seen.display_name == native_id else seen.display_name

    def channel_name(self, channel_id: str) -> str | None:
        return self._channel_names.get(channel_id)

    def touch_user(self, user_id: str, profile: Any = None, *, via_bot: bool = False) -> str:
        """Note that ``user_id`` appears in the export; returns its native identity id."""
        if user_id in self._users:
            return user_id
        if user_id.startswith("B"):  # a bot id where a user id goes (an app editing its own post)
            return self.touch_bot(user_id)
        seen = self._unlisted.get(user_id)
        if seen is None:
            profile = profile if isinstance(profile, dict) else {}
            name = _first_text(profile.get("display_name"), profile.get("real_name"), profile.get("name"))
            seen = self._unlisted[user_id] = _Unlisted(name or user_id, _first_text(profile.get("name")), user_id == SLACKBOT, "user")
            if user_id == SLACKBOT and not name:
                seen.display_name = "Slackbot"
        seen.is_bot = seen.is_bot or via_bot
        return user_id

    def touch_bot(self, bot_id: str, username: Any = None, bot_profile: Any = None) -> str:
        """Note a bot that posted without a user; returns its native identity id.

        A bot that belongs to a listed app user is that user; otherwise the bot id stands for
        the identity (bot ids ``B...`` never collide with user ids ``U...``/``W...``).
        """
        owner = self._bot_owner.get(bot_id)
        if owner is not None:
            return owner
        if bot_id not in self._unlisted:
            bot_name = bot_profile.get("name") if isinstance(bot_profile, dict) else None
            name = _first_text(bot_name, username)
            self._unlisted[bot_id] = _Unlisted(name or bot_id, None, True, "bot")
        return bot_id

    def name_bot(self, bot_id: str, name: str) -> None:
        """A name for a bot that may post without one (from the "added an integration" notice)."""
        self._bot_names.setdefault(bot_id, name)

    def identities(self, context: ReadContext) -> Iterator[Identity]:
        for user_id, user in self._users.items():
            profile = _profile(user)
            meta = {
                "real_name": _first_text(profile.get("real_name"), user.get("real_name")),
                "team_id": user.get("team_id"),
                "deleted": user.get("deleted") or None,
                "admin": user.get("is_admin") or None,
                "owner": user.get("is_owner") or None,
                "guest": user.get("is_restricted") or None,
                "tz": user.get("tz"),
                "title": profile.get("title") or None,
            }
            yield Identity(
                id=context.id("identity", user_id),
                source_id=context.source_id,
                native_id=user_id,
                display_name=self._names[user_id],
                handle=_first_text(user.get("name")),
                email=_first_text(profile.get("email")),
                is_bot=bool(user.get("is_bot") or profile.get("bot_id") or user_id == SLACKBOT),
                meta={key: value for key, value in meta.items() if value is not None},
            )
        for native_id, seen in self._unlisted.items():
            yield Identity(
                id=context.id("identity", native_id),
                source_id=context.source_id,
                native_id=native_id,
                display_name=self._unlisted_name(native_id, seen),
                handle=seen.handle,
                is_bot=seen.is_bot,
                meta={"unlisted": True, "kind": seen.kind},
            )


def majority_team(users: list[JsonDict]) -> str | None:
    """The workspace's team id: the one most accounts belong to (shared channels add others)."""
    teams = Counter(u["team_id"] for u in users if isinstance(u.get("team_id"), str) and u["team_id"])
    return max(teams.items(), key=lambda item: (item[1], item[0]))[0] if teams else None


def display_name(user: JsonDict) -> str:
    """Slack's own order: the display name, else the real name, else the account name."""
    profile = _profile(user)
    return _first_text(profile.get("display_name"), profile.get("real_name"), user.get("real_name"), user.get("name")) or str(user["id"])


def _profile(user: JsonDict) -> JsonDict:
    profile = user.get("profile")
    return profile if isinstance(profile, dict) else {}


def _first_text(*values: Any) -> str | None:
    for value in values:
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None
