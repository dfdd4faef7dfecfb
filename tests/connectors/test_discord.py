"""The DiscordChatExporter JSON connector, checked against facts counted independently of it."""

from __future__ import annotations

import json
import shutil
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from villagegreen.connectors.base import ReadContext
from villagegreen.connectors.discord import DiscordConnector
from villagegreen.connectors.discord.mapping import event_kind, identity_from_user, plain_text, reactions_from_entry
from villagegreen.connectors.disentangle import ChatLine, conversation_roots, disentangle
from villagegreen.connectors.registry import detect
from villagegreen.connectors.reply_roots import resolve_roots
from villagegreen.connectors.tree import SourceTree
from villagegreen.errors import InputError
from villagegreen.model import make_id
from villagegreen.store import Store
from villagegreen.store.ingest import import_path
from villagegreen.store.report import ImportReport

EXPORT = Path(__file__).resolve().parent.parent / "data" / "discord" / "export"
GENERAL = EXPORT / "Green Valley Gardeners - Community - general [920000000000000001].json"
SAMPLES = "formats/chat-analytics-samples/tests/samples/discord"
CONTENT_TYPES = {"Default", "Reply"}


def imp(store: Store, path: Path, **options: Any) -> ImportReport:
    return import_path(store, path, connector_class=DiscordConnector, **options)


def scalar(store: Store, sql: str, *params: object) -> Any:
    return store.con.execute(sql, list(params)).fetchone()[0]  # type: ignore[index]


def skipped(report: ImportReport, kind: str) -> int:
    return sum(n for (k, _reason), n in report.skipped.items() if k == kind)


def without_runs(counts: dict[str, int]) -> dict[str, int]:
    return {k: v for k, v in counts.items() if k != "import_runs"}


# -- real samples ---------------------------------------------------------------------------


@pytest.mark.realdata
def test_real_samples_import_with_independent_counts(shared_data: Path, store: Store) -> None:
    folder = shared_data / SAMPLES
    files = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))]
    messages: dict[str, dict[str, Any]] = {}
    for data in files:
        for entry in data["messages"]:
            messages[f"{data['channel']['id']}:{entry['id']}"] = entry
    content = {k: e for k, e in messages.items() if e["type"] in CONTENT_TYPES}
    replies = {k for k, e in content.items() if "reference" in e}
    reactions = sum(r["count"] for e in content.values() for r in e["reactions"])

    report = imp(store, folder, include_private=True)

    assert report.connector == "discord"
    assert report.source_name == "253601524398293010"  # the one server channel's guild
    assert scalar(store, "SELECT count(*) FROM messages") == len(content)
    assert scalar(store, "SELECT count(*) FROM events") == len(messages) - len(content)
    assert scalar(store, "SELECT count(*) FROM messages WHERE reply_to_id IS NOT NULL AND (meta->>'reply_inferred') IS NULL") == len(replies)
    # Each channel's messages are threaded as disentangle() threads the same lines here (reply
    # links and channels read from the files; names, times and text from the store).
    rows = {
        r[0]: r[1:]
        for r in store.con.execute(
            "SELECT m.native_id, m.id, m.reply_to_id, m.conversation_id, m.sent_at, m.text, i.display_name "
            "FROM messages m LEFT JOIN identities i ON i.id = m.author_id"
        ).fetchall()
    }
    roots: dict[str, str] = {}
    for channel in {native.partition(":")[0] for native in content}:
        lines = []
        for native in sorted((n for n in content if n.startswith(channel + ":")), key=lambda n: rows[n][3]):
            ident, reply_to_id, _, sent_at, text, author = rows[native]
            reference = content[native].get("reference")
            target = make_id(report.source_id, "message", f"{reference.get('channelId') or channel}:{reference['messageId']}") if reference else None
            assert reply_to_id == target or target is None
            lines.append(ChatLine(ident, author or "", sent_at, text, reply_to=target))
        roots |= conversation_roots(disentangle(lines))
    assert {row[0]: row[2] for row in rows.values()} == roots
    assert scalar(store, "SELECT count(*) FROM conversations") == len(set(roots.values()))
    assert scalar(store, "SELECT sum(count) FROM reactions") == reactions
    assert scalar(store, "SELECT count(*) FROM spaces WHERE private") == 2
    # The one reply in the group chat resolves to a message in the file, so nothing is inferred.
    assert scalar(store, "SELECT count(*) FROM conversations WHERE meta->>'inferred' = 'true'") == 0
    assert scalar(store, "SELECT count(*) FROM messages m ANTI JOIN conversations c ON c.id = m.conversation_id") == 0
    # The server file repeats one message verbatim: read once, the repeat counted as skipped.
    total = sum(len(d["messages"]) for d in files)
    assert skipped(report, "message") == total - len(messages) == 1
    names = dict(store.con.execute("SELECT native_id, display_name FROM identities").fetchall())
    assert names["333333333333333333"] == "theplant"  # nickname wins over name
    first = next(iter(content.values()))
    sent_at = scalar(store, "SELECT min(sent_at) FROM messages WHERE text = ?", first["content"])
    assert sent_at == datetime.fromisoformat(first["timestamp"])


@pytest.mark.realdata
def test_real_dms_are_skipped_by_default(shared_data: Path, store: Store) -> None:
    folder = shared_data / SAMPLES
    report = imp(store, folder)
    assert report.skipped[("space", "private channel/DM skipped (use --include-private)")] == 2
    assert scalar(store, "SELECT count(*) FROM spaces WHERE private") == 0
    server = json.loads((folder / "SV_5A_5M.json").read_text(encoding="utf-8"))
    assert scalar(store, "SELECT count(*) FROM messages") == len({e["id"] for e in server["messages"]})
    for dm in ("DM_2A_2M.json", "GC_3A_5M.json"):
        with Store.open(store.path.parent / f"{dm}.duckdb") as alone:
            dm_report = imp(alone, folder / dm)
            assert dm_report.source_name == "discord-dm"
            assert scalar(alone, "SELECT count(*) FROM messages") == 0
            assert scalar(alone, "SELECT count(*) FROM raw_items") == 0
            assert dm_report.skipped[("space", "private channel/DM skipped (use --include-private)")] == 1


@pytest.mark.realdata
def test_real_reimport_adds_nothing(shared_data: Path, store: Store) -> None:
    folder = shared_data / SAMPLES
    imp(store, folder, include_private=True)
    before = store.table_counts()
    again = imp(store, folder, include_private=True)
    assert again.rows_added == 0
    assert sum(c.updated for c in again.counts.values()) == 0
    assert without_runs(store.table_counts()) == without_runs(before)


@pytest.mark.realdata
@pytest.mark.parametrize("name", ["", "DM_2A_2M.json", "GC_3A_5M.json", "SV_5A_5M.json"])
def test_detection_picks_discord(shared_data: Path, name: str) -> None:
    with SourceTree(shared_data / SAMPLES / name if name else shared_data / SAMPLES) as tree:
        assert detect(tree).name == "discord"


@pytest.mark.realdata
@pytest.mark.parametrize(
    "other",
    [
        "formats/chat-analytics-samples/tests/samples/telegram",
        "formats/chat-analytics-samples/tests/samples/telegram/DM_2A_7M.json",
        "slack/olake/export",
        "slack/viewer-test/testarchive.zip",
        "discourse/urho3d/topics",
        "stackexchange/conlang",
        "mail/r-package-devel",
    ],
)
def test_sniff_rejects_other_platforms(shared_data: Path, other: str) -> None:
    path = shared_data / other
    if not path.exists():
        pytest.skip(f"{path} is absent")
    with SourceTree(path) as tree:
        assert DiscordConnector.sniff(tree) is False


# -- the synthetic export -----------------------------------------------------------------------


def test_synthetic_export_threads_events_and_reactions(store: Store) -> None:
    report = imp(store, EXPORT)
    assert report.source_name == "900000000000000001"
    assert report.skipped[("space", "private channel/DM skipped (use --include-private)")] == 1
    assert scalar(store, "SELECT count(*) FROM messages WHERE text LIKE '%allotment%'") == 0
    by_native = {row[0]: row[1:] for row in store.con.execute("SELECT native_id, id, conversation_id, reply_to_id, text FROM messages").fetchall()}
    root = by_native["920000000000000001:1002"][0]
    # A reply to a reply belongs to the first message's conversation and replies to its parent.
    assert by_native["920000000000000001:1003"][1:3] == (root, root)
    assert by_native["920000000000000001:1004"][1:3] == (root, by_native["920000000000000001:1003"][0])
    # A reply to a message outside the export: its conversation is inferred by the store.
    outside = by_native["920000000000000001:1005"][1]
    assert scalar(store, "SELECT meta->>'inferred' FROM conversations WHERE id = ?", outside) == "true"
    # A reply to a join is its own root, with the event noted.
    welcome = by_native["920000000000000001:1007"]
    assert welcome[1] == welcome[0] and welcome[2] is None
    # The thread hangs off the message it was started from, in the parent channel's file.
    starter = by_native["920000000000000001:1011"][0]
    thread = [v for k, v in by_native.items() if k.startswith("960000000000000001:")]
    assert len(thread) == 3 and {v[1] for v in thread} == {starter}
    # Raw mention markup resolved; DCE's own rendering left alone; media placeholders.
    assert by_native["920000000000000001:1003"][3] == "Cherry tomatoes cope, @Rowan Ash. See #unknown-channel :tomato:"
    assert by_native["920000000000000001:1004"][3] == "Agreed with @Mira Birch"
    assert by_native["920000000000000001:1008"][3] == "[attachment: plot.jpg]"
    assert by_native["920000000000000001:1009"][3] == "Reminder: seed swap on Saturday 2024-03-09 08:00 UTC"
    events = dict(store.con.execute("SELECT kind, count(*) FROM events GROUP BY kind").fetchall())
    assert events == {"join": 1, "pin": 1, "thread_created": 1, "thread_starter": 1}
    reactions = store.con.execute("SELECT kind, identity_id IS NULL, count FROM reactions ORDER BY kind, identity_id NULLS LAST").fetchall()
    assert reactions == [("sprout_party", True, 2), ("🌱", False, 1), ("🌱", False, 1), ("🌱", True, 1)]
    assert scalar(store, "SELECT is_bot FROM identities WHERE native_id = '910000000000000009'") is True
    assert scalar(store, "SELECT handle FROM identities WHERE native_id = '910000000000000002'") == "mira_b#4242"
    assert scalar(store, "SELECT sent_at FROM messages WHERE native_id = '920000000000000001:1004'") == datetime(2024, 3, 1, 8, 15, tzinfo=UTC)
    edited = json.loads(scalar(store, "SELECT meta FROM messages WHERE native_id = '920000000000000001:1003'"))
    assert edited["edited_at"] == "2024-03-01T09:12:00+00:00" and len(edited["mentions"]) == 1


def test_flat_channel_messages_are_threaded_but_thread_starters_stay_roots(store: Store, tmp_path: Path) -> None:
    data = json.loads(GENERAL.read_text(encoding="utf-8"))
    entries = {e["id"]: e for e in data["messages"]}
    mira = entries["1011"]["author"]
    # Mira asks, Rowan answers by name a minute later (an addressed answer: the threader links
    # it); then Mira, a minute on, starts the composting thread from a new message.
    entries["1008"] |= {"author": mira, "timestamp": "2024-03-02T08:56:00.000+00:00", "content": "Where do I buy compost bins?", "attachments": []}
    entries["1009"] |= {
        "author": entries["1002"]["author"],
        "timestamp": "2024-03-02T08:57:00.000+00:00",
        "content": "@Mira Birch the hardware store sells compost bins",
    }
    entries["1011"]["timestamp"] = "2024-03-02T08:58:00.000+00:00"
    folder = tmp_path / "export"
    shutil.copytree(EXPORT, folder)
    (folder / GENERAL.name).write_text(json.dumps(data), encoding="utf-8")
    imp(store, folder)
    rows = {r[0]: r[1:] for r in store.con.execute("SELECT native_id, id, conversation_id, reply_to_id, meta->>'reply_inferred' FROM messages").fetchall()}
    question, answer, starter = (rows[f"920000000000000001:{n}"] for n in ("1008", "1009", "1011"))
    assert answer[1:] == (question[0], question[0], "true")
    # The starter follows Mira's own question within minutes, yet its thread's file hangs the
    # thread off it, so it stays a root and the thread stays one conversation.
    assert starter[1:] == (starter[0], None, None)
    assert {v[1] for k, v in rows.items() if k.startswith("960000000000000001:")} == {starter[0]}
    assert scalar(store, "SELECT count(*) FROM conversations WHERE id = ?", starter[0]) == 1


def test_include_private_imports_the_dm_as_a_private_space(store: Store) -> None:
    imp(store, EXPORT, include_private=True)
    assert scalar(store, "SELECT kind || ':' || private FROM spaces WHERE native_id = '970000000000000001'") == "dm:true"
    assert scalar(store, "SELECT count(*) FROM messages WHERE space_id = (SELECT id FROM spaces WHERE private)") == 2


def test_zip_folder_and_single_file_agree(tmp_path: Path) -> None:
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for file in EXPORT.iterdir():
            zipped.write(file, f"export/{file.name}")
    with Store.open(tmp_path / "a.duckdb") as first, Store.open(tmp_path / "b.duckdb") as second, Store.open(tmp_path / "c.duckdb") as third:
        from_folder = imp(first, EXPORT)
        from_zip = imp(second, archive)
        assert from_zip.source_id == from_folder.source_id
        assert first.table_counts() == second.table_counts()
        assert imp(third, GENERAL).source_id == from_folder.source_id
    with SourceTree(archive) as tree:
        assert detect(tree).name == "discord"


def test_on_file_reports_each_file() -> None:
    seen: list[str] = []
    with SourceTree(EXPORT) as tree:
        list(DiscordConnector().read(tree, ReadContext(source_id="t", on_file=seen.append)))
    assert seen == sorted(p.name for p in EXPORT.iterdir())


# -- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "alone", "expected"),
    [
        (GENERAL.read_bytes()[:1500], False, r"zz broken\.json: malformed JSON at line \d+, column \d+"),
        (GENERAL.read_bytes()[:1500], True, r"malformed JSON at line \d+, column \d+"),
        (b"", False, "zz broken.json: the file is empty"),
        (b"  \n", True, "the file is empty"),
        (b'{"guild": {"id": "1"}, "channel": {"id": "2"}, "messages": 7}', False, "'messages' is not a list"),
        (b'[{"type": "message"}]', True, "not a DiscordChatExporter JSON export"),
    ],
)
def test_broken_files_are_one_clear_error_and_change_nothing(store: Store, tmp_path: Path, content: bytes, alone: bool, expected: str) -> None:
    imp(store, EXPORT)
    before = store.table_counts()
    folder = tmp_path / "export"
    shutil.copytree(EXPORT, folder)
    (folder / "zz broken.json").write_bytes(content)
    target = folder / "zz broken.json" if alone else folder
    with pytest.raises(InputError, match=expected) as raised:
        imp(store, target)
    assert "\n" not in str(raised.value)
    assert store.table_counts() == before


def test_a_foreign_json_file_in_a_folder_is_skipped(store: Store, tmp_path: Path) -> None:
    folder = tmp_path / "export"
    shutil.copytree(EXPORT, folder)
    (folder / "notes.json").write_text('{"hello": 1}')
    report = imp(store, folder)
    assert report.skipped[("file", "not a DiscordChatExporter JSON export")] == 1


def test_one_malformed_message_is_skipped_and_counted(store: Store, tmp_path: Path) -> None:
    data = json.loads(GENERAL.read_text(encoding="utf-8"))
    data["messages"][2]["timestamp"] = "yesterday"
    data["messages"].append("not an object")
    target = tmp_path / "general.json"
    target.write_text(json.dumps(data), encoding="utf-8")
    report = imp(store, target)
    assert report.skipped[("message", "malformed message: timestamp 'yesterday' is not an ISO timestamp")] == 1
    assert report.skipped[("message", "malformed message: not a JSON object")] == 1
    assert report.skipped_examples[("message", "malformed message: timestamp 'yesterday' is not an ISO timestamp")].endswith("id=1003")
    assert scalar(store, "SELECT count(*) FROM messages") == 8 - 1
    # Its reply still joins the conversation of the first message, through the skipped one.
    pair = store.con.execute(
        "SELECT r.conversation_id = m.id FROM messages r, messages m WHERE r.native_id LIKE '%:1004' AND m.native_id LIKE '%:1002'"
    ).fetchone()
    assert pair == (True,)


# -- mapping --------------------------------------------------------------------------------------


def test_small_mappings() -> None:
    context = ReadContext(source_id="t")
    assert event_kind("Default") is None and event_kind("Reply") is None and event_kind("20") is None
    assert [event_kind(k) for k in ("GuildMemberJoin", "ChannelPinnedMessage", "RecipientAdd", "UserPremiumGuildSubscription")] == [
        "join",
        "pin",
        "member_added",
        "user_premium_guild_subscription",
    ]
    assert plain_text("hi <@!7> and <@8> in <#5> for <@&9>", [{"id": "7", "name": "a", "nickname": "Ay"}], {"5": "general"}) == (
        "hi @Ay and @unknown-user in #general for @role"
    )
    assert plain_text("<a:dance:123> <t:0:R>", [], {}) == ":dance: 1970-01-01 00:00 UTC"
    identity = identity_from_user(context, {"id": "1", "name": "pat", "discriminator": "0000", "nickname": None, "isBot": True})
    assert (identity.display_name, identity.handle, identity.is_bot) == ("pat", "pat", True)
    rows = reactions_from_entry(context, {"reactions": [{"emoji": {"id": None, "name": "👍"}, "count": 4, "users": [{"id": "1"}]}]}, native_id="c:m")
    assert [(r.identity_id is None, r.count) for r in rows] == [(False, 1), (True, 3)]


def test_resolve_roots_follows_chains_and_cuts_cycles() -> None:
    assert resolve_roots({"a": None, "b": "a", "c": "b", "d": "x", "e": "d"}) == {"a": "a", "b": "a", "c": "a", "d": "x", "e": "x"}
    assert resolve_roots({"a": "c", "b": "a", "c": "b"}) == {"a": "b", "b": "b", "c": "b"}


@settings(max_examples=200)
@given(st.lists(st.one_of(st.none(), st.integers(0, 30)), max_size=25))
def test_every_root_is_a_parentless_message_or_outside_the_file(links: list[int | None]) -> None:
    parents = {str(i): None if p is None else str(p) for i, p in enumerate(links)}
    roots = resolve_roots(parents)
    assert roots.keys() == parents.keys()
    for node, root in roots.items():
        # The root is either outside the file, or in it and rooted at itself.
        assert root not in parents or roots[root] == root
        # Walking up from the node reaches the root (or it is a cut cycle's member).
        seen: set[str] = set()
        current = node
        while current in parents and current != root and current not in seen:
            seen.add(current)
            current = parents[current]  # type: ignore[assignment]
        assert current == root or current in seen


def test_a_guild_id_that_is_not_utf8_is_read_by_the_full_parse_not_a_crash(tmp_path: Path) -> None:
    """Found by the fuzzer: a byte that is not UTF-8 inside the guild id crashed source_key with a
    UnicodeDecodeError; now the full parse decides (this file does not parse, so it names no guild)."""
    source = next((Path(__file__).resolve().parents[1] / "data" / "discord" / "export").glob("Green Valley Gardeners - Community*.json"))
    raw = source.read_bytes()
    guild_id = json.loads(raw)["guild"]["id"].encode()
    broken = tmp_path / "broken.json"
    broken.write_bytes(raw.replace(b'"id": "' + guild_id + b'"', b'"id": "' + guild_id[:-3] + b"\xe9" + guild_id[-2:] + b'"', 1))
    assert broken.read_bytes() != raw
    with SourceTree(broken) as tree:
        key = DiscordConnector().source_key(tree)
    assert key == "discord-dm"
