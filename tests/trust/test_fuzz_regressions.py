"""Inputs the fuzzer and the property tests found crashing a reader, rebuilt by code.

Each used to escape as a raw Python exception ("internal error" at the CLI); now each is an
InputError (the whole input is unreadable) or reads cleanly (the damage is in one field).
"""

from __future__ import annotations

import json
import struct
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tests.conftest import TEST_DATA

from villagegreen.connectors.base import ReadContext
from villagegreen.connectors.registry import get_connector
from villagegreen.connectors.tree import SourceTree
from villagegreen.errors import InputError
from villagegreen.model import Message, Record


def _read(path: Path, platform: str) -> list[Record]:
    context = ReadContext(source_id="s1", source_name="regression", include_private=True, fetched_at=datetime(2024, 1, 1, tzinfo=UTC))
    with SourceTree(path) as tree:
        records: Iterator[Record] = get_connector(platform)().read(tree, context)
        return list(records)


def _slack_zip(path: Path, day: bytes) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("users.json", json.dumps([{"id": "U1", "name": "ada"}]))
        archive.writestr("channels.json", json.dumps([{"id": "C1", "name": "general", "created": 1577000000}]))
        archive.writestr("general/2021-03-01.json", day)
    return path


def test_corrupt_deflate_data_inside_a_member_is_an_input_error(tmp_path: Path) -> None:
    day = json.dumps([{"type": "message", "user": "U1", "text": f"message {n}", "ts": f"16145568{n:02d}.000100"} for n in range(99)]).encode()
    path = _slack_zip(tmp_path / "corrupt.zip", day)
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("general/2021-03-01.json")
    # The member's compressed bytes start after its 30-byte local header, name and extra field.
    name_length, extra_length = struct.unpack("<HH", data[info.header_offset + 26 : info.header_offset + 30])
    start = info.header_offset + 30 + name_length + extra_length
    for offset in range(start + 10, start + info.compress_size - 10, 7):
        data[offset] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(InputError, match="corrupt or truncated inside the archive"):
        _read(path, "slack")


def test_a_zip_claiming_an_unknown_zip_version_is_an_input_error(tmp_path: Path) -> None:
    path = _slack_zip(tmp_path / "version.zip", b"[]")
    data = bytearray(path.read_bytes())
    central = data.find(b"PK\x01\x02")
    data[central + 6 : central + 8] = struct.pack("<H", 236)  # "version needed to extract": 23.6
    path.write_bytes(bytes(data))
    with pytest.raises(InputError, match="not a readable zip archive"):
        SourceTree(path)


def test_a_member_without_a_name_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "nameless.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("channels.json", "[]")
        archive.writestr(zipfile.ZipInfo(""), b"{}")
    with pytest.raises(InputError, match="no name"):
        SourceTree(path)


def test_an_encoded_word_with_a_non_ascii_charset_name_still_imports(tmp_path: Path) -> None:
    path = tmp_path / "list.mbox"
    path.write_bytes(
        b"From a@example.org Mon Mar  1 10:00:00 2021\n"
        b"From: =?iso-8859-\xff?Q?Ren=E9?= <a@example.org>\nSubject: =?iso-8859-\xff\xff.1?Q?caf=E9?=\n"
        b"Date: Mon, 01 Mar 2021 10:00:00 +0000\nMessage-ID: <m1@example.org>\n\nhello\n"
    )
    messages = [r for r in _read(path, "mail") if isinstance(r, Message)]
    assert [m.text for m in messages] == ["hello"]


def test_a_telegram_chat_type_that_is_not_a_string_counts_as_private(tmp_path: Path) -> None:
    document = json.loads((TEST_DATA / "telegram" / "chat" / "result.json").read_text(encoding="utf-8"))
    document["type"] = []
    path = tmp_path / "result.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    records = _read(path, "telegram")
    assert sum(isinstance(r, Message) for r in records) == sum(1 for m in document["messages"] if m.get("type") == "message")


@pytest.mark.parametrize("encoding", ["u1tf-8", "utf-7"])
def test_an_xml_declaration_with_an_unknown_or_multibyte_encoding_is_an_input_error(tmp_path: Path, encoding: str) -> None:
    site = tmp_path / "fuzz.stackexchange.com"
    site.mkdir()
    (site / "Posts.xml").write_text(f'<?xml version="1.0" encoding="{encoding}"?>\n<posts>\n</posts>\n', encoding="utf-8")
    with pytest.raises(InputError, match="cannot read the file"):
        _read(site, "stackexchange")
