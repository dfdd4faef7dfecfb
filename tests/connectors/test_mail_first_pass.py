"""The mail first pass read in runs by several processes gives what one process reading in order gives.

The reference each check compares against is independent of the runs: the whole file split by
:func:`split_with_envelopes` and each message (CRLF made LF) parsed by :func:`parse_header`,
duplicates dropped in file order, which is how the first pass worked before it was split.
"""

from __future__ import annotations

import gzip
import io
import multiprocessing
import pickle
import zipfile
from array import array
from datetime import timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from villagegreen.connectors.base import ReadContext
from villagegreen.connectors.mail import first_pass
from villagegreen.connectors.mail.connector import MailConnector
from villagegreen.connectors.mail.headers import parse_header
from villagegreen.connectors.mail.mapping import ParsedHeader
from villagegreen.connectors.mail.mbox import candidate_names, next_envelope, split_with_envelopes, split_with_offsets
from villagegreen.connectors.mail.parts import MailIndex
from villagegreen.connectors.tree import SourceTree
from villagegreen.errors import InputError
from villagegreen.model import Skipped

DATA = Path(__file__).resolve().parents[1] / "data" / "mail"
pytestmark = pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="runs are read in forked processes (Linux)")

ENVELOPES = st.sampled_from(
    [
        b"From ann@example.org Mon Jan  1 10:00:00 2024",
        b"From bob at example.org  Tue Feb 13 09:05:01 2024",
        b"From carol@example.org Wed Mar  6 23:59 2024 +0100",
    ]
)
LINES = st.sampled_from(
    [
        b"From: Ann <ann@example.org>",
        b"Date: Mon, 1 Jan 2024 10:00:00 +0000",
        b"Date: not a date",
        b"Subject: Re: hello",
        b"Message-ID: <m@x>",  # repeated: duplicates are dropped across runs too
        b"In-Reply-To: <p@x>",
        b" folded",
        b"",  # ends the headers
        b"From the body, not an envelope line",
        b">From quoted",
        b"not a header",
    ]
)


def _reference(data: bytes, name: str) -> tuple[list[ParsedHeader | None], list[int], list[tuple[str, str]]]:
    headers: list[ParsedHeader | None] = []
    offsets, skipped, seen = [], [], set()
    for line, offset, message, found in split_with_envelopes(io.BytesIO(data)):
        offsets.append(offset)
        parsed = parse_header(message.replace(b"\r\n", b"\n"), line, name, found)
        if isinstance(parsed, str):
            headers.append(None)
            skipped.append((parsed, f"{name}:{line}"))
        elif parsed.native_id in seen:
            headers.append(None)
            skipped.append(("duplicate Message-ID (a cross-post or re-sent copy); kept the first", parsed.where))
        else:
            seen.add(parsed.native_id)
            headers.append(parsed)
    return headers, offsets, skipped


def _index(path: Path, processes: int) -> MailIndex:
    with SourceTree(path) as tree:
        return MailConnector()._read_index(tree, ReadContext(source_id="s"), processes)


def _flat(index: MailIndex) -> tuple[list[ParsedHeader | None], list[int], list[tuple[str, str]]]:
    return (
        index.headers,
        [offset for starts in index.offsets.values() for offset in starts],
        [(s.reason, s.where) for s in index.skipped if s.kind == "message"],
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    messages=st.lists(st.tuples(ENVELOPES, st.lists(LINES, max_size=8), st.booleans()), min_size=1, max_size=12),
    processes=st.integers(2, 4),
)
def test_runs_read_by_several_processes_give_the_one_process_pass(
    messages: list[tuple[bytes, list[bytes], bool]], processes: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(first_pass, "SPLIT_MIN_BYTES", 0)
    text = b""
    for envelope, lines, crlf in messages:
        message = b"\n".join([envelope, *lines, b"", b"body"]) + b"\n"
        text += message.replace(b"\n", b"\r\n") if crlf else message
    path = tmp_path / "list.mbox"
    path.write_bytes(text)
    assert _flat(_index(path, processes)) == _reference(text, "list.mbox")


@settings(max_examples=60, deadline=None)
@given(messages=st.lists(st.tuples(ENVELOPES, st.lists(LINES, max_size=6)), min_size=1, max_size=8), data=st.data())
def test_next_envelope_finds_where_the_splitter_starts_the_next_message(messages: list[tuple[bytes, list[bytes]]], data: st.DataObject) -> None:
    text = b"".join(b"\n".join([envelope, *lines, b"", b"body"]) + b"\n" for envelope, lines in messages)
    after = data.draw(st.integers(1, len(text)))
    starts = [offset for _line, offset, _message in split_with_offsets(io.BytesIO(text))]
    expected = next((offset for offset in starts if offset >= after), None)
    found = next_envelope(io.BytesIO(text), after, chunk_size=data.draw(st.integers(7, 64)))
    assert (found[0] if found else None) == expected
    if found:
        assert found[1] == text.count(b"\n", 0, found[0]) + 1


def test_a_folder_with_compressed_and_zipped_files_gives_the_same_pass(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # gzipped files and zip members are read whole, by whichever process their share falls to.
    monkeypatch.setattr(first_pass, "SPLIT_MIN_BYTES", 0)
    folder = tmp_path / "list"
    folder.mkdir()
    standard = (DATA / "standard.mbox").read_bytes()
    (folder / "2024q1.txt").write_bytes((DATA / "pipermail" / "2024q1.txt").read_bytes())
    (folder / "2024q2.txt.gz").write_bytes(gzip.compress(standard))
    (folder / "2024q3.txt").write_bytes(standard + (DATA / "broken-headers.mbox").read_bytes())
    with zipfile.ZipFile(tmp_path / "list.zip", "w") as archive:
        for file in sorted(folder.iterdir()):
            archive.write(file, f"list/{file.name}")
    for path in (folder, tmp_path / "list.zip"):
        one = _flat(_index(path, 1))
        assert len(one[0]) >= 10 and any(h is None for h in one[0])
        for processes in (2, 3):
            assert _flat(_index(path, processes)) == one, (path, processes)


@pytest.mark.realdata
def test_the_real_archive_gives_the_same_pass_in_runs(shared_data: Path, tmp_path: Path) -> None:
    folder = shared_data / "mail" / "r-package-devel"
    one = _index(folder, 1)
    with SourceTree(folder) as tree:
        assert len(first_pass.plan_shares(tree, candidate_names(tree), 2)) == 2, "the archive is big enough to be shared"
    assert _flat(_index(folder, 2)) == _flat(one)
    assert _flat(_index(folder, 3)) == _flat(one)
    # The same messages as one file, cut inside it; the reference is the whole file split and parsed.
    names = [name for name in sorted(p.name for p in folder.iterdir()) if (folder / name).read_bytes()[:5] == b"From "]
    single = tmp_path / "all.mbox"
    single.write_bytes(b"".join((folder / name).read_bytes() for name in names))
    reference = _reference(single.read_bytes(), "all.mbox")
    assert len(reference[0]) > 10_000
    for processes in (2, 4):
        with SourceTree(single) as tree:
            runs = [run for share in first_pass.plan_shares(tree, ["all.mbox"], processes) for run in share]
        assert len(runs) == processes
        assert _flat(_index(single, processes)) == reference


def test_a_plain_file_is_cut_at_envelope_lines_into_one_run_per_process(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(first_pass, "SPLIT_MIN_BYTES", 0)
    body = b"From the body, not an envelope line\n>From quoted\n"
    text = b"".join(b"From ann@example.org Mon Jan  1 10:00:00 2024\nMessage-ID: <m%d@x>\n\n%s" % (k, body) for k in range(40))
    path = tmp_path / "list.mbox"
    path.write_bytes(text)
    with SourceTree(path) as tree:
        runs = [run for share in first_pass.plan_shares(tree, ["list.mbox"], 3) for run in share]
    assert [run.start for run in runs[1:]] == [run.end for run in runs[:-1]] and runs[-1].end is None
    assert len(runs) == 3 and all(text.startswith(b"From ann@", run.start) for run in runs)
    assert [run.first_line for run in runs] == [text.count(b"\n", 0, run.start) + 1 for run in runs]
    assert _flat(_index(path, 3)) == _reference(text, "list.mbox")


def test_a_helpers_result_packed_for_the_trip_back_unpacks_to_itself() -> None:
    with SourceTree(DATA / "broken-headers.mbox") as broken, SourceTree(DATA / "standard.mbox") as standard:
        results = [first_pass.read_run(tree, first_pass.Run(tree.path.name)) for tree in (broken, standard)]
    assert any(isinstance(item, Skipped) for item in results[0][2]) and any(isinstance(item, ParsedHeader) for item in results[0][2])
    name, offsets, found = results[1]
    headers = [item for item in found if isinstance(item, ParsedHeader)]
    # A send time in another zone (no parse gives one today) travels as it is, zone included.
    elsewhere = headers[0]._replace(sent_at=headers[0].sent_at.astimezone(timezone(timedelta(hours=2))))
    results.append((name, offsets, [elsewhere, *found[1:]]))
    for result in (*results, ("empty.mbox", array("q"), [])):
        packed = pickle.loads(pickle.dumps(first_pass.pack(result)))
        back = first_pass.unpack(packed)
        assert back == result
        assert [h.sent_at.tzinfo for h in back[2] if isinstance(h, ParsedHeader)] == [h.sent_at.tzinfo for h in result[2] if isinstance(h, ParsedHeader)]


def test_a_damaged_file_in_a_helpers_share_fails_the_import_as_in_one_process(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(first_pass, "SPLIT_MIN_BYTES", 0)
    folder = tmp_path / "list"
    folder.mkdir()
    (folder / "2024q1.txt").write_bytes((DATA / "standard.mbox").read_bytes() * 3)
    whole = gzip.compress((DATA / "standard.mbox").read_bytes() * 20)
    (folder / "2024q2.txt.gz").write_bytes(whole[: len(whole) // 2])  # truncated: the head still reads
    with SourceTree(folder) as tree:
        shares = first_pass.plan_shares(tree, candidate_names(tree), 2)
    assert len(shares) == 2 and shares[1][-1].name == "2024q2.txt.gz"  # read by the helper
    messages = []
    for processes in (1, 2):
        with pytest.raises(InputError, match="2024q2.txt.gz: cannot read the archive") as raised:
            _index(folder, processes)
        messages.append(str(raised.value))
    assert messages[0] == messages[1]


def test_the_first_pass_uses_no_more_processes_than_the_import_may(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert first_pass.first_pass_processes(1) == 1
    assert 1 <= first_pass.first_pass_processes(2) <= 2
    assert first_pass.first_pass_processes(64) <= first_pass.MAX_PROCESSES
    asked: list[int] = []
    planned = first_pass.plan_shares

    def spy(tree: SourceTree, archives: list[str], processes: int) -> list[list[first_pass.Run]]:
        asked.append(processes)
        return planned(tree, archives, processes)

    monkeypatch.setattr("villagegreen.connectors.mail.connector.plan_shares", spy)
    (tmp_path / "list.mbox").write_bytes((DATA / "standard.mbox").read_bytes())
    with SourceTree(tmp_path) as tree:
        MailConnector().read_parts(tree, ReadContext(source_id="s", workers=1))
    assert asked == [1]  # --workers 1: the import's own process only, whatever the CPUs
