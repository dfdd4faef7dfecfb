"""The Slack export connector on a hand-written export that has every awkward case in it."""

from __future__ import annotations

import json
import tempfile
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from villagegreen.connectors.base import ReadContext
from villagegreen.connectors.slack.connector import (
    NO_FOLDER_REASON,
    PRIVATE_DAY_REASON,
    PRIVATE_REASON,
    UNLISTED_REASON,
    SlackExportConnector,
)
from villagegreen.connectors.tree import SourceTree
from villagegreen.model import Conversation, Event, Identity, Message, Reaction, Record, Skipped, Space

SYNTHETIC = Path(__file__).resolve().parents[2] / "data" / "slack" / "synthetic"
VIEWER_ZIP = Path(__file__).resolve().parents[2] / "data" / "slack" / "viewer-test" / "testarchive.zip"
ROOT_TS = "1577836900.000100"


class Records:
    def __init__(self, records: list[Record], context: ReadContext) -> None:
        self.all = records
        self.context = context

    def of(self, cls: type[Any]) -> list[Any]:
        return [r for r in self.all if isinstance(r, cls)]

    def skipped(self) -> Counter[tuple[str, str]]:
        return Counter((s.kind, s.reason) for s in self.of(Skipped))

    def message(self, channel: str, ts: str) -> Message:
        (found,) = [m for m in self.of(Message) if m.native_id == f"{channel}:{ts}"]
        return found

    def identity(self, native_id: str) -> Identity:
        (found,) = [i for i in self.of(Identity) if i.native_id == native_id]
        return found

    def id(self, kind: str, native_id: str) -> str:
        return self.context.id(kind, native_id)


def read(path: Path, *, include_private: bool = False) -> Records:
    context = ReadContext(source_id="test-source", include_private=include_private)
    with SourceTree(path) as tree:
        return Records(list(SlackExportConnector().read(tree, context)), context)


@pytest.fixture(scope="module")
def synthetic() -> Records:
    return read(SYNTHETIC)


def zip_folder(folder: Path, target: Path, prefix: str = "") -> Path:
    with zipfile.ZipFile(target, "w") as archive:
        for file in sorted(folder.rglob("*")):
            if file.is_file():
                archive.write(file, prefix + file.relative_to(folder).as_posix())
    return target


def sniff(path: Path) -> bool:
    with SourceTree(path) as tree:
        return SlackExportConnector.sniff(tree)


def test_sniff_accepts_folders_and_zips(tmp_path: Path) -> None:
    assert sniff(SYNTHETIC)
    assert sniff(VIEWER_ZIP)
    assert sniff(zip_folder(SYNTHETIC, tmp_path / "wrapped.zip", prefix="Acme Slack export Jan 2020/"))


def test_sniff_rejects_what_is_not_an_export(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    assert not sniff(tmp_path / "notes.txt")
    assert not sniff(tmp_path)
    (tmp_path / "channels.json").write_text('{"not": "a list"}')
    (tmp_path / "users.json").write_text("[]")
    assert not sniff(tmp_path)
    (tmp_path / "channels.json").write_text("[]")
    assert sniff(tmp_path)


def test_source_key_is_the_majority_team_id(tmp_path: Path) -> None:
    with SourceTree(SYNTHETIC) as tree:
        assert SlackExportConnector().source_key(tree) == "T0TEST"
    with SourceTree(VIEWER_ZIP) as tree:
        assert SlackExportConnector().source_key(tree) == "T0BMHLSRH"
    # No team anywhere: fall back to the file name.
    bare = tmp_path / "bare"
    (bare / "general").mkdir(parents=True)
    (bare / "channels.json").write_text('[{"id": "C1", "name": "general"}]')
    (bare / "general" / "2020-01-01.json").write_text('[{"type": "message", "user": "U1", "text": "hi", "ts": "1.0"}]')
    with SourceTree(zip_folder(bare, tmp_path / "acme-export.zip")) as tree:
        assert SlackExportConnector().source_key(tree) == "acme-export"


def test_by_default_nothing_private_lands(synthetic: Records) -> None:
    assert sorted(s.name for s in synthetic.of(Space)) == ["empty-channel", "general"]
    assert not any(s.private for s in synthetic.of(Space))
    assert not any("private words" in m.text or "secret" in m.text for m in synthetic.of(Message))
    general = synthetic.id("space", "C1")
    assert {m.space_id for m in synthetic.of(Message)} == {general}
    skipped = synthetic.skipped()
    assert skipped[("space", PRIVATE_REASON)] == 4  # staff (is_private), secret-plans, the DM, the group DM
    assert skipped[("day file", PRIVATE_DAY_REASON)] == 5
    assert skipped[("space", UNLISTED_REASON)] == 1
    assert skipped[("space folder", NO_FOLDER_REASON)] == 1
    examples = {s.where for s in synthetic.of(Skipped) if s.reason == PRIVATE_REASON}
    assert examples == {"staff", "secret-plans", "D1", "mpdm-ada--bob--carol-1"}


def test_private_day_files_are_never_opened(monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[str] = []
    real = SourceTree.read_bytes

    def spy(self: SourceTree, name: str) -> bytes:
        opened.append(name)
        return real(self, name)

    monkeypatch.setattr(SourceTree, "read_bytes", spy)
    read(SYNTHETIC)
    assert opened
    assert not [name for name in opened if name.split("/")[0] in {"staff", "secret-plans", "D1", "mpdm-ada--bob--carol-1", "orphan"}]


def test_include_private_imports_every_listed_space() -> None:
    records = read(SYNTHETIC, include_private=True)
    spaces = {s.native_id: s for s in records.of(Space)}
    assert {k: (s.kind, s.private) for k, s in spaces.items()} == {
        "C1": ("channel", False),
        "C2": ("channel", False),
        "C3": ("channel", True),
        "G1": ("channel", True),
        "G2": ("group_dm", True),
        "D1": ("dm", True),
    }
    assert spaces["D1"].name == "DM: Ada, Bob Builder"
    assert spaces["G2"].name == "group DM: Ada, Bob Builder, carol"
    assert len([m for m in records.of(Message) if "private words" in m.text or "secret" in m.text]) == 5
    assert records.skipped()[("space", PRIVATE_REASON)] == 0
    assert records.skipped()[("space", UNLISTED_REASON)] == 1  # an unlisted folder stays out even so


def test_events_are_not_messages(synthetic: Records) -> None:
    events = {e.kind: e for e in synthetic.of(Event)}
    assert sorted(events) == ["join", "leave", "topic"]
    assert events["topic"].meta["topic"] == "Plans for 2020"
    assert events["topic"].meta["text"] == "@Ada set the channel topic: Plans for 2020"
    assert events["join"].identity_id == synthetic.id("identity", "U1")
    assert events["join"].meta["reactions"] == 2
    assert not any(m.text.endswith("has joined the channel") for m in synthetic.of(Message))
    assert len(synthetic.of(Message)) == 10


def test_threads(synthetic: Records) -> None:
    root = synthetic.message("C1", ROOT_TS)
    assert root.conversation_id == root.id and root.reply_to_id is None
    replies = [m for m in synthetic.of(Message) if m.conversation_id == root.id and m.id != root.id and "reply_inferred" not in m.meta]
    assert sorted(m.text for m in replies) == ["Also sent to the channel", "Late reply", "Thanks!"]
    assert all(m.reply_to_id == root.id for m in replies)
    # Messages that joined a conversation by inference are top-level ones (no thread_ts in the fixture).
    inferred = [m for m in synthetic.of(Message) if "reply_inferred" in m.meta]
    threaded = set()
    for day in SYNTHETIC.glob("*/*.json"):
        try:
            entries = json.loads(day.read_text())
        except json.JSONDecodeError:
            continue  # the fixture's deliberately broken day file
        threaded |= {e.get("ts") for e in entries if isinstance(e, dict) and e.get("thread_ts") not in (None, e.get("ts"))}
    assert inferred and all(m.native_id.partition(":")[2] not in threaded and m.reply_to_id is not None for m in inferred)
    broadcast = synthetic.message("C1", "1577837100.000100")
    assert broadcast.meta["broadcast"] is True
    conversations = {c.id: c for c in synthetic.of(Conversation)}
    assert conversations[root.id].started_at == root.sent_at
    # A root older than the export: the reply still names it; the store infers the conversation.
    orphan = synthetic.message("C1", "1577923400.000100")
    assert orphan.conversation_id == orphan.reply_to_id == synthetic.id("message", "C1:1500000000.000001")
    assert orphan.conversation_id not in conversations


def test_thread_on_a_join_event(synthetic: Records) -> None:
    welcome = synthetic.message("C1", "1577836820.000100")
    assert welcome.conversation_id == synthetic.id("message", "C1:1577836810.000100")
    assert welcome.reply_to_id is None
    conversation = next(c for c in synthetic.of(Conversation) if c.id == welcome.conversation_id)
    assert conversation.meta == {"root": "event"}


def test_text_reads_as_people_saw_it(synthetic: Records) -> None:
    root = synthetic.message("C1", ROOT_TS)
    assert root.text == (
        "Hi @Bob Builder and @carol, see #general, #empty-channel, the docs (https://example.com/docs) and https://example.com & <b> @here ada@example.com"
    )
    assert root.meta["mentions"] == [synthetic.id("identity", "U2"), synthetic.id("identity", "U3")]
    assert root.meta["edited_at"] == "2020-01-01T00:02:30.000100+00:00"
    assert "edited_by" not in root.meta
    assert root.meta["files"] == [{"name": "plan.png", "type": "png"}]


def test_an_edit_by_someone_else_names_them(synthetic: Records) -> None:
    thanks = synthetic.message("C1", "1577837000.000100")
    assert thanks.meta["edited_at"] == "2020-01-01T00:03:20.000100+00:00"
    assert thanks.meta["edited_by"] == synthetic.id("identity", "U1")


def test_reactions_one_per_user_plus_the_unlisted_rest(synthetic: Records) -> None:
    root = synthetic.message("C1", ROOT_TS)
    reactions = [r for r in synthetic.of(Reaction) if r.message_id == root.id]
    got = sorted((r.kind, r.identity_id, r.count) for r in reactions if r.identity_id)
    assert got == sorted(
        [
            ("+1", synthetic.id("identity", "U2"), 1),
            ("+1", synthetic.id("identity", "U3"), 1),
            ("tada", synthetic.id("identity", "U4"), 1),
        ]
    )
    assert [(r.kind, r.count) for r in reactions if r.identity_id is None] == [("+1", 3)]
    assert len({r.id for r in synthetic.of(Reaction)}) == len(synthetic.of(Reaction))


def test_bots(synthetic: Records) -> None:
    ci = synthetic.message("C1", "1577837200.000100")
    assert ci.author_id == synthetic.id("identity", "B2")
    assert ci.text == "Deployed build 7 (https://ci.example/7) & tested"
    assert ci.meta["text_from"] == "attachments"
    assert ci.meta["attachments"] == [{"kind": "attachment", "title": "Build 7", "service": "CI"}]
    assert synthetic.identity("B2").is_bot and synthetic.identity("B2").display_name == "ci"
    # A bot id that belongs to an app user in users.json is that user.
    assert synthetic.message("C1", "1577837300.000100").author_id == synthetic.id("identity", "UBOT1")
    assert synthetic.identity("UBOT1").is_bot
    assert synthetic.identity("U5").is_bot
    # A person who used an app (/giphy) is still a person.
    giphy = synthetic.message("C1", "1577837500.000100")
    assert giphy.author_id == synthetic.id("identity", "U1") and giphy.meta["bot_id"] == "B3"
    assert not synthetic.identity("U1").is_bot


def test_identities(synthetic: Records) -> None:
    names = {i.native_id: i.display_name for i in synthetic.of(Identity)}
    assert names == {"U1": "Ada", "U2": "Bob Builder", "U3": "carol", "UBOT1": "Deploy Bot", "U4": "Dave", "U5": "Eve", "B2": "ci", "U9": "Visitor"}
    visitor = synthetic.identity("U9")
    assert visitor.meta == {"unlisted": True, "kind": "user"} and not visitor.is_bot
    assert synthetic.identity("U1").handle == "ada"


def test_bad_items_are_skipped_not_fatal(synthetic: Records) -> None:
    skipped = synthetic.skipped()
    assert sum(n for (kind, reason), n in skipped.items() if kind == "day file" and reason.startswith("not valid JSON")) == 1
    assert skipped[("message", "entry without a ts")] == 1
    assert skipped[("message", "ts is not a Slack timestamp")] == 1
    # A malformed optional timestamp drops that detail, not the item.
    late = synthetic.message("C1", "1577923300.000100")
    assert "edited_at" not in late.meta
    assert "created_at" not in next(s for s in synthetic.of(Space) if s.native_id == "C2").meta


def test_ids_are_unique_and_stable(synthetic: Records) -> None:
    again = read(SYNTHETIC)
    for cls in (Message, Conversation, Reaction, Event, Identity, Space):
        ids = [r.id for r in synthetic.of(cls)]
        assert len(ids) == len(set(ids)), cls
        assert ids == [r.id for r in again.of(cls)]


def test_a_zip_with_a_top_folder_reads_like_the_folder(tmp_path: Path) -> None:
    wrapped = read(zip_folder(SYNTHETIC, tmp_path / "wrapped.zip", prefix="Acme Slack export Jan 2020/"))
    folder = read(SYNTHETIC)
    for cls in (Message, Conversation, Reaction, Event, Identity, Space):
        assert [r for r in wrapped.of(cls)] == [r for r in folder.of(cls)]


def test_official_zip(tmp_path: Path) -> None:
    records = read(VIEWER_ZIP)
    assert Counter(e.kind for e in records.of(Event)) == {"join": 8, "bot_add": 3}
    messages = records.of(Message)
    assert len(messages) == 158 - 11
    bots = {i.id for i in records.of(Identity) if i.is_bot}
    assert sum(m.author_id in bots for m in messages) == 94
    assert {i.display_name for i in records.of(Identity) if i.is_bot} == {"github"}
    assert not records.of(Skipped)


JSON_SCALARS = st.none() | st.booleans() | st.integers(-5, 2_000_000_000) | st.text(max_size=8) | st.sampled_from(["U1", "B1", "1.5", "<@U1>"])
JSON_VALUES = st.recursive(JSON_SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=8)
SLACK_KEYS = ["user", "bot_id", "username", "subtype", "text", "thread_ts", "edited", "reactions", "files", "file", "attachments",
              "user_profile", "bot_profile", "comment", "inviter", "topic", "purpose", "name", "old_name", "parent_user_id"]  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(
    entries=st.lists(
        st.fixed_dictionaries({"ts": st.sampled_from(["1.000001", "2.000002", "3.5", "x"])}, optional={k: JSON_VALUES for k in SLACK_KEYS}),
        max_size=6,
    ),
    user=st.dictionaries(st.sampled_from(["name", "real_name", "profile", "is_bot", "team_id", "deleted"]), JSON_VALUES),
    channel=st.dictionaries(st.sampled_from(["created", "creator", "topic", "purpose", "members", "is_private"]), JSON_VALUES),
)
def test_odd_values_never_crash_the_read(entries: list[dict[str, Any]], user: dict[str, Any], channel: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "general").mkdir()
        (root / "users.json").write_text(json.dumps([{**user, "id": "U1"}]))
        (root / "channels.json").write_text(json.dumps([{**channel, "id": "C1", "name": "general"}]))
        (root / "general" / "2020-01-01.json").write_text(json.dumps(entries))
        records = read(root, include_private=True)
    for message in records.of(Message):
        assert isinstance(message.text, str) and isinstance(message.author_id, str | None)
    for identity in records.of(Identity):
        assert isinstance(identity.display_name, str) and isinstance(identity.handle, str | None)
        assert isinstance(identity.email, str | None)
    for space in records.of(Space):
        assert isinstance(space.name, str)
    for reaction in records.of(Reaction):
        assert isinstance(reaction.kind, str) and isinstance(reaction.count, int)
