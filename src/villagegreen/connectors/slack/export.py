"""The layout of a Slack workspace export, as a zip or an unpacked folder.

::

    channels.json   public channels            users.json      accounts
    groups.json     private channels           dms.json        direct messages
    mpims.json      group direct messages      <folder>/<YYYY-MM-DD>.json   one day of one space

A space's folder is its name (channels, private channels, group DMs) or its id (DMs). Some zips
wrap everything in one top folder; that is accepted. slackdump's "export" output has the same
layout and is read the same way. Files this module does not know (integration_logs.json,
canvases.json, ...) are ignored.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from villagegreen.connectors.slack.raw_json import parse
from villagegreen.connectors.tree import SourceTree
from villagegreen.errors import InputError, ItemError
from villagegreen.model import JsonDict, SpaceKind


@dataclass(frozen=True, slots=True)
class Listing:
    filename: str
    kind: SpaceKind
    private: bool
    raw_kind: str  # what its entries are called in raw_items


# In the order spaces are read; a private channel is still a channel, just private.
LISTINGS = (
    Listing("channels.json", "channel", private=False, raw_kind="channel"),
    Listing("groups.json", "channel", private=True, raw_kind="group"),
    Listing("mpims.json", "group_dm", private=True, raw_kind="mpim"),
    Listing("dms.json", "dm", private=True, raw_kind="dm"),
)
_LISTING_NAMES = frozenset(listing.filename for listing in LISTINGS)
_DAY_FILE = re.compile(r"(?P<folder>[^/]+)/(?P<day>\d{4}-\d{2}-\d{2})\.json")


@dataclass(frozen=True, slots=True)
class PlannedSpace:
    """One listed space and where its day files are."""

    entry: JsonDict
    native_id: str
    name: str  # as listed: channel or group-DM name, or the DM's id
    listing: Listing
    private: bool
    folder: str | None  # None: listed, but the export has no day files for it


def find_root(tree: SourceTree) -> str | None:
    """The prefix ("" or "top/") under which the listings are, or None when there are none."""
    roots = set()
    for name in tree.names():
        head, _, tail = name.rpartition("/")
        if tail in _LISTING_NAMES and head.count("/") == 0:
            roots.add(f"{head}/" if head else "")
    return min(roots, key=lambda root: (root.count("/"), root)) if roots else None


def looks_like_export(tree: SourceTree) -> bool:
    """A listing that is a JSON array, beside users.json or at least one day file. Reads a few bytes."""
    root = find_root(tree)
    if root is None:
        return False
    listing = next(f"{root}{listing.filename}" for listing in LISTINGS if tree.exists(f"{root}{listing.filename}"))
    has_days = any(_DAY_FILE.fullmatch(name[len(root) :]) for name in tree.glob(".json", under=root.rstrip("/")))
    if not (tree.exists(f"{root}users.json") or has_days):
        return False
    try:
        with tree.open(listing) as stream:
            head = stream.read(64).lstrip(b"\xef\xbb\xbf \t\r\n")
    except InputError:
        return False
    return head.startswith(b"[")


class SlackExport:
    """Listings and day files of one export; day files are read only when asked for."""

    def __init__(self, tree: SourceTree) -> None:
        root = find_root(tree)
        if root is None:
            raise InputError(f"{tree.path}: no channels.json, groups.json, dms.json or mpims.json; is this a Slack export?")
        self.tree = tree
        self.root = root
        self.day_files: dict[str, list[str]] = defaultdict(list)
        for name in tree.glob(".json", under=root.rstrip("/")):
            match = _DAY_FILE.fullmatch(name[len(root) :])
            if match:
                self.day_files[match["folder"]].append(name)
        for names in self.day_files.values():
            names.sort()
        # Entries without an id, per listing file: skipped and reported, the rest still imports.
        self.malformed: dict[str, int] = {}
        self.users: list[JsonDict] = self._listing("users.json")
        self.listed: dict[str, list[JsonDict]] = {listing.filename: self._listing(listing.filename) for listing in LISTINGS}

    def plan(self) -> list[PlannedSpace]:
        """Every listed space with its folder; each folder goes to one space at most."""
        planned: list[PlannedSpace] = []
        claimed: set[str] = set()
        for listing in LISTINGS:
            for entry in self.listed[listing.filename]:
                native_id = str(entry["id"])
                listed_name = entry.get("name")
                name = listed_name if isinstance(listed_name, str) and listed_name else native_id
                private = listing.private or bool(entry.get("is_private") or entry.get("is_im") or entry.get("is_mpim"))
                folder = next((f for f in (name, native_id) if f in self.day_files and f not in claimed), None)
                if folder is not None:
                    claimed.add(folder)
                planned.append(PlannedSpace(entry, native_id, name, listing, private, folder))
        return planned

    def unlisted_folders(self, planned: list[PlannedSpace]) -> list[str]:
        claimed = {space.folder for space in planned}
        return sorted(folder for folder in self.day_files if folder not in claimed)

    def read_day(self, name: str) -> list[Any]:
        """The entries of one day file; a file that is not a JSON array is one skippable item."""
        try:
            entries = parse(self.tree.read_bytes(name))
        except (ValueError, UnicodeDecodeError) as error:
            raise ItemError(f"not valid JSON ({error})") from error
        except RecursionError:
            # json raises this, not ValueError, for arrays nested thousands deep (hostile input).
            raise ItemError("not valid JSON (nested too deeply)") from None
        if not isinstance(entries, list):
            raise ItemError(f"expected a JSON array of messages, found {type(entries).__name__}")
        return entries

    def first_team(self, planned: list[PlannedSpace]) -> str | None:
        """A team id from the listings or, failing that, from the first public day file."""
        for space in planned:
            team = space.entry.get("context_team_id") or space.entry.get("team_id")
            if isinstance(team, str) and team:
                return team
        for space in planned:
            if space.private or space.folder is None:
                continue
            try:
                entries = self.read_day(self.day_files[space.folder][0])
            except ItemError:
                continue
            for entry in entries:
                if isinstance(entry, dict) and isinstance(entry.get("team"), str) and entry["team"]:
                    return str(entry["team"])
            break
        return None

    def _listing(self, filename: str) -> list[JsonDict]:
        name = f"{self.root}{filename}"
        if not self.tree.exists(name):
            return []
        try:
            loaded = json.loads(self.tree.read_bytes(name))
        except (ValueError, UnicodeDecodeError) as error:
            raise InputError(f"{self.tree.describe(name)}: not valid JSON ({error}); re-export the workspace") from error
        except RecursionError:
            raise InputError(f"{self.tree.describe(name)}: not valid JSON (nested too deeply); re-export the workspace") from None
        if not isinstance(loaded, list):
            raise InputError(f"{self.tree.describe(name)}: expected a JSON array, found {type(loaded).__name__}; re-export the workspace")
        entries = [entry for entry in loaded if isinstance(entry, dict) and isinstance(entry.get("id"), str) and entry["id"]]
        if len(entries) != len(loaded):
            self.malformed[filename] = len(loaded) - len(entries)
        return entries
