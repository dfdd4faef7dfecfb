"""The header pass's shortcuts give what the general code they skip gave.

Each shortcut (header names looked up instead of checked, one ``<id>`` read without the regex,
links of at most one reference, a Date header on the envelope's day taken without building the
envelope's time, subjects without a prefix, empty body sections) is compared with the general
code it replaced, kept here as written before, or with the email package's own parse.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_tz

from hypothesis import given, settings
from hypothesis import strategies as st

# The line-by-line loop header_fields replaced, kept once, beside the first test that needs it.
from tests.connectors.test_mail_fast_paths import _header_fields_line_by_line
from villagegreen.connectors.mail import body, headers
from villagegreen.connectors.mail.body import split_body
from villagegreen.connectors.mail.headers import header_fields, parse_header
from villagegreen.connectors.mail.threading import _PREFIX, _SPACES, clean_subject

# --- the general code the shortcuts skip, as it was written before them


_ID = re.compile(r"<([^<>]+)>")


def reference_ids(value: str) -> list[str]:
    if not value:
        return []
    found = _ID.findall(value) or value.split()[:1]
    return [normalised for raw in found if (normalised := headers._normalise_id(raw))]


def reference_clean_subject(subject: str) -> str:
    previous = None
    text = subject
    while text != previous:
        previous = text
        text = _PREFIX.sub("", text, count=1)
    return _SPACES.sub(" ", text).strip()


def reference_tidy(chunks: list[str], separator: str) -> str:
    text = separator.join(chunk.strip("\n") for chunk in chunks if chunk.strip())
    if " \n" in text or "\t\n" in text:
        text = "\n".join(map(str.rstrip, text.split("\n")))
    if "\n\n\n" in text:
        text = re.sub(r"\n{3,}", "\n\n", text)
    return text.rstrip()


# --- header names

NAMES = st.sampled_from(["From", "from", "DATE", "Subject", "Message-ID", "In-Reply-To", "References", "X-Mailer", "List-Id", "Received", "Content-Type"])
ODD_NAMES = st.text(alphabet=st.sampled_from(list("aZ-_: \t\x7fé\x00")), min_size=0, max_size=6)
LINE = st.one_of(
    st.tuples(NAMES, st.sampled_from(["", " ", "  "]), st.text(max_size=20)).map(lambda t: f"{t[0]}{t[1]}:{t[2]}"),
    st.tuples(ODD_NAMES, st.text(max_size=10)).map(lambda t: f"{t[0]}:{t[1]}"),
    st.text(max_size=15).map(lambda text: " " + text),
    st.text(max_size=15).map(lambda text: "\t" + text),
    st.text(max_size=15),
)


@settings(max_examples=400)
@given(lines=st.lists(LINE.map(lambda line: line.replace("\n", "")), max_size=12))
def test_header_fields_match_the_line_by_line_checks(lines: list[str]) -> None:
    block = "\n".join(lines)
    # Twice: the first call may fill the cache of names, the second reads it.
    assert header_fields(block) == _header_fields_line_by_line(block)
    assert header_fields(block) == _header_fields_line_by_line(block)


def test_the_cache_of_header_names_stays_bounded() -> None:
    for n in range(headers._MAX_NAME_KINDS + 10):
        assert header_fields(f"X-Invented-{n}: value\nFrom: a@example.org") == {"from": " a@example.org"}
    assert len(headers._NAME_KINDS) <= headers._MAX_NAME_KINDS


# --- message ids and links

ID_PIECES = st.sampled_from(["<", ">", "a", "b@x.org", " at ", " ", "\t", "<>", "<c@y>", "d"])


@settings(max_examples=400)
@given(value=st.lists(ID_PIECES, max_size=8).map("".join))
def test_ids_match_the_regex(value: str) -> None:
    assert headers._ids(value) == reference_ids(value)


@settings(max_examples=200)
@given(
    in_reply_to=st.sampled_from(["", "<p@x>", "<q@x>", "junk"]),
    references=st.lists(st.sampled_from(["<p@x>", "<q@x>", "<r@x>"]), max_size=4).map(" ".join),
)
def test_links_are_in_reply_to_then_references_newest_first_without_repeats(in_reply_to: str, references: str) -> None:
    top = "From a@x Mon Jan  6 21:38:44 2020\nFrom: a@x\nDate: Mon, 6 Jan 2020 21:38:44 +0000\nMessage-ID: <m@x>\n"
    message = f"{top}In-Reply-To: {in_reply_to}\nReferences: {references}\n\nbody\n"
    parsed = parse_header(message.encode(), 1, "f")
    assert not isinstance(parsed, str)
    expected = reference_ids(in_reply_to)[:1] + list(reversed(reference_ids(references)))
    assert parsed.links == tuple(dict.fromkeys(expected))
    assert parsed.has_in_reply_to == bool(reference_ids(in_reply_to))


# --- send times against the email package

MOMENTS = st.datetimes(min_value=datetime(1991, 1, 1), max_value=datetime(2037, 12, 31))  # noqa: DTZ001 (naive bounds, as hypothesis wants)
ZONES = st.integers(min_value=-(99 * 60 + 59), max_value=99 * 60 + 59)


def instant(date: str) -> datetime:
    """The email package's reading of an RFC 2822 date, with zones of a day or more too."""
    fields = parsedate_tz(date)
    assert fields is not None and fields[9] is not None
    return datetime(*fields[:6], tzinfo=UTC) - timedelta(seconds=fields[9])


def envelope_line(moment: datetime, zone: str) -> str:
    return f"From a@example.org {moment:%a %b %d %H:%M:%S}{zone} {moment.year}"


@settings(max_examples=400)
@given(
    moment=MOMENTS,
    zone_minutes=ZONES,
    drift=st.integers(min_value=-9 * 24 * 60, max_value=9 * 24 * 60),
    envelope_zone=st.sampled_from(["", " -0500", " +1300", " UTC", " +9959", " -9959"]),
)
def test_the_date_header_wins_within_seven_days_of_the_envelope(moment: datetime, zone_minutes: int, drift: int, envelope_zone: str) -> None:
    sign = "-" if zone_minutes < 0 else "+"
    zone = f"{sign}{abs(zone_minutes) // 60:02d}{abs(zone_minutes) % 60:02d}"
    date = f"{moment:%a, %d %b %Y %H:%M:%S} {zone}"
    received = moment + timedelta(minutes=drift)
    message = f"{envelope_line(received, envelope_zone)}\nFrom: a@example.org\nDate: {date}\nMessage-ID: <m@x>\n\nbody\n"
    parsed = parse_header(message.encode(), 1, "f")
    assert not isinstance(parsed, str)
    header = instant(date)
    offset = envelope_zone.strip() if envelope_zone.strip()[:1] in ("+", "-") else "+0000"
    envelope = instant(f"{format_datetime(received)[:-6]} {offset}")
    if abs(header - envelope) <= timedelta(days=7):
        assert (parsed.sent_at, parsed.date_source) == (header, "")
    else:
        assert (parsed.sent_at, parsed.date_source) == (envelope, "envelope")


@given(hour=st.integers(24, 99), minute=st.integers(0, 99))
def test_a_time_of_day_that_does_not_exist_falls_back_to_the_envelope(hour: int, minute: int) -> None:
    message = f"From a@x Mon Jan  6 21:38:44 2020\nFrom: a@x\nDate: Mon, 6 Jan 2020 {hour}:{minute:02d}:00 +0000\nMessage-ID: <m@x>\n\nb\n"
    parsed = parse_header(message.encode(), 1, "f")
    assert not isinstance(parsed, str)
    assert (parsed.sent_at, parsed.date_source) == (datetime(2020, 1, 6, 21, 38, 44, tzinfo=UTC), "envelope")


# --- subjects and bodies

SUBJECT_PIECES = st.sampled_from(["Re:", "RE :", "Fwd:", "[R-pkg-devel]", "AW:", " ", "  ", "\t", "hello", "Re[2]:", "re", ":", "[", "]", "Sv: "])


@settings(max_examples=400)
@given(subject=st.lists(SUBJECT_PIECES, max_size=7).map("".join))
def test_clean_subject_matches_the_loop_it_skips(subject: str) -> None:
    assert clean_subject(subject) == reference_clean_subject(subject)


@settings(max_examples=300)
@given(chunks=st.lists(st.text(alphabet=" \t\nab", max_size=8), max_size=3), separator=st.sampled_from(["\n", "\n\n"]))
def test_body_sections_are_tidied_as_before(chunks: list[str], separator: str) -> None:
    assert body._tidy(chunks, separator) == reference_tidy(chunks, separator)


def test_a_body_without_quotes_or_signature_is_all_new_text() -> None:
    assert split_body("Hello,\n\nthe build fails.  \n") == ("Hello,\n\nthe build fails.", "", "", False)
