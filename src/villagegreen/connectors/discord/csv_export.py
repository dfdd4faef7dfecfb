"""Reading DiscordChatExporter CSV exports, threaded by flat-channel disentanglement.

A DCE CSV file has the header ``AuthorID,Author,Date,Content,Attachments,Reactions`` (DCE 2.x
separates with ``;`` and ends every row with one; later versions use ``,``). Dates are the
exporter's local time without an offset: ``02-Jul-18 08:51 PM`` (DCE 2.x), ISO 8601 (later
versions), and a few other layouts; one without an offset is taken as UTC (a known limit: a
community exported in another zone is shifted by that offset). Attachments are URLs joined by
``,``; reactions are ``emoji (count)`` joined by ``,``.

CSV carries no message ids, no reply links and no channel ids, so:

- a channel is one CSV file, or all the CSV files of one folder (DCE's ``--partition`` pages
  and archives that split a channel into ``1.csv``, ``2.csv`` ...), read in natural order; its
  native id is the channel id DCE puts in the file name (``... [123].csv``) or else the folder
  path;
- a message's native id is its channel, minute, author and a hash of its text (with a counter
  for exact repeats), so re-imports are idempotent; an edited message becomes a new one;
- conversations are reconstructed with :mod:`villagegreen.connectors.disentangle`: the chosen
  parent becomes ``reply_to``, the first message of each conversation its root, and the message
  carries ``meta["reply_inferred"] = True``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import PurePosixPath

from villagegreen.connectors.base import Connector, ReadContext
from villagegreen.connectors.disentangle import ChatLine, conversation_roots, disentangle
from villagegreen.connectors.tree import SourceTree
from villagegreen.errors import InputError, ItemError
from villagegreen.model import Conversation, Identity, JsonDict, Message, Reaction, Record, Skipped, Space

_CHANNEL_ID = re.compile(r"\[(\d{5,})\](?: \[part \d+\])?\.csv$", re.IGNORECASE)
_DCE_NAME = re.compile(r"^(?P<guild>.+?) - (?:(?P<category>.+?) - )?(?P<channel>[^-]+?) \[\d+\]", re.IGNORECASE)
_DIGITS = re.compile(r"(\d+)")
_HEADER = re.compile(r'^"?AuthorID"?([;,])"?Author"?\1"?Date"?\1"?Content"?', re.IGNORECASE)
_REACTION = re.compile(r"\s*([^,]+?) \((\d+)\)(?:,|$)")
# DCE 2.x wrote the exporter's locale format; later versions ISO 8601. Tried in this order.
_DATE_FORMATS = ("%d-%b-%y %I:%M %p", "%d-%b-%Y %I:%M %p", "%d-%b-%y %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%m/%d/%Y %I:%M %p", "%d.%m.%Y %H:%M")


@dataclass(slots=True)
class Row:
    """One parsed CSV record; ``native_id`` is assigned once the channel's rows are known."""

    author_id: str
    author: str
    sent_at: datetime
    content: str
    attachments: list[str]
    reactions: list[tuple[str, int]]
    raw: dict[str, str]
    native_id: str = ""


def header_separator(head: bytes) -> str | None:
    """The separator when ``head`` opens with DCE's CSV header, else None."""
    first = head.decode("utf-8-sig", errors="replace").lstrip().partition("\n")[0]
    match = _HEADER.match(first)
    return match.group(1) if match else None


def parse_date(value: str) -> datetime:
    """A UTC datetime from any of DCE's date layouts; naive ones are taken as UTC."""
    text = value.strip()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        for layout in _DATE_FORMATS:
            try:
                moment = datetime.strptime(text, layout)  # noqa: DTZ007 - zone applied below
                break
            except ValueError:
                continue
        else:
            raise ItemError(f"date {text[:40]!r} is in no known DiscordChatExporter layout") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def read_rows(text: str, where: str) -> Iterator[Row | Skipped]:
    """The records of one CSV file; a malformed record is a Skipped, not an error."""
    separator = header_separator(text[:4096].encode())
    if separator is None:
        yield Skipped("file", "not a DiscordChatExporter CSV export (no AuthorID, Author, Date, Content header)", where)
        return
    reader = csv.reader(io.StringIO(text), delimiter=separator)
    header = [column.strip().lower() for column in next(reader)]
    columns: dict[str, int] = {name: header.index(name) for name in ("authorid", "author", "date", "content", "attachments", "reactions") if name in header}
    try:
        for record in reader:
            if not any(record):
                continue
            try:
                yield _row(record, columns, header)
            except ItemError as error:
                yield Skipped("message", f"malformed CSV record: {error}", f"{where} line {reader.line_num}")
    except csv.Error as error:
        yield Skipped("file", f"CSV unreadable from here on ({error}); the rest of the file was not imported", f"{where} line {reader.line_num}")


def _row(record: list[str], columns: dict[str, int], header: list[str]) -> Row:
    if len(record) < 4:
        raise ItemError(f"{len(record)} fields, expected at least 4 (AuthorID, Author, Date, Content)")

    def field_of(name: str) -> str:
        index = columns.get(name)
        return record[index] if index is not None and index < len(record) else ""

    author_id = field_of("authorid").strip()
    if not author_id.isdigit():
        raise ItemError(f"AuthorID {author_id[:30]!r} is not a Discord user id")
    attachments = [url.strip() for url in field_of("attachments").split(",") if url.strip()]
    reactions = [(emoji.strip(), int(count)) for emoji, count in _REACTION.findall(field_of("reactions"))]
    raw = {name: record[index] for index, name in enumerate(header) if name and index < len(record)}
    return Row(author_id, field_of("author"), parse_date(field_of("date")), field_of("content"), attachments, reactions, raw)


def csv_names(tree: SourceTree) -> list[str]:
    """Candidate CSV files, shallowest first (a lone file counts whatever its name)."""
    if tree.kind == "file":
        return tree.names()
    return sorted((n for n in tree.names() if n.lower().endswith(".csv")), key=lambda n: (n.count("/"), _natural(n)))


def looks_like_dce_csv(head: bytes) -> bool:
    return header_separator(head) is not None


def _natural(name: str) -> list[object]:
    """``2.csv`` before ``10.csv``: numbers compared as numbers."""
    return [int(part) if part.isdigit() else part for part in _DIGITS.split(name)]


def channel_groups(tree: SourceTree) -> dict[str, list[str]]:
    """DCE CSV files by channel: the id in the file name, else the folder they share."""
    groups: dict[str, list[str]] = {}
    for name in sorted((n for n in csv_names(tree) if looks_like_dce_csv(tree.head(n, 512))), key=_natural):
        match = _CHANNEL_ID.search(name)
        key = match.group(1) if match else (str(PurePosixPath(name).parent) if "/" in name else PurePosixPath(name).stem)
        groups.setdefault(key, []).append(name)
    return groups


def space_for(context: ReadContext, key: str, names: list[str]) -> Space:
    first = PurePosixPath(names[0])
    dce = _DCE_NAME.match(first.name)
    meta: JsonDict = {"format": "csv"}
    if dce:
        name = dce.group("channel").strip()
        meta.update({"guild": dce.group("guild"), "category": dce.group("category")})
    else:
        path = PurePosixPath(key)
        name = path.name or key
        if path.parent.name:
            meta["category"] = path.parent.name
    return Space(
        id=context.id("space", key),
        source_id=context.source_id,
        native_id=key,
        name=name,
        kind="channel",
        meta={k: v for k, v in meta.items() if v},
    )


class CsvExportReader:
    """One pass over the channels of one input; a channel is threaded once all of it is read."""

    def __init__(self, connector: Connector, tree: SourceTree, context: ReadContext) -> None:
        self.connector = connector
        self.tree = tree
        self.context = context
        self.authors: set[str] = set()

    @staticmethod
    def source_key(tree: SourceTree) -> str:
        """The guild name DCE writes at the start of file names, else the input's own name."""
        for name in csv_names(tree):
            if dce := _DCE_NAME.match(PurePosixPath(name).name):
                return dce.group("guild").strip()
        return tree.path.stem if tree.kind != "folder" else tree.path.name

    def read(self) -> Iterator[Record]:
        groups = channel_groups(self.tree)
        if not groups:
            raise InputError(f"{self.tree.path}: no DiscordChatExporter CSV export found; export channels with DiscordChatExporter (format: CSV or JSON)")
        for key, names in groups.items():
            yield from self._channel(key, names)

    def _channel(self, key: str, names: list[str]) -> Iterator[Record]:
        space = space_for(self.context, key, names)
        yield self.connector.raw(self.context, "channel", key, {"files": names})
        yield space
        rows: list[Row] = []
        seen: dict[str, int] = {}
        for name in names:
            self.context.on_file(name)
            for item in read_rows(self._text(name), self.tree.describe(name)):
                if isinstance(item, Skipped):
                    yield item
                    continue
                base = f"{key}:{item.sent_at.strftime('%Y%m%dT%H%M%S')}:{item.author_id}:{_digest(item.content)}"
                count = seen.get(base, 0)
                seen[base] = count + 1
                item.native_id = base if count == 0 else f"{base}:{count}"
                rows.append(item)
        # DCE writes in time order; a stable sort only repairs pages read out of order.
        rows.sort(key=lambda row: row.sent_at)
        lines = [ChatLine(row.native_id, row.author, row.sent_at, row.content) for row in rows]
        roots = conversation_roots(parents := disentangle(lines))
        for row in rows:
            yield from self._row(row, space.id, parents[row.native_id], roots[row.native_id])

    def _text(self, name: str) -> str:
        try:
            return self.tree.read_bytes(name).decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InputError(f"{self.tree.describe(name)}: not UTF-8 text, so not a DiscordChatExporter CSV export; export the channel again") from None

    def _row(self, row: Row, space_id: str, parent: str, root: str) -> Iterator[Record]:
        ctx = self.context
        if row.author_id not in self.authors:
            self.authors.add(row.author_id)
            yield identity_for(ctx, row.author_id, row.author)
        meta: JsonDict = {}
        if row.attachments:
            meta["attachments"] = [{"url": url} for url in row.attachments]
        if parent != row.native_id:
            meta["reply_inferred"] = True
        message = Message(
            id=ctx.id("message", row.native_id),
            source_id=ctx.source_id,
            native_id=row.native_id,
            conversation_id=ctx.id("message", root),
            reply_to_id=ctx.id("message", parent) if parent != row.native_id else None,
            space_id=space_id,
            author_id=ctx.id("identity", row.author_id),
            sent_at=row.sent_at,
            text=row.content or " ".join(f"[attachment: {url.rsplit('/', 1)[-1]}]" for url in row.attachments),
            meta=meta,
        )
        yield self.connector.raw(ctx, "message", row.native_id, row.raw)
        if root == row.native_id:
            yield Conversation.opened_by(message)
        yield message
        for emoji, count in row.reactions:
            yield Reaction(ctx.id("reaction", f"{row.native_id}:{emoji}"), ctx.source_id, message.id, None, emoji, count=count)


def identity_for(context: ReadContext, author_id: str, author: str) -> Identity:
    """``name#1234`` is the handle; the name alone is what members see."""
    name, _, discriminator = author.rpartition("#") if re.search(r"#\d{4}$", author) else (author, "", "")
    return Identity(
        id=context.id("identity", author_id),
        source_id=context.source_id,
        native_id=author_id,
        display_name=name or f"user{author_id}",
        handle=author if discriminator.strip("0") else name or None,
    )


def _digest(content: str) -> str:
    return hashlib.blake2b(content.encode(), digest_size=5).hexdigest()
