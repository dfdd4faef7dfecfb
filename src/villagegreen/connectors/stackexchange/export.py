"""Reading a Stack Exchange data dump: stream each XML file's rows and map them.

Files are read in dependency order (users, post history, posts, comments, votes) so that each
row can be mapped as it streams by; what later files need from earlier ones is kept in compact
int-keyed dicts and sets (a post's question, the accepted answers, known users), small enough
for the largest sites.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from datetime import datetime

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, iterparse

from villagegreen.connectors.base import Connector, ReadContext
from villagegreen.connectors.stackexchange import mapping as m
from villagegreen.connectors.tree import SourceTree
from villagegreen.errors import InputError, ItemError
from villagegreen.model import Identity, Reaction, Record, Skipped, Space

# Read order matters: every file after Users.xml refers back to what came before it.
DUMP_FILES = {"Users.xml": "users", "PostHistory.xml": "posthistory", "Posts.xml": "posts", "Comments.xml": "comments", "Votes.xml": "votes"}

# Edit title, body, tags and their rollbacks; one revision can touch several, sharing a GUID.
_EDIT_TYPES = frozenset({"4", "5", "6", "7", "8", "9"})


def locate(tree: SourceTree) -> dict[str, str]:
    """The dump's files beside the shallowest Posts.xml, keyed by their canonical names."""
    names = tree.names()
    posts = [n for n in names if n.rpartition("/")[2].lower() == "posts.xml"]
    if not posts:
        return {}
    folder = min(posts, key=lambda n: (n.count("/"), n)).rpartition("/")[0]
    by_lower = {n.lower(): n for n in names if n.rpartition("/")[0] == folder}
    prefix = f"{folder}/" if folder else ""
    return {canonical: by_lower[f"{prefix}{canonical}".lower()] for canonical in DUMP_FILES if f"{prefix}{canonical}".lower() in by_lower}


def iter_rows(tree: SourceTree, name: str, root_tag: str) -> Iterator[dict[str, str]]:
    """Each ``<row>``'s attributes, streamed; any fault in the file itself is one InputError."""
    where = tree.describe(name)
    try:
        with tree.open(name) as stream:
            root = None
            # Rows are empty elements, so their attributes are complete at "start"; one event
            # per row instead of two.
            for _event, element in iterparse(stream, events=("start",), forbid_dtd=True):
                if root is None:
                    root = element
                    if element.tag != root_tag:
                        raise InputError(f"{where}: expected a <{root_tag}> root element, found <{element.tag}>; is this a Stack Exchange dump file?")
                    continue
                if element.tag == "row":
                    yield element.attrib
                # Drops the parsed rows from the tree so memory stays flat however big the file.
                root.clear()
    except ParseError as error:
        line, column = error.position
        reason = str(error).partition(":")[0]
        raise InputError(
            f"{where}: malformed XML at line {line}, column {column} ({reason}); the file is truncated or corrupt: unpack the dump again"
        ) from None
    except DefusedXmlException:
        raise InputError(
            f"{where}: refusing XML entity declarations and DTDs (they allow entity-expansion and external-entity attacks); "
            "real dumps never contain them: download the dump again from archive.org"
        ) from None
    # LookupError: an XML declaration naming an encoding Python does not know; ValueError: one
    # naming a multi-byte encoding expat cannot stream (utf-7, say). Both found by fuzzing.
    except (OSError, EOFError, zipfile.BadZipFile, UnicodeError, LookupError, ValueError) as error:
        raise InputError(f"{where}: cannot read the file ({error}); unpack the dump again") from None


class DumpReader:
    """One pass over one dump; holds the cross-file state."""

    def __init__(self, connector: Connector, tree: SourceTree, context: ReadContext, site: str) -> None:
        self.connector = connector
        self.tree = tree
        self.context = context
        self.site = site
        self.files = locate(tree)
        self.space_id = context.id("space", site)
        self.users: set[int] = set()
        self.placeholders: set[str] = set()
        self.question_of: dict[int, int] = {}  # question or answer id -> its question's id
        self.not_imported: set[int] = set()  # tag wikis and other non-conversation posts
        self.accepted: set[int] = set()
        self.edits: dict[int, int] = {}

    def read(self) -> Iterator[Record]:
        if "Posts.xml" not in self.files:
            raise InputError(f"{self.tree.path}: no Posts.xml found; point at the unpacked folder of one Stack Exchange site's dump")
        meta = {"url": f"https://{self.site}"} if "." in self.site else {}
        yield Space(id=self.space_id, source_id=self.context.source_id, native_id=self.site, name=self.site, kind="site", meta=meta)
        for canonical, root_tag in DUMP_FILES.items():
            if canonical in self.files:
                self.context.on_file(canonical)
                handler = getattr(self, f"_{root_tag}")
                yield from handler(iter_rows(self.tree, self.files[canonical], root_tag), canonical)

    # -- per-file handlers ---------------------------------------------------------------------

    def _users(self, rows: Iterator[dict[str, str]], label: str) -> Iterator[Record]:
        for index, row in enumerate(rows):
            try:
                identity = m.identity_from_user(self.context, row)
            except ItemError as error:
                yield Skipped("user", f"malformed row: {error}", _where(label, row, index))
                continue
            self.users.add(int(identity.native_id))
            yield self.connector.raw(self.context, "user", identity.native_id, row)
            yield identity

    def _posthistory(self, rows: Iterator[dict[str, str]], label: str) -> Iterator[Record]:
        last: tuple[str, str | None] | None = None
        for row in rows:
            if row.get("PostHistoryTypeId") in _EDIT_TYPES and (post := row.get("PostId")):
                revision = (post, row.get("RevisionGUID"))
                if revision != last:
                    key = int(post) if post.isdigit() else -1
                    self.edits[key] = self.edits.get(key, 0) + 1
                last = revision
        return iter(())

    def _posts(self, rows: Iterator[dict[str, str]], label: str) -> Iterator[Record]:
        # Answers normally follow their question (ids ascend); any that do not wait till the end.
        pending: list[tuple[int, dict[str, str]]] = []
        for index, row in enumerate(rows):
            try:
                post_id = m.required_int(row, "Id")
                type_id = m.required_int(row, "PostTypeId")
                if type_id == m.QUESTION:
                    yield from self._post(row, post_id, post_id)
                elif type_id == m.ANSWER:
                    parent = m.required_int(row, "ParentId")
                    if parent in self.question_of:
                        yield from self._post(row, post_id, parent)
                    else:
                        pending.append((index, row))
                else:
                    self.not_imported.add(post_id)
                    yield Skipped("post", f"{m.post_type_name(type_id)} posts are not conversations", _where(label, row, index))
            except ItemError as error:
                yield Skipped("post", f"malformed row: {error}", _where(label, row, index))
        for index, row in pending:
            parent = int(row["ParentId"])
            if parent not in self.question_of:
                yield Skipped("post", "answer whose question is not in the dump (deleted)", _where(label, row, index))
                continue
            try:
                yield from self._post(row, int(row["Id"]), parent)
            except ItemError as error:
                yield Skipped("post", f"malformed row: {error}", _where(label, row, index))

    def _post(self, row: dict[str, str], post_id: int, question_id: int) -> list[Record]:
        """The records of one question or answer, built whole before any is yielded."""
        author_id, placeholder = self._author(m.optional_int(row, "OwnerUserId"), row.get("OwnerDisplayName"))
        records: list[Record] = [self.connector.raw(self.context, "post", post_id, row)]
        if post_id == question_id:
            records.append(m.conversation_from_question(self.context, row, self.space_id))
            accepted = m.optional_int(row, "AcceptedAnswerId")
            if accepted is not None:
                self.accepted.add(accepted)
        message = m.message_from_post(
            self.context,
            row,
            question_id=question_id,
            space_id=self.space_id,
            author_id=author_id,
            accepted=post_id in self.accepted,
            edits=self.edits.get(post_id, 0),
        )
        self.question_of[post_id] = question_id
        return [*self._remember(placeholder), *records, message]

    def _comments(self, rows: Iterator[dict[str, str]], label: str) -> Iterator[Record]:
        for index, row in enumerate(rows):
            try:
                post_id = m.required_int(row, "PostId")
                question_id = self.question_of.get(post_id)
                if question_id is None:
                    yield Skipped("comment", self._missing_post_reason("comment", post_id), _where(label, row, index))
                    continue
                author_id, placeholder = self._author(m.optional_int(row, "UserId"), row.get("UserDisplayName"))
                message = m.message_from_comment(self.context, row, post_id=post_id, question_id=question_id, space_id=self.space_id, author_id=author_id)
            except ItemError as error:
                yield Skipped("comment", f"malformed row: {error}", _where(label, row, index))
                continue
            yield from self._remember(placeholder)
            yield self.connector.raw(self.context, "comment", message.native_id[1:], row)
            yield message

    def _votes(self, rows: Iterator[dict[str, str]], label: str) -> Iterator[Record]:
        # Who cast an up or down vote is never in the dump, so those become one counted row per
        # (post, kind) rather than millions of identical anonymous rows.
        counts: dict[tuple[int, str], int] = {}
        firsts: dict[tuple[int, str], str] = {}
        for index, row in enumerate(rows):
            try:
                vote_id = m.required_int(row, "Id")
                post_id = m.required_int(row, "PostId")
                kind = m.vote_kind(m.required_int(row, "VoteTypeId"))
                if post_id not in self.question_of:
                    yield Skipped("vote", self._missing_post_reason("vote", post_id), _where(label, row, index))
                    continue
                user_id = m.optional_int(row, "UserId")
                named: list[Record] = []
                if user_id is not None:
                    identity_id, placeholder = self._author(user_id, None)
                    reaction = m.reaction_from_vote(self.context, row, post_id=post_id, kind=kind, identity_id=identity_id)
                    named = [*self._remember(placeholder), reaction]
            except ItemError as error:
                yield Skipped("vote", f"malformed row: {error}", _where(label, row, index))
                continue
            yield self.connector.raw(self.context, "vote", vote_id, row)
            if named:
                yield from named
                continue
            key = (post_id, kind)
            counts[key] = counts.get(key, 0) + 1
            created = row.get("CreationDate")
            if created and (key not in firsts or created < firsts[key]):
                firsts[key] = created
        for (post_id, kind), count in counts.items():
            yield self._aggregate(post_id, kind, count, firsts.get((post_id, kind)))

    # -- helpers -------------------------------------------------------------------------------

    def _aggregate(self, post_id: int, kind: str, count: int, first: str | None) -> Reaction:
        try:
            first_at: datetime | None = m.parse_time(first)
        except ItemError:
            first_at = None
        return m.aggregate_reaction(self.context, post_id=post_id, kind=kind, count=count, first=first_at)

    def _author(self, user_id: int | None, display_name: str | None) -> tuple[str | None, Identity | None]:
        """The author's identity id, plus a placeholder identity to emit if this is its first sight."""
        if user_id is not None and user_id in self.users:
            return self.context.id("identity", user_id), None
        if user_id is None and not display_name:
            return None, None
        placeholder = m.placeholder_identity(self.context, user_id, display_name)
        return placeholder.id, None if placeholder.id in self.placeholders else placeholder

    def _remember(self, placeholder: Identity | None) -> list[Record]:
        if placeholder is None:
            return []
        self.placeholders.add(placeholder.id)
        return [placeholder]

    def _missing_post_reason(self, kind: str, post_id: int) -> str:
        if post_id in self.not_imported:
            return f"{kind} on a tag wiki or other non-conversation post"
        return f"{kind} on a post that is not in the dump (deleted)"


def _where(label: str, row: dict[str, str], index: int) -> str:
    return f"{label} Id={row['Id']}" if "Id" in row else f"{label} row {index + 1}"
