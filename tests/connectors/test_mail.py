"""The mail connector: mbox and pipermail archives, threading, quotes, encodings, bad input."""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from villagegreen.connectors.base import ReadContext
from villagegreen.connectors.mail.body import body_text, decode_bytes, split_body
from villagegreen.connectors.mail.connector import MailConnector
from villagegreen.connectors.mail.headers import decode_header_text, parse_header
from villagegreen.connectors.mail.mapping import deobfuscate, parse_from
from villagegreen.connectors.mail.mbox import split_messages
from villagegreen.connectors.mail.threading import ThreadInput, clean_subject, looks_like_reply, reconstruct, subject_key
from villagegreen.connectors.registry import detect
from villagegreen.connectors.tree import SourceTree
from villagegreen.errors import InputError
from villagegreen.model import Conversation, Identity, Message, RawItem, Record, Skipped, Space
from villagegreen.store import Store
from villagegreen.store.ingest import import_path

T = TypeVar("T")
DATA = Path(__file__).resolve().parent.parent / "data" / "mail"
# Independent of the connector's own envelope regex: pipermail writes "From <sender>  <asctime>".
PIPERMAIL_ENVELOPE = re.compile(r"^From \S.*  (Mon|Tue|Wed|Thu|Fri|Sat|Sun) [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}$")


def read_all(path: Path) -> list[Record]:
    with SourceTree(path) as tree:
        return list(MailConnector().read(tree, ReadContext(source_id="test")))


def of_type(records: list[Record], cls: type[T]) -> list[T]:
    return [r for r in records if isinstance(r, cls)]


# --- addresses, subjects -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "address", "name", "lossy"),
    [
        ("ann.walker at example.org (Ann Walker)", "ann.walker@example.org", "Ann Walker", False),
        ('"Walker, Ann" <Ann.Walker@Example.org>', "ann.walker@example.org", "Walker, Ann", False),
        ("Bo Lin < bo at example.org >", "bo@example.org", "Bo Lin", False),
        ("plain@example.org", "plain@example.org", "", False),
        ("@nn@w@|ker @end|ng |rom ex@mp|e@org (Ann Walker)", "@nn@w@|ker@ex@mp|e@org", "Ann Walker", True),
        ("x at example.org (Name (with) parens)", "x@example.org", "Name (with) parens", False),
    ],
)
def test_from_headers_are_deobfuscated(header: str, address: str, name: str, lossy: bool) -> None:
    assert parse_from(header) == (address, name, lossy)


def test_deobfuscate_marks_only_the_lossy_scheme() -> None:
    assert deobfuscate("kim at example.org") == ("kim@example.org", False)
    assert deobfuscate("kim @ending from ex@mple@org") == ("kim@ex@mple@org", True)


@pytest.mark.parametrize(
    ("subject", "clean"),
    [
        ("Re: [R-pkg-devel] Re: Fwd: Vignette fails", "Vignette fails"),
        ("AW: RE[2]: [list] [other]  Spaces   collapse ", "Spaces collapse"),
        ("[R-pkg-devel] \n Folded subject", "Folded subject"),
        ("Regarding the release", "Regarding the release"),
    ],
)
def test_subjects_are_normalised(subject: str, clean: str) -> None:
    assert clean_subject(subject) == clean
    assert subject_key(subject) == clean.casefold()


def test_reply_detection_ignores_forwards_and_words_starting_with_re() -> None:
    assert looks_like_reply("[list] Re: question")
    assert not looks_like_reply("Fwd: question")
    assert not looks_like_reply("Regarding the release")


# --- bodies --------------------------------------------------------------------------------


def test_quotes_attribution_signature_and_list_footer_are_separated() -> None:
    body = (
        "On Mon, 8 Jan 2024 at 10:00, Ann Walker <ann at example.org>\nwrote:\n> Is it allowed?\n>> older\n\n"
        "Yes it is.\n\n> second quote\n\nAnd one more point.\n\n-- \nBob | example.com\n\n"
        "______________________________________________\nList at lists.example.net mailing list\nhttps://lists.example.net/mailman/listinfo/list\n"
    )
    parts = split_body(body)
    assert parts.text == "Yes it is.\n\nAnd one more point."
    assert parts.quoted.startswith("On Mon, 8 Jan 2024") and "> Is it allowed?" in parts.quoted and "> second quote" in parts.quoted
    assert parts.signature == "Bob | example.com"
    assert parts.list_footer


def test_pipe_quotes_count_only_after_an_attribution() -> None:
    parts = split_body("On 1 May 2024 at 10:00, Ann wrote:\n| quoted line\n|\n| more\n\nMy answer.\n\n| a | table |\n")
    assert parts.text == "My answer.\n\n| a | table |"
    assert "| more" in parts.quoted


def test_top_posted_reply_keeps_the_original_as_quoted() -> None:
    body = "Thanks, that works.\n\nFrom: Ann Walker <ann@example.org>\nSent: Monday, 8 January 2024 10:00\nTo: list\nSubject: question\n\nOriginal text\n"
    parts = split_body(body)
    assert parts.text == "Thanks, that works."
    assert "Original text" in parts.quoted
    assert split_body("Hi\n-----Original Message-----\nold\n").text == "Hi"


def test_a_sentence_starting_with_from_is_new_text() -> None:
    assert split_body("From the manual: use Makevars.\n").text == "From the manual: use Makevars."


def test_bodies_decode_without_raising() -> None:
    latin = b"From a@b.c Mon Jan  1 00:00:00 2024\nSubject: x\n\nCaf=E9 =\ncr=E8me\n"
    start = latin.index(b"\n\n") + 2
    assert body_text(latin, start, "text/plain; charset=iso-8859-1", "quoted-printable") == "Café crème\n"
    assert body_text(b"\n\n!!notbase64", 2, "text/plain", "base64")  # falls back to the raw text
    assert decode_bytes(b"caf\xe9", "no-such-charset") == "café"
    assert decode_bytes("grüß".encode(), None) == "grüß"
    assert body_text(b"\n\n<p>a &amp; b</p>", 2, "text/html", "") == "a & b"


def test_rfc2047_words_decode_and_bad_ones_stay_readable() -> None:
    assert decode_header_text("=?UTF-8?B?Wm/DqyDDhWJlcmc=?=") == "Zoë Åberg"
    assert decode_header_text("=?x-unknown?Q?abc?=") == "=?x-unknown?Q?abc?="
    assert decode_header_text("=?UTF-8?B?not base64!?=")  # never raises


# --- splitting and headers -----------------------------------------------------------------


def test_splitter_ignores_body_lines_starting_with_from_and_survives_chunk_boundaries() -> None:
    data = (DATA / "pipermail" / "2024q1.txt").read_bytes()
    whole = list(split_messages(io.BytesIO(data)))
    assert len(whole) == 9
    assert [line for line, _ in whole] == [n for n, text in enumerate(data.decode().split("\n"), 1) if PIPERMAIL_ENVELOPE.match(text)]
    for size in (1, 7, 64, 1000):
        assert list(split_messages(io.BytesIO(data), chunk_size=size)) == whole


def test_header_parsing_reports_broken_headers() -> None:
    assert parse_header(b"From a@b.c Mon Jan  1 00:00:00 2024\nnot a header\n\nbody", 1, "f") == (
        "broken headers: the first line after the envelope is not a header"
    )
    parsed = parse_header(b"From a@b.c Mon Jan  1 00:00:00 2024\nSubject: hi\nX-Bad line\nMessage-ID: <m@x>\n\nbody", 1, "f")
    assert not isinstance(parsed, str)
    assert parsed.sent_at == datetime(2024, 1, 1, tzinfo=UTC)
    assert parsed.date_source == "envelope"


# --- threading -----------------------------------------------------------------------------


def _message(native_id: str, day: int, subject: str = "topic", links: tuple[str, ...] = (), reply: bool = False) -> ThreadInput:
    return ThreadInput(native_id, links, datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=day), subject_key(subject), reply or bool(links), "list")


def test_threading_uses_in_reply_to_then_the_last_known_reference() -> None:
    threads = reconstruct([_message("a", 0), _message("b", 1, links=("a",)), _message("c", 2, links=("missing", "b", "a")), _message("d", 3, links=("zzz",))])
    assert threads.parent == [-1, 0, 1, 0]  # d: links unresolved, same subject within 30 days
    assert threads.root == [0, 0, 0, 0]
    assert threads.how == ["", "references", "references", "subject"]


def test_subject_fallback_needs_a_reply_hint_and_a_recent_thread() -> None:
    threads = reconstruct([_message("a", 0), _message("b", 2, "Re: topic", reply=True), _message("c", 3), _message("d", 80, "Re: topic", reply=True)])
    assert threads.parent[1] == 0
    assert threads.parent[2] == -1  # a new post with the same subject starts its own thread
    assert threads.parent[3] == -1  # the subject was quiet for more than 30 days


def test_reply_cycles_are_cut_so_every_root_has_no_parent() -> None:
    threads = reconstruct([_message("a", 0, "x", links=("b",)), _message("b", 1, "y", links=("a",))])
    assert all(threads.parent[r] == -1 for r in threads.root)
    assert len(set(threads.root)) == 1


# --- fixtures end to end -------------------------------------------------------------------


def test_pipermail_fixture_threads_merges_identities_and_skips_the_duplicate() -> None:
    records = read_all(DATA / "pipermail")
    messages = {m.native_id: m for m in of_type(records, Message)}
    skipped = of_type(records, Skipped)
    assert len(messages) == 8
    assert [s.reason for s in skipped if s.kind == "message"] == ["duplicate Message-ID (a cross-post or re-sent copy); kept the first"]
    assert [s.where for s in skipped if s.kind == "file"] == ["README.txt"]
    root = messages["root-1@mail.example.org"]
    assert root.reply_to_id is None and root.conversation_id == root.id
    assert root.text.endswith("Thanks,\nAnn") and "From what I read" in root.text
    assert root.meta["signature"] == "Ann Walker | example.org" and root.meta["list_footer_removed"]
    assert messages["reply-1@example.com"].reply_to_id == root.id
    assert messages["reply-2@example.net"].reply_to_id == messages["reply-1@example.com"].id
    assert messages["reply-3@example.org"].meta["threaded_by"] == "subject"
    assert {m.conversation_id for m in messages.values() if "vendor" in m.meta["subject"]} == {root.id}
    identities = {i.native_id: i for i in of_type(records, Identity)}
    assert identities["bob@example.com"].display_name in {"Bob Müller", "Bob Muller"}
    # The lossy "@nn@w@|ker @end|ng |rom ex@mp|e@org" is the same person as the clean address.
    assert messages["reply-4@example.org"].author_id == root.author_id == identities["ann.walker@example.org"].id
    # Two lossy spellings of an address never seen in clean form still make one identity.
    assert messages["reply-5@example.org"].author_id == messages["reply-6@example.org"].author_id
    (obfuscated,) = [i for i in identities.values() if i.email is None]
    assert obfuscated.display_name == "Erin Park" and obfuscated.meta == {"address_obfuscated": True}
    assert obfuscated.id == messages["reply-5@example.org"].author_id
    (space,) = of_type(records, Space)
    assert (space.native_id, space.name, space.kind) == ("test-list.lists.example.net", "test-list", "list")
    titles = {c.title for c in of_type(records, Conversation)}
    assert titles == {"How do I vendor a C library?", "Unrelated question about tests"}
    assert all(m.sent_at.tzinfo is UTC for m in messages.values())


def test_standard_mbox_decodes_rfc2047_quoted_printable_and_mime() -> None:
    records = read_all(DATA / "standard.mbox")
    messages = {m.meta["subject"]: m for m in of_type(records, Message)}
    first = messages["Café menu — question"]
    assert first.text == "Café crème for everyone: naïve résumé."
    assert messages["Re: Café menu — question"].text == "Grüße aus Köln — a UTF-8 part."
    assert messages["Re: Café menu — question"].reply_to_id == first.id
    assert messages["Re: Café menu — question"].sent_at == datetime(2024, 3, 4, 11, tzinfo=UTC)
    no_id = messages["No message id here"]
    assert no_id.native_id.endswith("@missing-message-id.villagegreen.invalid")
    assert no_id.native_id == {m.meta["subject"]: m for m in of_type(read_all(DATA / "standard.mbox"), Message)}["No message id here"].native_id
    assert no_id.text.startswith("From the archive's point of view")  # mboxo ">From " unescaped
    bad = messages["Bad charset"]
    assert bad.text == "Café in latin-1 bytes." and bad.meta["date_source"] == "envelope"
    assert {i.display_name for i in of_type(records, Identity)} >= {"Renée François", "Bo Lin"}
    assert {s.native_id for s in of_type(records, Space)} == {"dev.lists.example.net"}
    raws = of_type(records, RawItem)
    assert json.loads(raws[0].payload)["message"].startswith("From ann@example.org Mon Mar  4 10:00:00 2024\nFrom: =?ISO-8859-1?Q?Ren=E9e")


def test_gzip_and_zip_inputs_read_like_the_folder(tmp_path: Path) -> None:
    source = (DATA / "pipermail" / "2024q1.txt").read_bytes()
    (tmp_path / "gz").mkdir()
    (tmp_path / "gz" / "2024q1.txt.gz").write_bytes(gzip.compress(source))
    with zipfile.ZipFile(tmp_path / "list.zip", "w") as archive:
        archive.writestr("test-list/2024q1.txt", source)
    expected = sorted(m.id for m in of_type(read_all(DATA / "pipermail"), Message))
    assert sorted(m.id for m in of_type(read_all(tmp_path / "gz"), Message)) == expected
    assert sorted(m.id for m in of_type(read_all(tmp_path / "list.zip"), Message)) == expected


def test_broken_headers_skip_one_message_and_import_the_rest(store: Store) -> None:
    report = import_path(store, DATA / "broken-headers.mbox")
    assert report.kind("messages").new == 2
    assert report.skipped[("message", "broken headers: the first line after the envelope is not a header")] == 1
    assert report.skipped_examples[("message", "broken headers: the first line after the envelope is not a header")] == "broken-headers.mbox:9"


@pytest.mark.parametrize("content", [bytes(range(256)) * 8, (DATA / "not-an-archive.txt").read_bytes()])
def test_non_mbox_input_is_one_clear_error_and_the_store_is_unchanged(store: Store, tmp_path: Path, content: bytes) -> None:
    import_path(store, DATA / "pipermail")
    before = store.table_counts()
    path = tmp_path / "archive.txt"
    path.write_bytes(content)
    with pytest.raises(InputError, match=r"archive\.txt: no mbox or pipermail archive found .*export the list archive as mbox") as caught:
        import_path(store, path, platform="mail")
    assert "\n" not in str(caught.value)
    with pytest.raises(InputError):  # detection refuses it too (UnknownFormatError is an InputError)
        import_path(store, path)
    assert store.table_counts() == before


def test_corrupt_gzip_is_an_input_error(tmp_path: Path) -> None:
    good = gzip.compress((DATA / "pipermail" / "2024q1.txt").read_bytes())
    (tmp_path / "2024q1.txt.gz").write_bytes(good[: len(good) // 2])
    with pytest.raises(InputError, match="2024q1.txt.gz"):
        read_all(tmp_path)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=st.binary(max_size=2000), envelope=st.booleans())
def test_arbitrary_bytes_never_raise_anything_but_input_error(body: bytes, envelope: bool) -> None:
    data = (b"From x@example.org Mon Jan  1 00:00:00 2024\n" if envelope else b"") + body
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "archive.mbox"
        path.write_bytes(data)
        try:
            records = read_all(path)
        except InputError as error:
            assert "\n" not in str(error)
            return
    for message in of_type(records, Message):
        assert message.sent_at.tzinfo is UTC and isinstance(message.text, str)


def test_identities_do_not_depend_on_hash_seeds() -> None:
    script = (
        "import sys; from pathlib import Path; from tests.connectors.test_mail import read_all, of_type; "
        "from villagegreen.model import Identity; "
        "print(sorted((i.native_id, i.display_name, i.handle) for i in of_type(read_all(Path(sys.argv[1])), Identity)))"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", script, str(DATA / "pipermail")],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
            cwd=DATA.parent.parent.parent,
        ).stdout
        for seed in ("1", "2", "3")
    }
    assert len(outputs) == 1


# --- detection -----------------------------------------------------------------------------


def test_sniff_accepts_mbox_and_pipermail_and_refuses_plain_text() -> None:
    for name in ("pipermail", "standard.mbox", "pipermail/2024q1.txt"):
        with SourceTree(DATA / name) as tree:
            assert MailConnector.sniff(tree)
    with SourceTree(DATA / "not-an-archive.txt") as tree:
        assert not MailConnector.sniff(tree)


@pytest.mark.realdata
def test_sniff_refuses_other_platforms(shared_data: Path) -> None:
    others = [p for p in (shared_data / "slack", shared_data / "discourse", shared_data / "stackexchange") for p in sorted(p.iterdir())]
    assert others
    for path in others:
        with SourceTree(path) as tree:
            assert not MailConnector.sniff(tree), path


@pytest.mark.realdata
def test_registry_detects_the_real_archive(shared_data: Path) -> None:
    with SourceTree(shared_data / "mail" / "r-package-devel") as tree:
        assert detect(tree) is MailConnector


# --- the real archive ----------------------------------------------------------------------


@pytest.mark.realdata
@pytest.mark.slow
def test_real_archive_imports_threads_and_reimports_idempotently(store: Store, shared_data: Path) -> None:
    path = shared_data / "mail" / "r-package-devel"
    envelopes = sum(1 for file in path.glob("*.txt") for line in file.read_text(encoding="latin-1").split("\n") if PIPERMAIL_ENVELOPE.match(line))
    report = import_path(store, path)
    skipped_messages = sum(count for (kind, _reason), count in report.skipped.items() if kind == "message")
    assert report.kind("messages").new + skipped_messages == envelopes
    assert envelopes > 11_000
    con = store.con
    (orphans,) = con.execute("SELECT count(*) FROM messages m JOIN messages r ON r.id = m.conversation_id WHERE r.reply_to_id IS NOT NULL").fetchone() or (
        None,
    )
    assert orphans == 0
    (roots_missing,) = con.execute("SELECT count(*) FROM messages m ANTI JOIN messages r ON r.id = m.conversation_id").fetchone() or (None,)
    assert roots_missing == 0
    (replies, total) = con.execute("SELECT count(reply_to_id), count(*) FROM messages").fetchone() or (0, 1)
    assert 0.5 < replies / total < 0.95, replies / total
    # Independent check of In-Reply-To: read it from the verbatim payloads with a plain regex.
    native = dict(con.execute("SELECT native_id, id FROM messages").fetchall())
    rows = con.execute("SELECT m.native_id, r.payload, m.reply_to_id FROM raw_items r JOIN messages m ON m.native_id = r.native_id").fetchall()
    checked = 0
    for native_id, payload, reply_to in rows:
        headers = json.loads(payload)["message"].split("\n\n", 1)[0]
        found = re.search(r"^In-Reply-To:\s*<([^<>\s]+)>", headers, re.M)
        if found and found.group(1) in native and found.group(1) != native_id:
            assert reply_to == native[found.group(1)]
            checked += 1
    assert checked > 5_000
    counts = store.table_counts()
    again = import_path(store, path)
    assert again.rows_added == 0
    after = store.table_counts()
    assert {t: n for t, n in after.items() if t != "import_runs"} == {t: n for t, n in counts.items() if t != "import_runs"}
