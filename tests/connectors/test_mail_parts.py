"""A mail archive read in parts (worker processes) ends up exactly as the one-process read.

The second pass cuts messages out at the offsets the first pass noted instead of splitting the
files again; each check compares with the splitter itself, or with the one-process import.
"""

from __future__ import annotations

import gzip
import io
import shutil
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.store_contents import table_rows
from villagegreen.connectors.base import ReadContext
from villagegreen.connectors.mail import parts as mail_parts
from villagegreen.connectors.mail.connector import MailConnector
from villagegreen.connectors.mail.mbox import cut_messages, split_messages, split_with_offsets
from villagegreen.connectors.tree import SourceTree
from villagegreen.model import Message, RawItem, Skipped
from villagegreen.store import Store
from villagegreen.store.ingest import import_path
from villagegreen.store.parallel_read import MIN_PARTS, can_fork

DATA = Path(__file__).resolve().parents[1] / "data" / "mail"
TABLES = ("raw_items", "spaces", "identities", "conversations", "messages", "people")

# An envelope, a header or two, and bodies with lines that look like envelopes but are not.
ENVELOPE = b"From ann@example.org Mon Jan  1 10:00:00 2024\n"
BODY_LINES = st.sampled_from([b"Hello", b"From here on", b">From a@b Mon Jan  1 10:00:00 2024", b"", b"\r", b"x" * 50])


@settings(max_examples=60, deadline=None)
@given(messages=st.lists(st.lists(BODY_LINES, max_size=6), min_size=1, max_size=8), chunk=st.integers(1, 200), preamble=st.booleans())
def test_cutting_at_the_offsets_gives_the_splitters_messages(messages: list[list[bytes]], chunk: int, preamble: bool) -> None:
    data = (b"" if not preamble else b"\n") + b"".join(ENVELOPE + b"Subject: s\n\n" + b"\n".join(lines) + b"\n" for lines in messages)
    whole = [message for _line, message in split_messages(io.BytesIO(data))]
    offsets = [offset for _line, offset, _message in split_with_offsets(io.BytesIO(data), chunk_size=chunk)]
    assert [data[offset : offset + len(message)] for offset, message in zip(offsets, whole, strict=True)] == whole
    assert list(cut_messages(io.BytesIO(data), offsets, chunk_size=chunk)) == whole
    # Any run of consecutive messages, cut on its own (what a part does).
    for first in range(len(offsets)):
        for end in range(first + 1, len(offsets) + 1):
            stop = offsets[end] if end < len(offsets) else None
            assert list(cut_messages(io.BytesIO(data), offsets[first:end], stop, chunk_size=chunk)) == whole[first:end]


def _context() -> ReadContext:
    return ReadContext(source_id="s", source_name="s", fetched_at=datetime(2024, 6, 1, tzinfo=UTC))


def _records(path: Path) -> list[object]:
    with SourceTree(path) as tree:
        connector = MailConnector()
        context = _context()
        return list(connector.read(tree, context))


def _parted_records(path: Path) -> list[object]:
    with SourceTree(path) as tree:
        connector = MailConnector()
        context = _context()
        parted = connector.read_parts(tree, context)
        records: list[object] = list(parted.head())
        # Parts read backwards: each must stand on the head's state alone.
        for index in reversed(range(len(parted.labels))):
            records.extend(parted.part(index))
        return records


def test_parts_of_one_message_read_in_any_order_give_the_same_records(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Three files (one gzipped): parts of two messages span file boundaries.
    folder = tmp_path / "list"
    shutil.copytree(DATA / "pipermail", folder)
    (folder / "2024q2.txt.gz").write_bytes(gzip.compress((DATA / "standard.mbox").read_bytes()))
    (folder / "2024q3.txt").write_bytes((DATA / "broken-headers.mbox").read_bytes())
    whole = _records(folder)
    monkeypatch.setattr(mail_parts, "PART_MESSAGES", 2)
    parted = _parted_records(folder)
    messages = [r for r in whole if isinstance(r, Message)]
    assert len(messages) >= 12
    assert sorted(map(repr, parted)) == sorted(map(repr, whole))
    assert [r for r in parted if isinstance(r, Skipped)] == [r for r in whole if isinstance(r, Skipped)]
    assert len({r.id for r in parted if isinstance(r, RawItem)}) == len(messages)


def test_a_zipped_archive_cut_at_offsets_reads_like_the_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with zipfile.ZipFile(tmp_path / "list.zip", "w") as archive:
        archive.writestr("test-list/2024q1.txt", (DATA / "pipermail" / "2024q1.txt").read_bytes())
    monkeypatch.setattr(mail_parts, "PART_MESSAGES", 3)
    expected = sorted(m.text for m in _records(DATA / "pipermail") if isinstance(m, Message))
    assert sorted(m.text for m in _parted_records(tmp_path / "list.zip") if isinstance(m, Message)) == expected


def _assert_same_import(path: Path, tmp_path: Path) -> None:
    with Store.open(tmp_path / "one.duckdb") as one, Store.open(tmp_path / "two.duckdb") as two:
        serial = import_path(one, path, workers=1)
        parallel = import_path(two, path, workers=2)
        for table in TABLES:
            assert table_rows(one, table) == table_rows(two, table), table
        assert serial.skipped == parallel.skipped
        assert {k: (c.new, c.updated) for k, c in serial.counts.items()} == {k: (c.new, c.updated) for k, c in parallel.counts.items()}
        ((in_store,),) = two.con.execute("SELECT count(*) FROM messages").fetchall()
        assert parallel.counts["messages"].new == in_store > 0


@pytest.mark.skipif(not can_fork(), reason="parallel reading needs fork (Linux)")
def test_two_workers_import_what_one_process_imports(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    folder = tmp_path / "list"
    shutil.copytree(DATA / "pipermail", folder)
    (folder / "2024q2.txt").write_bytes((DATA / "standard.mbox").read_bytes())
    monkeypatch.setattr(mail_parts, "PART_MESSAGES", 2)
    _assert_same_import(folder, tmp_path)


@pytest.mark.realdata
@pytest.mark.skipif(not can_fork(), reason="parallel reading needs fork (Linux)")
def test_the_real_archive_read_by_two_workers_equals_one_process(shared_data: Path, tmp_path: Path) -> None:
    path = shared_data / "mail" / "r-package-devel"
    with SourceTree(path) as tree:
        labels = MailConnector().read_parts(tree, _context()).labels
    assert len(labels) >= MIN_PARTS, "the archive would be read in one process: the test would prove nothing"
    _assert_same_import(path, tmp_path)


def test_a_compressed_file_is_never_split_across_parts(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Reaching the middle of a gzipped file means decompressing all before it, once per part.
    folder = tmp_path / "list"
    shutil.copytree(DATA / "pipermail", folder)
    (folder / "2024q2.txt.gz").write_bytes(gzip.compress((DATA / "standard.mbox").read_bytes()))
    (folder / "2024q3.txt").write_bytes((DATA / "standard.mbox").read_bytes())
    monkeypatch.setattr(mail_parts, "PART_MESSAGES", 2)
    with SourceTree(folder) as tree:
        parted = MailConnector().read_parts(tree, _context())
        boundaries = {part.end for part in parted._parts}
        ranges, first = {}, 0
        for name, starts in parted.index.offsets.items():
            ranges[name] = (first, first + len(starts))
            first += len(starts)
    gz_first, gz_last = ranges["2024q2.txt.gz"]
    plain_first, plain_last = ranges["2024q3.txt"]
    assert gz_last - gz_first > 2 and not any(gz_first < b < gz_last for b in boundaries)
    assert any(plain_first < b < plain_last for b in boundaries)  # plain files are still cut
