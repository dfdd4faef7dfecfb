"""Slack logs kept by haskell-jp's ``slack-log`` tool: reduced messages, paged per channel id.

::

    <root>/<channel id>/<page>.json              a page of the channel's history (JSON array)
    <root>/<channel id>/<page>/<thread ts>.json  one thread: its root, then its replies
    <root>/.users.json     {user id: name}       <root>/.groups.json    {private group id: name}
    <root>/.channels.json  {channel id: name}    <root>/.timestamps.json  {channel id: last ts}

Each message keeps only ``ts``, ``text``, ``user`` and ``type`` (always ``"message"``): no
``thread_ts``, no ``subtype``, no reactions or files. What is rebuilt, and how:

- threads come from where a message is: every message of a thread file after the first is a
  reply to the file's root (``thread_ts`` = the file name). A reply that also appears in the
  channel's pages was sent to the channel too (``thread_broadcast``);
- pages overlap (the tool re-fetches the last page), so a message is read once per channel ts;
- joins, leaves and topic or purpose changes lost their subtype; Slack's own fixed wording
  (``<@U123> has joined the channel`` by U123) gives it back, and the event says
  ``meta.subtype_inferred``. Any other text stays a message;
- privacy: ``G``/``D`` ids and the ids in ``.groups.json`` are private. Newer private channels
  also have ``C`` ids; the tool lists those in ``.groups.json`` when it saves them.

The dot files are invisible to :class:`SourceTree` (it hides dot files everywhere), so they
are read beside it, and only from a folder: a zip of this layout is read with ids for names
and privacy from the id prefix alone.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from villagegreen.connectors.base import ReadContext
from villagegreen.connectors.slack.directory import Directory
from villagegreen.connectors.slack.export import Listing, PlannedSpace
from villagegreen.connectors.slack.mapping import map_space, message_native_id, parse_ts
from villagegreen.connectors.slack.space_state import SpaceState
from villagegreen.connectors.slack.threading import thread_space
from villagegreen.connectors.tree import SourceTree
from villagegreen.errors import InputError, ItemError
from villagegreen.model import Event, JsonDict, Record, Skipped

if TYPE_CHECKING:
    from villagegreen.connectors.slack.connector import SlackExportConnector

PRIVATE_REASON = "private channel skipped (use --include-private)"
PRIVATE_PAGE_REASON = "page of a skipped private channel, not read (use --include-private)"
SIDECAR_MAX_BYTES = 64 * 1024**2
_PAGE = re.compile(r"(?P<root>(?:[^/]+/)*)(?P<channel>[CGD][A-Z0-9]{6,})/(?P<page>[1-9][0-9]*)\.json")
_THREAD = re.compile(r"(?P<root>(?:[^/]+/)*)(?P<channel>[CGD][A-Z0-9]{6,})/(?P<page>[1-9][0-9]*)/(?P<ts>[0-9]{9,10}\.[0-9]{6})\.json")
_MESSAGE_HEAD = re.compile(rb'^(?:\xef\xbb\xbf)?\s*\[\s*(?:\]|\{\s*"(?:ts|text|user|type)"\s*:)')
_TS = re.compile(rb'"ts"\s*:\s*"[0-9]{9,10}\.[0-9]{6}"')
_LISTING = Listing("(slack-log pages)", "channel", private=False, raw_kind="channel")
# Slack's fixed wording of the notices whose subtype the tool dropped; the id must be the author's.
_NOTICES = (
    (re.compile(r"<@(?P<user>[UW][A-Z0-9]+)(?:\|[^>]*)?> has joined the (?:channel|group)"), "channel_join"),
    (re.compile(r"<@(?P<user>[UW][A-Z0-9]+)(?:\|[^>]*)?> has left the (?:channel|group)"), "channel_leave"),
    (re.compile(r"<@(?P<user>[UW][A-Z0-9]+)(?:\|[^>]*)?> set the (?:channel|group) topic: .*", re.DOTALL), "channel_topic"),
    (re.compile(r"<@(?P<user>[UW][A-Z0-9]+)(?:\|[^>]*)?> set the (?:channel|group) purpose: .*", re.DOTALL), "channel_purpose"),
    (re.compile(r"<@(?P<user>[UW][A-Z0-9]+)(?:\|[^>]*)?> renamed the (?:channel|group) from .*", re.DOTALL), "channel_name"),
)


@dataclass(slots=True)
class FlatLog:
    """Where the pages and thread files of each channel are."""

    root: str
    pages: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    threads: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))


def find_flat(tree: SourceTree) -> FlatLog | None:
    """The layout when page files sit under one root and no Slack export listing is present."""
    roots: Counter[str] = Counter()
    found: list[tuple[str, str, bool]] = []
    for name in tree.names():
        if (match := _THREAD.fullmatch(name)) is not None:
            found.append((match["root"], name, True))
        elif (match := _PAGE.fullmatch(name)) is not None:
            found.append((match["root"], name, False))
            roots[match["root"]] += 1
    if not roots:
        return None
    root = min(roots, key=lambda r: (-roots[r], r))
    log = FlatLog(root)
    for found_root, name, is_thread in found:
        if found_root == root:
            channel = name[len(root) :].split("/", 1)[0]
            (log.threads if is_thread else log.pages)[channel].append(name)
    for names in (*log.pages.values(), *log.threads.values()):
        names.sort(key=_natural)
    return log


def looks_like_flat(tree: SourceTree) -> bool:
    """A page file that is a JSON array of reduced Slack messages with a Slack ``ts``. Reads 512 bytes."""
    log = find_flat(tree)
    if log is None:
        return False
    first = next(iter(sorted(log.pages.values())))[0]
    head = tree.head(first, 512)
    return _MESSAGE_HEAD.match(head) is not None and (_TS.search(head) is not None or head.rstrip().endswith(b"]"))


def source_key(tree: SourceTree) -> str:
    """No team id survives in this layout: the input's folder (or file) name stands for the workspace."""
    return tree.path.stem if tree.kind != "folder" else tree.path.resolve().name


def read(connector: SlackExportConnector, tree: SourceTree, context: ReadContext) -> Iterator[Record]:
    log = find_flat(tree)
    if log is None:
        raise InputError(f"{tree.path}: no <channel id>/<page>.json files; is this a slack-log folder?")
    users = _sidecar(tree, log.root, ".users.json")
    groups = _sidecar(tree, log.root, ".groups.json")
    names = {**_sidecar(tree, log.root, ".channels.json"), **groups}
    people = Directory([{"id": uid, "name": name} for uid, name in users.items() if isinstance(name, str)], {})
    for channel in sorted(log.pages.keys() | log.threads.keys()):
        name = str(names.get(channel) or channel)
        private = channel in groups or channel[0] in "GD"
        if private and not context.include_private:
            yield Skipped("space", PRIVATE_REASON, name)
            for page in (*log.pages.get(channel, []), *log.threads.get(channel, [])):
                yield Skipped("page file", PRIVATE_PAGE_REASON, tree.describe(page))
            continue
        space = PlannedSpace({"id": channel, "name": name}, channel, name, _LISTING, private, channel)
        yield connector.raw(context, "channel", channel, space.entry)
        yield map_space(space.entry, "group_dm" if channel[0] == "D" else "channel", private, name, context)
        yield from thread_space(_read_channel(connector, tree, log, space, people, context), people, context)
    yield from people.identities(context)


def _read_channel(
    connector: SlackExportConnector, tree: SourceTree, log: FlatLog, space: PlannedSpace, people: Directory, context: ReadContext
) -> Iterator[Record]:
    entries: dict[str, JsonDict] = {}
    in_pages: set[str] = set()
    thread_of: dict[str, str] = {}
    for name in log.pages.get(space.native_id, []):
        context.on_file(name)
        for entry in (yield from _entries(tree, name)):
            entries.setdefault(entry["ts"], entry)
            in_pages.add(entry["ts"])
    for name in log.threads.get(space.native_id, []):
        root_ts = name.rsplit("/", 1)[1].removesuffix(".json")
        for entry in (yield from _entries(tree, name)):
            entries.setdefault(entry["ts"], entry)
            if entry["ts"] != root_ts:
                thread_of[entry["ts"]] = root_ts
    state = SpaceState(space, context)
    for ts in sorted(entries, key=float):
        entry = entries[ts]
        native_id = message_native_id(space.native_id, ts)
        try:
            sent_at = parse_ts(ts, native_id)
        except ItemError as error:
            yield Skipped("message", "ts is not a Slack timestamp", str(error))
            continue
        rebuilt, inferred = _rebuild(entry, thread_of.get(ts), ts in in_pages)
        yield connector.raw(context, "message", native_id, entry)
        for record in connector._map_entry(rebuilt, native_id, sent_at, state, people, context):
            if inferred and isinstance(record, Event):
                record.meta["subtype_inferred"] = True
            yield record


def _entries(tree: SourceTree, name: str) -> Generator[Skipped, None, list[JsonDict]]:
    """Skips for what cannot be read; returns the usable entries (objects with a string ts)."""
    where = tree.describe(name)
    try:
        loaded = json.loads(tree.read_bytes(name))
    except (ValueError, UnicodeDecodeError) as error:
        yield Skipped("page file", f"not valid JSON ({error})", where)
        return []
    if not isinstance(loaded, list):
        yield Skipped("page file", f"expected a JSON array of messages, found {type(loaded).__name__}", where)
        return []
    usable = [e for e in loaded if isinstance(e, dict) and isinstance(e.get("ts"), str) and e["ts"]]
    for _ in range(len(loaded) - len(usable)):
        yield Skipped("message", "entry without a ts", where)
    return usable


def _rebuild(entry: JsonDict, root_ts: str | None, in_pages: bool) -> tuple[JsonDict, bool]:
    """The entry as Slack's API gave it: ``thread_ts`` from the thread file, a notice's subtype from its wording."""
    rebuilt = dict(entry)
    if root_ts is not None:
        rebuilt["thread_ts"] = root_ts
        if in_pages:
            rebuilt["subtype"] = "thread_broadcast"
        return rebuilt, False
    text, user = entry.get("text"), entry.get("user")
    if "subtype" not in entry and isinstance(text, str) and isinstance(user, str):
        for pattern, subtype in _NOTICES:
            match = pattern.fullmatch(text)
            if match is not None and match["user"] == user:
                rebuilt["subtype"] = subtype
                return rebuilt, True
    return rebuilt, False


def _sidecar(tree: SourceTree, root: str, name: str) -> dict[str, Any]:
    """One of the tool's dot files as a dict; {} when absent, unreadable, or the input is not a folder."""
    if tree.kind != "folder":
        return {}
    path = Path(tree.path, root, name)
    try:
        if not path.is_file() or path.stat().st_size > SIDECAR_MAX_BYTES:
            return {}
        loaded = json.loads(path.read_bytes())
    except (OSError, ValueError, UnicodeDecodeError):
        return {}
    return {str(key): value for key, value in loaded.items()} if isinstance(loaded, dict) else {}


def _natural(name: str) -> tuple[int, ...]:
    """Page 10 after page 9."""
    return tuple(int(part) for part in re.findall(r"\d+", name.rsplit("/", 2)[-1].split(".")[0]))
