"""Send times: the Date header, checked against the mbox envelope line's receipt time."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from functools import cache

MONTHS = {m: i for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}
_DATE = re.compile(r"\s*(?:\w{3},\s*)?(\d{1,2})\s+(" + "|".join(MONTHS) + r")\w*\s+(\d{4})\s+(\d{1,2}):(\d\d)(?::(\d\d))?(?:\.\d+)?\s*([+-]\d{4})", re.I)
DATE_TOLERANCE = timedelta(days=7)


def send_time(value: str | None, envelope: re.Match[bytes] | None) -> tuple[datetime | None, str]:
    """When the message was sent, and "envelope" when that came from the envelope line, not the Date header."""
    fast = _DATE.match(value) if value else None
    header = None
    if fast is not None:
        header = _header_date(fast)
        if header is not None and envelope is not None and _same_day(fast, envelope):
            # The header wins (see below) without building the envelope's time: on the same
            # calendar day, with no zone on the envelope (read as UTC) and the header's under
            # 100 hours, the two cannot be DATE_TOLERANCE apart.
            return header, ""
    elif value:
        header = _email_date(value)
    fallback = _envelope_date(envelope) if envelope is not None else None
    if header is not None and (fallback is None or abs(header - fallback) <= DATE_TOLERANCE):
        return header, ""
    if fallback is not None:
        # A missing, unparsable or far-off Date header (wrong client clocks) loses to the
        # archive's receipt time.
        return fallback, "envelope"
    return header, ""


def _same_day(fast: re.Match[str], envelope: re.Match[bytes]) -> bool:
    """Whether the Date header's calendar day is the envelope's, and the envelope names no numeric zone."""
    zone = envelope["tz1"] or envelope["tz2"]
    if zone is not None and zone[:1] in (b"+", b"-"):
        return False
    day, mon, year = fast.group(1, 2, 3)
    return int(day) == int(envelope["day"]) and year.encode() == envelope["year"] and mon[:3].title().encode() == envelope["mon"]


def _header_date(fast: re.Match[str]) -> datetime | None:
    """The time of a Date header in the usual form (``_DATE``), or None when it names no real time."""
    day, mon, year, hour, minute, second, zone = fast.groups()
    try:
        # tzinfo passed by position, and no subtraction for UTC itself: the keyword argument and
        # the extra datetime cost about 0.5 µs a message (measured), a tenth of the conversion.
        parsed = datetime(int(year), MONTHS[mon[:3].title()], int(day), int(hour), int(minute), int(second or 0), 0, UTC)
        offset = _zone_offset(zone)
        return parsed - offset if offset else parsed
    except (ValueError, IndexError, OverflowError, KeyError):
        return None


def _email_date(value: str) -> datetime | None:
    """The time of a Date header in any other form the email package reads, or None."""
    try:
        parsed = parsedate_to_datetime(value)
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (TypeError, ValueError, IndexError, OverflowError, KeyError):
        return None


def _envelope_date(match: re.Match[bytes]) -> datetime | None:
    try:
        parsed = datetime(int(match["year"]), MONTHS[match["mon"].decode()], int(match["day"]), int(match["h"]), int(match["m"]), int(match["s"] or 0), 0, UTC)
    except (ValueError, OverflowError):
        return None
    zone = (match["tz1"] or match["tz2"] or b"").decode()
    if zone[:1] in ("+", "-"):
        parsed -= _zone_offset(zone)
    # mbox writers that do not know the delivery time write the epoch; that is no date at all.
    return parsed if parsed.year >= 1990 else None


@cache
def _zone_offset(zone: str) -> timedelta:
    """The UTC offset of a ``+hhmm``/``-hhmm`` zone; cached, as an archive uses few zones and
    building a timedelta was a tenth of the cost of parsing a date."""
    offset = timedelta(hours=int(zone[1:3]), minutes=int(zone[3:5]))
    return -offset if zone[0] == "-" else offset
