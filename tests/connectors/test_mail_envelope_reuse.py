"""The header pass reuses the splitter's envelope match instead of searching each message again.

Each check parses every message twice, once with the match :func:`split_with_envelopes` found
in its read buffer and once searching the message itself (the general path), and requires the
same result; and checks the matches against :func:`envelope` run on the message alone.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from villagegreen.connectors.mail.headers import parse_header
from villagegreen.connectors.mail.mbox import envelope, split_with_envelopes, split_with_offsets

DATA = Path(__file__).resolve().parents[1] / "data" / "mail"

ENVELOPES = st.sampled_from(
    [
        b"From ann@example.org Mon Jan  1 10:00:00 2024",
        b"From bob at example.org  Tue Feb 13 09:05:01 2024",  # pipermail's obfuscated sender
        b"From carol@example.org Wed Mar  6 23:59 2024 +0100",  # no seconds, a numeric zone
        b"From dan@example.org Thu, Apr 11 12:00:00 PDT 2024",
    ]
)
HEADERS = st.sampled_from(
    [
        b"From: Ann <ann@example.org>",
        b"From: ",  # empty: the sender comes from the envelope line
        b"Date: Mon, 1 Jan 2024 10:00:00 +0000",
        b"Date: Wed, 06 Mar 2024 22:59:00 +0000",
        b"Date: not a date",
        b"Subject: Re: hello",
        b"Message-ID: <m@x>",
        b"In-Reply-To: <p@x>",
    ]
)


def _parse_both(data: bytes, chunk: int) -> None:
    offsets = [offset for _line, offset, _message in split_with_offsets(io.BytesIO(data), chunk_size=chunk)]
    seen = []
    for line, offset, message, found in split_with_envelopes(io.BytesIO(data), chunk_size=chunk):
        seen.append(offset)
        lf = message.replace(b"\r\n", b"\n") if b"\r" in message else message
        end = lf.find(b"\n")
        again = envelope(lf, 0, end if end >= 0 else len(lf))
        assert again is not None
        assert found.groupdict() == again.groupdict()
        assert parse_header(lf, line, "f", found) == parse_header(lf, line, "f")
    assert seen == offsets


@settings(max_examples=80, deadline=None)
@given(
    messages=st.lists(st.tuples(ENVELOPES, st.lists(HEADERS, max_size=5)), min_size=1, max_size=6),
    crlf=st.booleans(),
    chunk=st.integers(1, 120),
)
def test_the_reused_match_parses_as_a_fresh_search_does(messages: list[tuple[bytes, list[bytes]]], crlf: bool, chunk: int) -> None:
    newline = b"\r\n" if crlf else b"\n"
    data = b"".join(newline.join([env, *headers, b"", b"body", b""]) for env, headers in messages)
    _parse_both(data, chunk)


@pytest.mark.parametrize("name", ["standard.mbox", "broken-headers.mbox", "pipermail/2024q1.txt"])
def test_the_fixtures_parse_as_a_fresh_search_does(name: str) -> None:
    _parse_both((DATA / name).read_bytes(), 1 << 12)


@pytest.mark.realdata
def test_the_real_archive_parses_as_a_fresh_search_does(shared_data: Path) -> None:
    files = sorted((shared_data / "mail" / "r-package-devel").glob("*.txt"))
    assert files, "no archive files: the test would prove nothing"
    for path in files:
        _parse_both(path.read_bytes(), 1 << 16)
