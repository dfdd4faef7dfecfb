"""The WhatsApp connector: stamps in every locale, multi-line messages, system lines, privacy, bad input."""

from __future__ import annotations

import re
import shutil
import tempfile
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from villagegreen.connectors.base import ReadContext
from villagegreen.connectors.disentangle import ChatLine, conversation_roots, disentangle
from villagegreen.connectors.registry import detect
from villagegreen.connectors.tree import SourceTree
from villagegreen.connectors.whatsapp.connector import PRIVATE_REASON, WhatsAppConnector
from villagegreen.connectors.whatsapp.export import parse_chat, stamp_entry, timestamp
from villagegreen.connectors.whatsapp.mapping import message_text, split_entry
from villagegreen.errors import InputError
from villagegreen.model import Conversation, Event, Identity, Message, RawItem, Record, Skipped, Space
from villagegreen.store import Store
from villagegreen.store.ingest import import_path

T = TypeVar("T")
DATA = Path(__file__).resolve().parent.parent / "data" / "whatsapp"
SAMPLES = Path("formats/chat-analytics-samples/tests/samples/whatsapp")
# Independent of the connector's regex: an Android line "D/M/YY, H:MM - Name: text" whose name
# has no colon; system lines ("Alice added you") have no ": " after the dash.
ANDROID_MESSAGE = re.compile(r"^\d{1,2}/\d{1,2}/\d{2}, \d{1,2}:\d\d - ([^:]+): ")
CANONICAL = ("spaces", "identities", "conversations", "messages", "events")


def read_all(path: Path, include_private: bool = True) -> list[Record]:
    with SourceTree(path) as tree:
        return list(WhatsAppConnector().read(tree, ReadContext(source_id="test", include_private=include_private)))


def of_type(records: list[Record], cls: type[T]) -> list[T]:
    return [r for r in records if isinstance(r, cls)]


def rows(store: Store, table: str) -> list[tuple[object, ...]]:
    return sorted(store.con.execute(f"SELECT * FROM {table}").fetchall(), key=repr)


def when(line: str, text: str = "") -> datetime | None:
    """The UTC time of one stamped line, read in a file of that line plus ``text``."""
    chat = parse_chat(line + "\n" + text, "t")
    return timestamp(chat.entries[0], chat.order)


# --- stamps --------------------------------------------------------------------------------

NB, LRM = "\u202f", "\u200e"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("12/31/20, 9:15 PM - Ann: hi", datetime(2020, 12, 31, 21, 15, tzinfo=UTC)),  # Android US
        (f"12/31/20, 9:15{NB}PM - Ann: hi", datetime(2020, 12, 31, 21, 15, tzinfo=UTC)),  # narrow no-break space
        ("12/31/20, 12:05 AM - Ann: hi", datetime(2020, 12, 31, 0, 5, tzinfo=UTC)),  # 12 AM is midnight
        ("12/31/20, 12:05 pm - Ann: hi", datetime(2020, 12, 31, 12, 5, tzinfo=UTC)),
        ("31/12/2020, 21:15 - Ann: hi", datetime(2020, 12, 31, 21, 15, tzinfo=UTC)),  # Android UK, 4-digit year
        ("31.12.20, 21:15 - Ann: hi", datetime(2020, 12, 31, 21, 15, tzinfo=UTC)),  # Android DE
        ("2020-12-31 21:15 - Ann: hi", datetime(2020, 12, 31, 21, 15, tzinfo=UTC)),  # ISO
        ("[31/12/2020, 21:15:07] Ann: hi", datetime(2020, 12, 31, 21, 15, 7, tzinfo=UTC)),  # iOS 24h with seconds
        (f"[12/31/20, 9:15:07{NB}PM] Ann: hi", datetime(2020, 12, 31, 21, 15, 7, tzinfo=UTC)),  # iOS 12h
        (f"{LRM}[31/12/2020, 21:15:07] Ann: {LRM}image omitted", datetime(2020, 12, 31, 21, 15, 7, tzinfo=UTC)),
        ("[31.12.20, 21:15:07] Ann: hi", datetime(2020, 12, 31, 21, 15, 7, tzinfo=UTC)),
        ("31/12/2020 21:15 - Ann: hi", datetime(2020, 12, 31, 21, 15, tzinfo=UTC)),  # no comma
    ],
)
def test_every_stamp_pattern_parses_to_utc(line: str, expected: datetime) -> None:
    assert when(line) == expected


def test_malformed_stamps_are_continuation_lines() -> None:
    bad = ("31/12/2020, 25:15 - Ann: hi", "13/31/20, 13:15 PM - Ann: hi", "[31/12/2020, 21:15]x", "31/12/2020, 21:15] - Ann: x", "hi 31/12/2020, 21:15 - x")
    for line in bad:
        assert stamp_entry(line, 1) is None, line


def test_date_order_is_detected_per_file_from_any_line() -> None:
    # The first line alone is ambiguous; a later line settles it either way.
    assert when("01/02/21, 10:00 - Ann: hi", "01/13/21, 10:00 - Bo: x") == datetime(2021, 1, 2, 10, tzinfo=UTC)
    assert when("01/02/21, 10:00 - Ann: hi", "13/01/21, 10:00 - Bo: x") == datetime(2021, 2, 1, 10, tzinfo=UTC)
    chat = parse_chat("01/02/21, 10:00 - Ann: hi\n03/04/21, 11:00 - Bo: x", "t")
    assert (chat.order, chat.order_assumed) == ("day-first", True)
    assert parse_chat("2021-01-02 10:00 - Ann: hi", "t").order == "year-first"


def test_ambiguous_file_defaults_to_day_first_and_says_so_on_the_space() -> None:
    records = read_all(DATA / "ambiguous.txt")
    (space,) = of_type(records, Space)
    assert space.meta == {"date_order": "day-first", "date_order_assumed": True}
    assert [m.sent_at.month for m in of_type(records, Message)] == [2, 4]
    assert not of_type(records, Skipped)


def test_conflicting_dates_follow_the_majority_and_skip_the_impossible_one() -> None:
    text = "13/01/21, 10:00 - Ann: a\n14/01/21, 10:00 - Ann: b\n01/13/21, 10:00 - Bo: c\n"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "mixed.txt"
        path.write_text(text)
        records = read_all(path)
    assert [m.text for m in of_type(records, Message)] == ["a", "b"]
    (skipped,) = of_type(records, Skipped)
    assert skipped.kind == "message" and skipped.where == "mixed.txt:3"


# --- entries -------------------------------------------------------------------------------


def test_multi_line_messages_keep_their_continuation_lines() -> None:
    chat = parse_chat("12/31/20, 9:15 PM - Ann: line one\nline two\n\nline four\n12/31/20, 9:16 PM - Bo: next\n", "t")
    assert [e.body() for e in chat.entries] == ["Ann: line one\nline two\n\nline four", "Bo: next"]
    assert chat.entries[0].lines == ["12/31/20, 9:15 PM - Ann: line one", "line two", "", "line four"]


@pytest.mark.parametrize(
    ("body", "kind", "actor", "targets"),
    [
        ("Messages and calls are end-to-end encrypted. No one outside of this chat can read them.", "system", None, []),
        ('Ann created group "Allotment: north"', "create", "Ann", []),
        ("Ann added Bo, Cy and Di", "join", "Ann", ["Bo", "Cy", "Di"]),
        ("Ann added you", "join", "Ann", ["you"]),
        ("Cy joined using this group's invite link", "join", "Cy", []),
        ("Bo left", "leave", "Bo", []),
        ("Ann removed Bo", "leave", "Ann", ["Bo"]),
        ('Ann changed the subject from "a" to "b: c"', "subject_change", "Ann", []),
        ("You changed this group's icon", "icon_change", "You", []),
        ("Ann changed the group description", "description_change", "Ann", []),
        ("Something WhatsApp invented last week", "system", None, []),
        (f"Allotment: {LRM}Ann added Bo", "join", "Ann", ["Bo"]),  # iOS: the chat speaks
        (f"Ann: {LRM}Missed voice call", "call", "Ann", []),
    ],
)
def test_system_lines_become_events(body: str, kind: str, actor: str | None, targets: list[str]) -> None:
    author, _text, system = split_entry(body)
    assert author is None and system is not None
    assert (system.kind, system.actor, system.targets) == (kind, actor, targets)


@pytest.mark.parametrize("body", ["Ann: I added Bo to the rota", "Ann: he left", "Ann: Messages and calls are end-to-end encrypted?", "Ann: a: b"])
def test_messages_that_mention_system_phrases_stay_messages(body: str) -> None:
    author, text, system = split_entry(body)
    assert (author, system) == ("Ann", None)
    assert text == body.removeprefix("Ann: ")


@pytest.mark.parametrize(
    ("text", "shown", "meta"),
    [
        ("<Media omitted>", "[media]", {"media": "media"}),
        ("<media omitted>", "[media]", {"media": "media"}),
        (f"{LRM}image omitted", "[media]", {"media": "image"}),
        (f"{LRM}video omitted", "[media]", {"media": "video"}),
        (f"{LRM}<attached: 00000012-PHOTO-2020-12-31-21-15-07.jpg>", "[media]", {"media": "image", "attachment": "00000012-PHOTO-2020-12-31-21-15-07.jpg"}),
        ("VID-20210101-WA0003.mp4 (file attached)\nlook", "[media]\nlook", {"media": "video", "attachment": "VID-20210101-WA0003.mp4"}),
        ("This message was deleted", "[deleted]", {"deleted": True}),
        (f"{LRM}You deleted this message.", "[deleted]", {"deleted": True}),
        ("typo fixed <This message was edited>", "typo fixed", {"edited": True}),
        ("an image omitted from the report", "an image omitted from the report", {}),
    ],
)
def test_placeholders(text: str, shown: str, meta: dict[str, object]) -> None:
    assert message_text(text) == (shown, meta)


# --- fixtures end to end -------------------------------------------------------------------


def test_android_group_fixture_maps_messages_events_and_identities() -> None:
    records = read_all(DATA / "WhatsApp Chat with Garden Circle.txt")
    messages = of_type(records, Message)
    assert len(messages) == 8
    assert all(m.sent_at.tzinfo is UTC for m in messages)
    welcome = messages[0]
    assert welcome.text.startswith("Welcome everyone! Plan for Saturday:\n- bring gloves") and welcome.text.endswith("gate code is 1234")
    # Two identical messages in the same minute get distinct, order-based ids.
    assert [m.native_id for m in messages if m.text == "Thanks Ana"] == ["2021-03-14T09:12:00+00:00|Tomás Berg|1", "2021-03-14T09:12:00+00:00|Tomás Berg|2"]
    assert messages[-1].meta == {"media": "image", "attachment": "IMG-20210315-WA0001.jpg", "attachment_included": False}
    events = of_type(records, Event)
    assert [e.kind for e in events] == ["system", "create", "join", "subject_change", "join", "leave"]
    assert events[3].meta["title"] == "Garden Circle: spring"
    (space,) = of_type(records, Space)
    assert (space.native_id, space.kind, space.private, space.meta) == ("Garden Circle", "group", True, {"date_order": "month-first"})
    identities = {i.display_name: i for i in of_type(records, Identity)}
    assert set(identities) == {"Ana Ruiz", "Tomás Berg", "Priya N", "phone number ending 23", "Kofi"}
    phone = identities["phone number ending 23"]
    assert phone.handle == "+44 7700 900123" and "7700" not in phone.native_id
    # The number appears nowhere but in the handle (and the verbatim raw lines).
    canonical = [r for r in records if not isinstance(r, RawItem | Identity)]
    assert "900123" not in repr(canonical)
    # No reply links in the export: conversations are what the disentangler, run here on the
    # same lines, makes of them; inferred links are flagged and roots have none.
    names = {i.id: i.handle or i.display_name for i in of_type(records, Identity)}
    roots = conversation_roots(disentangle([ChatLine(m.id, names[m.author_id or ""], m.sent_at, m.text) for m in messages]))
    assert [m.conversation_id for m in messages] == [roots[m.id] for m in messages]
    assert all((m.reply_to_id is None) == (m.conversation_id == m.id) == ("reply_inferred" not in m.meta) for m in messages)
    titles = {c.id: c.title for c in of_type(records, Conversation)}
    assert set(titles) == set(roots.values()) and 1 < len(titles) < 8
    assert titles[welcome.id] is not None and len(titles[welcome.id] or "") <= 80


def test_ios_folder_zip_and_file_agree(tmp_path: Path) -> None:
    folder = DATA / "WhatsApp Chat - Seed Swap"
    archive = tmp_path / "WhatsApp Chat - Seed Swap.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for file in sorted(folder.iterdir()):
            zipped.write(file, file.name)
    results = {}
    for path in (folder, archive):
        with SourceTree(path) as tree:
            assert WhatsAppConnector().source_key(tree) == "Seed Swap"
        results[path.name] = [r for r in read_all(path) if not isinstance(r, RawItem)]
    assert results[folder.name] == results[archive.name]
    messages = of_type(results[archive.name], Message)
    assert [m.text for m in messages] == ["Who has tomato seeds?", "[media]", "[deleted]", "Morning"]
    assert messages[1].meta["attachment_included"] is True
    assert [e.kind for e in of_type(results[archive.name], Event)] == ["system", "create", "join", "leave"]


def test_raw_items_keep_the_original_lines() -> None:
    records = read_all(DATA / "ios-12h.txt")
    raws = [r for r in of_type(records, RawItem) if r.kind == "message"]
    assert len(raws) == len(of_type(records, Message)) == 4
    assert '"line":["[12/31/20, 9:16:30\u202fPM] Marco Ventura: Hi!","two lines"]' in raws[1].payload


def test_private_by_default_nothing_imports_and_the_skip_is_reported(store: Store) -> None:
    report = import_path(store, DATA / "WhatsApp Chat with Garden Circle.txt")
    assert report.skipped[("space", PRIVATE_REASON)] == 1
    assert report.kind("messages").new == 0
    counts = store.table_counts()
    assert all(counts[t] == 0 for t in (*CANONICAL, "raw_items"))


def test_reimport_adds_nothing(store: Store) -> None:
    path = DATA / "WhatsApp Chat with Garden Circle.txt"
    first = import_path(store, path, include_private=True)
    assert first.kind("messages").new == 8 and first.kind("events").new == 6
    again = import_path(store, path, include_private=True)
    assert again.rows_added == 0


# --- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (b"\n  \n", "the file is empty"),
        ((DATA / "unfamiliar-locale.txt").read_bytes(), r"unfamiliar date format in the first line '2020年12月31日 21:15.*supported: Android"),
        ((DATA / "not-a-chat.txt").read_bytes(), "not a WhatsApp chat export"),
        (bytes(range(256)) * 16, "binary file"),
        (b"\xff\xfe\x80" * 500, "not UTF-8 text"),
    ],
)
def test_bad_input_is_one_clear_error_and_the_store_is_unchanged(store: Store, tmp_path: Path, content: bytes, message: str) -> None:
    import_path(store, DATA / "android-iso.txt", include_private=True)
    before = store.table_counts()
    path = tmp_path / "WhatsApp Chat with Nobody.txt"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message) as caught:
        import_path(store, path, platform="whatsapp", include_private=True)
    assert "\n" not in str(caught.value) and "Nobody.txt" in str(caught.value)
    assert store.table_counts() == before


def test_invalid_bytes_are_replaced_and_noted(tmp_path: Path) -> None:
    path = tmp_path / "chat.txt"
    path.write_bytes("\ufeff31/12/2020, 21:15 - Ann: caf".encode() + b"\xe9 au lait\n")
    records = read_all(path)
    assert [m.text for m in of_type(records, Message)] == ["caf\ufffd au lait"]
    assert [(s.kind, s.where) for s in of_type(records, Skipped)] == [("encoding", "chat.txt")]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lines=st.lists(
        st.one_of(
            st.text(max_size=60),
            st.builds(lambda d, m, t: f"{d}/{m}/21, {t} - Ann: x", st.integers(0, 40), st.integers(0, 40), st.sampled_from(["9:15 PM", "25:61", "00:00"])),
            st.builds(lambda d, s: f"[{d}.12.2020, 21:15:{s}] Ann: {LRM}y", st.integers(0, 40), st.integers(0, 70)),
        ),
        max_size=12,
    )
)
def test_arbitrary_text_never_raises_anything_but_input_error(lines: list[str]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "chat.txt"
        path.write_text("\n".join(lines), encoding="utf-8", errors="surrogatepass")
        try:
            records = read_all(path)
        except InputError as error:
            assert "\n" not in str(error)
            return
    for message in of_type(records, Message):
        assert message.sent_at.tzinfo is UTC and isinstance(message.text, str)


# --- detection -----------------------------------------------------------------------------


def test_sniff_accepts_exports_and_refuses_other_text() -> None:
    for name in ("WhatsApp Chat with Garden Circle.txt", "WhatsApp Chat - Seed Swap", "ios-12h.txt", "android-dotted.txt", "android-iso.txt"):
        with SourceTree(DATA / name) as tree:
            assert WhatsAppConnector.sniff(tree), name
            assert detect(tree) is WhatsAppConnector, name
    for name in ("not-a-chat.txt", "unfamiliar-locale.txt"):
        with SourceTree(DATA / name) as tree:
            assert not WhatsAppConnector.sniff(tree), name


@pytest.mark.realdata
def test_sniff_refuses_other_platforms(shared_data: Path) -> None:
    others = [p for d in ("slack", "discourse", "stackexchange", "mail") for p in sorted((shared_data / d).iterdir())]
    others += sorted((shared_data / "mail" / "r-package-devel").glob("*.txt"))[:5]
    assert others
    for path in others:
        with SourceTree(path) as tree:
            assert not WhatsAppConnector.sniff(tree), path


# --- the real samples ----------------------------------------------------------------------


@pytest.mark.realdata
@pytest.mark.parametrize(("name", "authors", "count"), [("2A_5M.txt", 2, 5), ("4A_11M.txt", 5, 11), ("4A_11M.zip", 5, 11)])
def test_real_samples_import_with_independent_counts(store: Store, shared_data: Path, name: str, authors: int, count: int) -> None:
    path = shared_data / SAMPLES / name
    with SourceTree(path) as tree:
        assert detect(tree) is WhatsAppConnector
        text = tree.read_bytes(tree.names()[0]).decode("utf-8")
    posters = [m.group(1) for line in text.splitlines() if (m := ANDROID_MESSAGE.match(line))]
    # The file names say messages; "4A" counts four authors, but five names post (verified by hand).
    assert len(posters) == count == int(name.split("_")[1].split("M")[0])
    assert len(set(posters)) == authors
    default = import_path(store, path)
    assert default.kind("messages").new == 0 and default.skipped[("space", PRIVATE_REASON)] == 1
    report = import_path(store, path, include_private=True)
    assert report.kind("messages").new == count
    assert report.kind("identities").new == authors
    counts = store.table_counts()
    again = import_path(store, path, include_private=True)
    assert again.rows_added == 0
    assert {t: n for t, n in store.table_counts().items() if t != "import_runs"} == {t: n for t, n in counts.items() if t != "import_runs"}


@pytest.mark.realdata
def test_real_zip_and_txt_give_identical_rows(shared_data: Path, tmp_path: Path) -> None:
    tables = {}
    for name in ("4A_11M.txt", "4A_11M.zip"):
        with Store.open(tmp_path / f"{name}.duckdb") as store:
            import_path(store, shared_data / SAMPLES / name, include_private=True)
            tables[name] = {t: rows(store, t) for t in CANONICAL}
            tables[name]["raw_ids"] = sorted(store.con.execute("SELECT id FROM raw_items").fetchall())
    assert tables["4A_11M.txt"] == tables["4A_11M.zip"]
    assert len(tables["4A_11M.txt"]["events"]) == 3


def test_a_copied_chat_in_a_folder_is_found_and_other_text_is_skipped(tmp_path: Path) -> None:
    shutil.copy(DATA / "android-iso.txt", tmp_path / "WhatsApp Chat with Plot 7.txt")
    shutil.copy(DATA / "not-a-chat.txt", tmp_path / "notes.txt")
    records = read_all(tmp_path)
    assert len(of_type(records, Message)) == 2
    assert [(s.kind, s.where) for s in of_type(records, Skipped)] == [("file", "notes.txt")]
    assert {s.native_id for s in of_type(records, Space)} == {"Plot 7"}
