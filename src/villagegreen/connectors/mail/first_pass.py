"""The mail import's first pass (split, read headers, note offsets), in runs read by several processes.

Threading needs every header before any message can be mapped, so on a large archive this pass
was half of a parallel import's main process while the workers waited (profiled: 45-49% of its
samples at 100,000 messages). A run is a stretch of one archive file between two envelope lines:
the archive's bytes are cut into about equal shares, each share's runs are read in its own
process (the first share in the calling one) and the results are put back in file order, so the
headers, offsets and skipped items are those of one process reading the files in order (tested).
A file is cut only where it can be sought cheaply (a plain file that starts with an envelope
line); gzipped files and zip members go whole to one share. Results come back pickled (as
columns, see :data:`Packed`), which costs about 7 µs a message in the helper and 5-7 µs in the
caller (measured at 100,000, under load): worth it above :data:`SPLIT_MIN_BYTES`.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import re
import signal
import zlib
from array import array
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import cast

from villagegreen.connectors.mail.headers import parse_header_span
from villagegreen.connectors.mail.mapping import ParsedHeader
from villagegreen.connectors.mail.mbox import Readable, head, next_envelope, open_archive, split_spans
from villagegreen.connectors.tree import SourceTree
from villagegreen.errors import InputError
from villagegreen.model import Skipped

SPLIT_MIN_BYTES = 4 << 20  # below this, forking and pickling cost more than the second core saves
MAX_PROCESSES = 4


@dataclass(frozen=True, slots=True)
class Run:
    """Messages of one file: from the envelope line at ``start`` to ``end`` (None: the file's end)."""

    name: str
    start: int = 0
    end: int | None = None
    first_line: int = 1  # the line number of ``start``


# What reading a run gives: its file, each message's offset, and each message's header or the
# reason it is skipped (a Skipped, ``where`` naming file and line), in file order.
RunResult = tuple[str, "array[int]", list[ParsedHeader | Skipped]]


def first_pass_processes(workers: int) -> int:
    """Processes for the first pass of a parallel import: the import's ``workers``, no more than
    the CPUs this process may use, and at most four (the pass ends before the workers start, so
    it competes with none of them)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(workers, cpus, MAX_PROCESSES))


def plan_shares(tree: SourceTree, archives: list[str], processes: int) -> list[list[Run]]:
    """The archives' runs in reading order, in up to ``processes`` shares of about equal bytes."""
    whole = [[Run(name) for name in archives]]
    if processes < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return whole
    sizes = [tree.size(name) for name in archives]
    total = sum(sizes)
    if total < SPLIT_MIN_BYTES:
        return whole
    share = total / processes
    shares: list[list[Run]] = [[] for _ in range(processes)]
    position = 0  # bytes of the archives before this one
    for name, size in zip(archives, sizes, strict=True):
        cuts = [(0, 1)]  # (offset, line number) where each run of this file starts
        if tree.kind != "zip" and not name.lower().endswith(".gz") and head(tree, name, 5) == b"From ":
            with tree.open(name) as stream:
                for boundary in range(1, processes):
                    target = int(boundary * share) - position
                    if cuts[-1][0] < target < size and (found := next_envelope(stream, target, known=cuts[-1])) is not None and found[0] > cuts[-1][0]:
                        cuts.append(found)
        for k, (start, line) in enumerate(cuts):
            end = cuts[k + 1][0] if k + 1 < len(cuts) else None
            shares[min(int((position + start) / share), processes - 1)].append(Run(name, start, end, line))
        position += size
    return [runs for runs in shares if runs]


def read_shares(tree: SourceTree, shares: list[list[Run]], on_file: Callable[[str], None]) -> Iterator[RunResult]:
    """Every run's result in reading order: the first share here, the others in forked helpers."""
    if len(shares) == 1:
        for run in shares[0]:
            on_file(run.name)
            yield read_run(tree, run)
        return
    global _SHARES
    _SHARES = (tree, shares)
    pool = ProcessPoolExecutor(max_workers=len(shares) - 1, mp_context=multiprocessing.get_context("fork"), initializer=_start_helper)
    try:
        helped = [pool.submit(_read_share, index) for index in range(1, len(shares))]
        for run in shares[0]:
            on_file(run.name)
            yield read_run(tree, run)
        for future in helped:
            for packed in future.result():
                on_file(packed[0])
                yield unpack(packed)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        _SHARES = None


def read_run(tree: SourceTree, run: Run) -> RunResult:
    """One run: each message's offset and its parsed header or why it is skipped."""
    offsets: array[int] = array("q")
    found: list[ParsedHeader | Skipped] = []
    name = run.name
    for line, offset, buf, start, end, match in spans(tree, run):
        offsets.append(offset)
        parsed = parse_header_span(buf, start, end, line, name, match)
        found.append(Skipped(kind="message", reason=parsed, where=f"{name}:{line}") if isinstance(parsed, str) else parsed)
    return name, offsets, found


def spans(tree: SourceTree, run: Run) -> Iterator[tuple[int, int, bytes, int, int, re.Match[bytes]]]:
    """(line, byte offset, buffer, start, end, envelope match) of each message of a run, the
    message being ``buffer[start:end]`` with LF line ends."""
    try:
        with open_archive(tree, run.name) as stream:
            if run.start:
                stream.seek(run.start)
            bounded = stream if run.end is None else _Upto(stream, run.end - run.start)
            for line, offset, buf, start, end, match in split_spans(bounded, offset=run.start, first_line=run.first_line):
                if buf.find(b"\r", start, end) >= 0:  # rare: copied, as CRLF must become LF
                    message = buf[start:end].replace(b"\r\n", b"\n")
                    yield line, offset, message, 0, len(message), match
                else:
                    yield line, offset, buf, start, end, match
    except (OSError, EOFError, zlib.error) as error:
        raise InputError(f"{tree.describe(run.name)}: cannot read the archive ({error}); re-download or re-export it") from error


class _Upto:
    """The next ``size`` bytes of a stream, as a stream to :func:`split_spans`."""

    def __init__(self, stream: Readable, size: int) -> None:
        self._stream, self._left = stream, size

    def read(self, size: int) -> bytes:
        data = self._stream.read(min(size, self._left)) if self._left > 0 else b""
        self._left -= len(data)
        return data


# Set in the caller just before the helpers fork; each helper reads its copy.
_SHARES: tuple[SourceTree, list[list[Run]]] | None = None


def _start_helper() -> None:
    # Ctrl-C is the main process's to handle; a zip's file offset is shared across the fork.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    assert _SHARES is not None
    _SHARES[0].reopen()


def _read_share(index: int) -> list[Packed]:
    assert _SHARES is not None
    tree, shares = _SHARES
    return [pack(read_run(tree, run)) for run in shares[index]]


# A run's result as it travels back from a helper: its file, its offsets, its skipped items by
# position, and its headers, as columns with the send times as integer microseconds since the
# epoch (or, should a send time not be in UTC, as they are). Pickling 100,000 headers one by one
# cost 1.0-1.1 s to write and 0.66-0.82 s to read, as columns 0.66 s and 0.53-0.68 s with
# rebuilding them (measured under load).
Packed = tuple[str, "array[int]", list[tuple[int, Skipped]], list[ParsedHeader], list[list[object]]]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_SENT_AT = ParsedHeader._fields.index("sent_at")


def pack(result: RunResult) -> Packed:
    """A helper's result made cheap to pickle (see :data:`Packed`)."""
    name, offsets, found = result
    skipped = [(k, item) for k, item in enumerate(found) if isinstance(item, Skipped)]
    headers = [item for item in found if not isinstance(item, Skipped)]
    if not headers or not all(header.sent_at.tzinfo is UTC for header in headers):
        return name, offsets, skipped, headers, []
    columns: list[list[object]] = [list(column) for column in zip(*headers, strict=True)]
    columns[_SENT_AT] = [(cast(datetime, sent_at) - _EPOCH) // _MICROSECOND for sent_at in columns[_SENT_AT]]
    return name, offsets, skipped, [], columns


def unpack(packed: Packed) -> RunResult:
    """What :func:`pack` packed, equal to the :func:`read_run` result it came from (tested)."""
    name, offsets, skipped, headers, columns = packed
    if columns:
        columns[_SENT_AT] = [_EPOCH + _MICROSECOND * micros for micros in cast(list[int], columns[_SENT_AT])]
        headers = [ParsedHeader._make(values) for values in zip(*columns, strict=True)]
    found: list[ParsedHeader | Skipped] = []
    rest = iter(headers)
    for k, item in skipped:
        found.extend(itertools.islice(rest, k - len(found)))
        found.append(item)
    found.extend(rest)
    return name, offsets, found
