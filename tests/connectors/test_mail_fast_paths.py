"""The mail connector's fast paths give what the slower general ones gave.

The raw layer is written with orjson instead of ``json.dumps``, message ids are hashed once per
archive, and zone offsets are cached; each is checked here against an independent computation.
"""

from __future__ import annotations

import json
import re
from email.utils import parsedate_to_datetime
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from villagegreen.connectors.base import ReadContext
from villagegreen.connectors.mail.connector import MailConnector
from villagegreen.connectors.mail.headers import WANTED, header_fields, parse_header
from villagegreen.connectors.mail.mapping import _OBFUSCATED_AT, deobfuscate
from villagegreen.connectors.mail.mbox import split_messages
from villagegreen.connectors.tree import SourceTree
from villagegreen.model import Conversation, Identity, Message, RawItem, make_id

# Text as _verbatim makes it: any code point but lone surrogates (UTF-8 or Latin-1 decoding
# never produces one).
VERBATIM_TEXT = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=300)


def _json_dumps(message: str) -> str:
    return json.dumps({"message": message}, ensure_ascii=False, separators=(",", ":"))


@given(text=VERBATIM_TEXT)
def test_orjson_writes_the_payload_json_dumps_wrote(text: str) -> None:
    assert orjson.dumps({"message": text}).decode() == _json_dumps(text)


def test_control_characters_and_line_separators_are_written_alike() -> None:
    text = "".join(chr(c) for c in range(0x20)) + '"\\\x7f\u2028\u2029\ufeffé€😀'
    assert orjson.dumps({"message": text}).decode() == _json_dumps(text)


@pytest.mark.parametrize(
    "date",
    ["Mon, 6 Jan 2020 18:38:44 -0300", "Tue, 07 Jan 2020 01:02:03 +0530", "7 Jan 2020 23:59:59 +0000", "Wed, 1 Jan 2020 00:10:00 -1200"],
)
def test_dates_in_any_zone_match_the_email_package(date: str) -> None:
    message = f"From a@example.org Mon Jan  6 21:38:44 2020\nFrom: a@example.org\nDate: {date}\nMessage-ID: <m@x>\n\nbody\n".encode()
    parsed = parse_header(message, 1, "f")
    assert not isinstance(parsed, str)
    assert parsed.sent_at == parsedate_to_datetime(date)


@pytest.mark.realdata
def test_real_archive_ids_and_raw_payloads_match_an_independent_computation(shared_data: Path) -> None:
    context = ReadContext(source_id="real")
    with SourceTree(shared_data / "mail" / "r-package-devel") as tree:
        records = list(MailConnector().read(tree, context))
    messages = [r for r in records if isinstance(r, Message)]
    raws = [r for r in records if isinstance(r, RawItem)]
    assert len(messages) == len(raws) > 11_000
    by_native = {m.native_id: m for m in messages}
    identities = {i.id for i in records if isinstance(i, Identity)}
    conversations = {c.id for c in records if isinstance(c, Conversation)}
    for raw in raws:
        # What Connector.raw wrote before: json.dumps of the same object.
        assert raw.payload == _json_dumps(json.loads(raw.payload)["message"])
        assert raw.id == make_id("real", "raw:email", raw.native_id)
    for message in messages:
        assert message.id == make_id("real", "message", message.native_id)
        assert message.conversation_id in conversations
        assert message.author_id is None or message.author_id in identities
    replies = [m for m in messages if m.reply_to_id is not None]
    assert replies
    ids = {m.id for m in messages}
    assert all(m.reply_to_id in ids for m in replies)
    # A root message and its conversation share one id.
    assert conversations <= ids
    assert all(by_native[m.native_id].conversation_id == m.id for m in messages if m.id in conversations)


@given(
    text=st.lists(st.sampled_from(["ann", "at", " at ", "\tat\u00a0", " @ending from ", "example.org", "@", "|", " ", "\u2003", "x y", "\n"]), max_size=8).map(
        "".join
    )
)
def test_deobfuscate_fast_path_changes_nothing(text: str) -> None:
    lossy = False

    def replace(match: re.Match[str]) -> str:
        nonlocal lossy
        lossy = lossy or match.group(1).lower() != "at"
        return "@"

    # The regex alone, as deobfuscate did before it skipped strings without whitespace.
    assert deobfuscate(text) == (_OBFUSCATED_AT.sub(replace, text), lossy)


def _header_fields_line_by_line(block: str) -> dict[str, str] | str:
    # The loop parse_header used before the regex: the reference the regex must agree with.
    fields: dict[str, str] = {}
    current = ""
    for number, text in enumerate(block.split("\n")):
        if text[:1] in (" ", "\t"):
            if number == 0:
                return "broken headers: the first line after the envelope is indented"
            if current:
                fields[current] += text
            continue
        colon = text.find(":")
        name = text[:colon]
        if colon <= 0 or not name.isascii() or not name.isprintable() or " " in name.strip():
            if number == 0:
                return "broken headers: the first line after the envelope is not a header"
            break
        name = name.strip().lower()
        current = name if name in WANTED and name not in fields else ""
        if current:
            fields[current] = text[colon + 1 :]
    return fields


HEADER_LINE = st.one_of(
    st.sampled_from(["Subject: hi", "subject:again", "FROM : a at b.org", "Date:Mon, 1 Jan 2024 00:00:00 +0000", "Message-ID: <m@x>"]),
    st.sampled_from([" folded", "\tfolded", "", " ", "X-Thing: 1", "Bad Name: x", ":nameless", "Ünï: x", "Ref\x0bx: y", "Subject \t: tab"]),
    st.text(alphabet=st.sampled_from(list("aZ-_: \t\r\x7f\xe9@<>")), max_size=12),
)


@settings(max_examples=1000)
@given(lines=st.lists(HEADER_LINE, max_size=8))
def test_header_fields_agree_with_the_line_by_line_loop(lines: list[str]) -> None:
    block = "\n".join(lines)
    assert header_fields(block) == _header_fields_line_by_line(block)


@pytest.mark.realdata
def test_header_fields_agree_on_every_real_message(shared_data: Path) -> None:
    compared = 0
    for path in sorted((shared_data / "mail" / "r-package-devel").glob("*.txt")):
        with path.open("rb") as stream:
            for _line, message in split_messages(stream):
                message = message.replace(b"\r\n", b"\n")
                start = message.find(b"\n") + 1
                end = message.find(b"\n\n", start - 1)
                block = message[start : len(message) if end < 0 else end].decode("latin-1")
                assert header_fields(block) == _header_fields_line_by_line(block)
                compared += 1
    assert compared > 11_000
