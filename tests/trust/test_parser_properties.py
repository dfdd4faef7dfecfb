"""Property tests for the parsers and mappings that had none (issue 11).

Each asserts that arbitrary input never raises anything but InputError/ItemError, plus an
invariant stated independently of the code: a stamp built from known parts parses back to
those parts, an entry is exactly one of "a person said" or "a system event", timestamps are
aware UTC, ids are stable across two reads of the same input.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from villagegreen.connectors.base import ReadContext
from villagegreen.connectors.mail.body import decode_bytes
from villagegreen.connectors.mail.mapping import parse_from
from villagegreen.connectors.mail.threading import clean_subject, subject_key
from villagegreen.connectors.mattermost.mapping import parse_ms
from villagegreen.connectors.slack.connector import SlackExportConnector
from villagegreen.connectors.slack.mapping import parse_ts
from villagegreen.connectors.teams.mapping import parse_time as teams_time
from villagegreen.connectors.tree import SourceTree
from villagegreen.connectors.whatsapp.export import parse_chat, stamp_entry, timestamp
from villagegreen.connectors.whatsapp.mapping import message_text, split_entry
from villagegreen.errors import InputError, ItemError
from villagegreen.model import Message, Skipped

FAST = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
# Text with the characters that break parsers: separators, stamps' punctuation, NUL, BOM, RTL marks.
nasty_text = st.text(alphabet=st.sampled_from([*"aZ09 :/.,-[]()<>@\"'\n\r\t\x00\ufeff\u200e\u202f\ud7ff\U0001f600"]) | st.characters(), max_size=200)


# -- WhatsApp ---------------------------------------------------------------------------------------


@FAST
@given(nasty_text)
def test_whatsapp_stamp_parser_never_raises_and_keeps_clock_ranges(line: str) -> None:
    entry = stamp_entry(line, 1)
    if entry is not None:
        assert 0 <= entry.hour <= 23 and 0 <= entry.minute <= 59 and 0 <= entry.second <= 59


@FAST
@given(
    # Naive on purpose: a phone's wall clock, as WhatsApp writes it.
    st.datetimes(min_value=datetime(2010, 1, 1), max_value=datetime(2035, 12, 31)),  # noqa: DTZ001
    st.text(alphabet="abcdefgh XYZ", min_size=1, max_size=20).filter(lambda s: s.strip() == s and s),
    st.text(alphabet="hello world 123!?", max_size=40),
    st.booleans(),
)
def test_whatsapp_ios_stamp_round_trips(moment: datetime, author: str, text: str, day_first: bool) -> None:
    date = f"{moment:%d/%m/%Y}" if day_first else f"{moment:%m/%d/%Y}"
    line = f"[{date}, {moment:%H:%M:%S}] {author}: {text}"
    entry = stamp_entry(line, 7)
    assert entry is not None
    order = "day-first" if day_first else "month-first"
    expected = moment.replace(microsecond=0, tzinfo=UTC)
    assert timestamp(entry, order) == expected
    assert entry.rest == f"{author}: {text}"


@FAST
@given(nasty_text)
def test_whatsapp_entry_is_a_person_or_a_system_line_never_both(body: str) -> None:
    author, text, system = split_entry(body)
    assert (author is None) != (system is None)
    shown, meta = message_text(text)
    assert isinstance(shown, str) and isinstance(meta, dict)


@FAST
@given(st.lists(nasty_text, max_size=8))
def test_whatsapp_chat_parser_raises_only_input_error(lines: list[str]) -> None:
    try:
        chat = parse_chat("\n".join(lines), "chat.txt")
    except InputError:
        return
    for entry in chat.entries:
        moment = timestamp(entry, chat.order)
        assert moment is None or moment.tzinfo is UTC


# -- mail ---------------------------------------------------------------------------------------------


@FAST
@given(nasty_text)
def test_from_header_parser_never_raises_and_lowercases(value: str) -> None:
    address, name, lossy = parse_from(value)
    assert address == address.lower()
    assert " " not in address
    assert "\n" not in name and isinstance(lossy, bool)


@FAST
@given(st.from_regex(r"[a-z0-9][a-z0-9._+-]{0,10}@[a-z0-9-]{1,10}\.[a-z]{2,5}", fullmatch=True), st.text(alphabet="Abc Def-", max_size=20).map(str.strip))
def test_from_header_finds_the_address_in_its_usual_forms(address: str, name: str) -> None:
    for form in (f"{name} <{address}>", f'"{name}" <{address}>', address):
        assert parse_from(form)[0] == address.lower()


@FAST
@given(nasty_text)
def test_subject_cleaning_is_idempotent(subject: str) -> None:
    once = clean_subject(subject)
    assert clean_subject(once) == once
    assert subject_key(once) == subject_key(subject)


@FAST
@given(
    st.binary(max_size=200),
    st.sampled_from([None, "utf-8", "latin-1", "utf-16", "utf-7", "idna", "punycode", "rot13", "base64", "no-such", ""]) | st.text(max_size=12),
)
def test_body_decoding_never_raises(data: bytes, charset: str | None) -> None:
    text = decode_bytes(data, charset)
    assert isinstance(text, str)
    if not charset and data.isascii():
        assert text == data.decode("ascii")
    if charset == "latin-1":
        assert text == data.decode("latin-1")


# -- timestamps of every JSON connector -----------------------------------------------------------------

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=30)


@FAST
@given(json_scalars)
def test_slack_ts_is_utc_or_an_item_error(value: object) -> None:
    try:
        moment = parse_ts(value, "here")
    except ItemError:
        return
    assert moment.tzinfo is UTC


@FAST
@given(st.floats(min_value=0, max_value=4e9, allow_nan=False))
def test_slack_ts_agrees_with_epoch_arithmetic(seconds: float) -> None:
    expected = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)
    assert abs(parse_ts(f"{seconds:.6f}", "here") - expected) <= timedelta(microseconds=1)


@FAST
@given(json_scalars)
def test_mattermost_and_teams_times_are_utc_or_an_item_error(value: object) -> None:
    for parse in (parse_ms, teams_time):
        try:
            moment = parse(value)
        except ItemError:
            continue
        assert moment.tzinfo is UTC


# -- a Slack day file of arbitrary entries, end to end through the connector -----------------------------

json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=8)
slack_entry = st.fixed_dictionaries(
    {"type": st.just("message") | json_scalars, "ts": st.sampled_from(["1614556800.000100", "1614556900.000200", "nan", "-5", "1e400"]) | json_scalars},
    optional={
        "user": st.sampled_from(["U1", "U2", "U404"]) | json_scalars,
        "text": nasty_text | json_values,
        "thread_ts": json_scalars,
        "subtype": st.sampled_from(["bot_message", "channel_join", "thread_broadcast", "tombstone"]) | json_scalars,
        "reactions": json_values,
        "files": json_values,
        "attachments": json_values,
        "edited": json_values,
        "replies": json_values,
    },
)


def _read_all(root: Path) -> list[object]:
    with SourceTree(root) as tree:
        connector = SlackExportConnector()
        return list(connector.read(tree, ReadContext(source_id="s1", source_name="prop", fetched_at=datetime(2024, 1, 1, tzinfo=UTC))))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(slack_entry | json_values, max_size=6))
def test_slack_day_file_of_arbitrary_entries_reads_with_stable_ids(tmp_path_factory: pytest.TempPathFactory, entries: list[object]) -> None:
    root = tmp_path_factory.mktemp("slackprop")
    (root / "users.json").write_text(json.dumps([{"id": "U1", "name": "ada"}, {"id": "U2", "name": "bo"}]), encoding="utf-8")
    (root / "channels.json").write_text(json.dumps([{"id": "C1", "name": "general", "created": 1577000000}]), encoding="utf-8")
    (root / "general").mkdir()
    try:
        (root / "general" / "2021-03-01.json").write_text(json.dumps(entries), encoding="utf-8")
    except ValueError:  # hypothesis floats such as inf are still valid for json.dumps; this is belt and braces
        assume(False)
    try:
        first = _read_all(root)
    except (InputError, ItemError):
        return
    second = _read_all(root)
    ids = [getattr(record, "id", None) for record in first]
    assert ids == [getattr(record, "id", None) for record in second]
    messages = [record for record in first if isinstance(record, Message)]
    entry_dicts = [entry for entry in entries if isinstance(entry, dict)]
    skipped = sum(1 for record in first if isinstance(record, Skipped) and record.kind == "message")
    # No entry turns into more than one message, and every message is aware UTC.
    assert len(messages) <= len(entry_dicts)
    assert all(m.sent_at.tzinfo is not None and m.sent_at.utcoffset() == timedelta(0) for m in messages)
    assert skipped <= len(entries)


# -- any JSON in the main file of a JSON-based export, through its own connector ---------------------------

# (connector, fixture folder or file, the file inside it that the generated JSON replaces)
JSON_EXPORTS = [
    ("discourse", "discourse/forum", "topics/welcome-and-first-steps.10.json"),
    ("teams", "teams/export", "general/messages-1.json"),
    ("zulip", "zulip/export", "zulip-export-riverside/messages-000001.json"),
    ("telegram", "telegram/chat", "result.json"),
    ("mattermost", "mattermost/bulk", "import.jsonl"),
]


# Top-level keys these formats use, so that generated documents get past the first check.
EXPORT_KEYS = ["messages", "posts", "post_stream", "value", "type", "zerver_message", "id", "name", "chats", "list"]


@pytest.mark.parametrize(("platform", "fixture", "replaced"), JSON_EXPORTS, ids=[p for p, _, _ in JSON_EXPORTS])
def test_any_json_in_an_export_file_is_read_or_refused_cleanly(platform: str, fixture: str, replaced: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    from tests.conftest import TEST_DATA

    from villagegreen.connectors.registry import get_connector

    source = TEST_DATA / fixture
    connector = get_connector(platform)()

    @settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(
        json_values
        | st.lists(json_values, max_size=4)
        | st.dictionaries(st.sampled_from(["messages", "posts", "post_stream", "value", "type", "zerver_message", "id"]), json_values)
    )
    def read_any(value: object) -> None:
        root = tmp_path_factory.mktemp(platform)
        shutil.copytree(source, root, dirs_exist_ok=True)
        text = "\n".join(json.dumps(v) for v in (value if isinstance(value, list) else [value])) if replaced.endswith(".jsonl") else json.dumps(value)
        (root / replaced).write_text(text, encoding="utf-8")
        context = ReadContext(source_id="s1", source_name="prop", include_private=True, fetched_at=datetime(2024, 1, 1, tzinfo=UTC))
        try:
            with SourceTree(root) as tree:
                connector.source_key(tree)
                records = list(connector.read(tree, context))
        except (InputError, RecursionError):
            return
        messages = [r for r in records if isinstance(r, Message)]
        assert all(m.sent_at.utcoffset() == timedelta(0) for m in messages)
        assert len({m.id for m in messages}) == len(messages) or platform in ("telegram",)

    read_any()
