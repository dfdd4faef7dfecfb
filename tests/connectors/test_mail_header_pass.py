"""The first pass's parsed headers: sender fallbacks, and threading straight from them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from villagegreen.connectors.base import ReadContext
from villagegreen.connectors.mail.connector import MailConnector
from villagegreen.connectors.mail.headers import parse_header
from villagegreen.connectors.mail.parts import MailIndex
from villagegreen.connectors.mail.threading import ThreadInput, looks_like_reply, reconstruct, subject_key
from villagegreen.connectors.tree import SourceTree


def _index(path: Path) -> MailIndex:
    with SourceTree(path) as tree:
        return MailConnector()._read_index(tree, ReadContext(source_id="s", fetched_at=datetime(2024, 6, 1, tzinfo=UTC)))


def test_an_empty_from_header_falls_back_to_the_envelope_sender_and_an_empty_address_does_not() -> None:
    envelope = b"From bob at example.org  Mon Jan  1 10:00:00 2024\n"
    empty = parse_header(envelope + b"From: \nDate: Mon, 1 Jan 2024 10:00:00 +0000\nSubject: s\n\nbody\n", 1, "x")
    assert not isinstance(empty, str) and empty.address == "bob@example.org"
    angle = parse_header(envelope + b"From: Ann <>\nDate: Mon, 1 Jan 2024 10:00:00 +0000\nSubject: s\n\nbody\n", 1, "x")
    assert not isinstance(angle, str) and (angle.address, angle.name) == ("", "Ann")


@pytest.mark.realdata
def test_headers_thread_as_they_are_like_thread_inputs_built_from_them(shared_data: Path) -> None:
    # The head passes parsed headers to threading as they are, with keys computed (and cached)
    # at parse time; built the long way from each subject, the threads must be the same.
    index = _index(shared_data / "mail" / "r-package-devel")
    kept = [h for h in index.headers if h is not None]
    spaces = [h.list_id or index.listname.key for h in kept]
    inputs = [
        ThreadInput(h.native_id, h.links, h.sent_at, subject_key(h.subject), bool(h.links) or looks_like_reply(h.subject), space, h.has_in_reply_to)
        for h, space in zip(kept, spaces, strict=True)
    ]
    assert [h.subject_key for h in kept] == [i.subject_key for i in inputs]
    assert [h.reply_hint for h in kept] == [i.reply_hint for i in inputs]
    threads = reconstruct(kept, spaces)
    assert threads == reconstruct(inputs)
    assert threads.how.count("subject") > 0 and threads.how.count("in-reply-to") > 0  # both rules exercised
