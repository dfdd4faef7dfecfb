"""Reading WhatsApp "Export chat" text: decoding, line stamps, date order, multi-line messages.

Every entry of an export starts with a date stamp whose shape depends on the phone's platform
and locale (``12/31/20, 9:15 PM - `` on Android, ``[31/12/2020, 21:15:07] `` on iOS); lines
without a stamp continue the previous entry. The day/month order is not written anywhere, so
it is inferred per file from every stamp in it: one first field above 12 proves day-first, one
second field above 12 proves month-first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from villagegreen.connectors.tree import SourceTree
from villagegreen.errors import InputError

DateOrder = Literal["day-first", "month-first", "year-first"]

# Spaces WhatsApp puts inside stamps: plain, no-break, and the narrow no-break space (U+202F)
# that newer iOS and Android versions write before AM/PM.
_SP = "[ \u00a0\u202f]"
_DATE = r"(?P<a>\d{1,4})(?P<sep>[./-])(?P<b>\d{1,2})(?P=sep)(?P<c>\d{2,4})\.?"
_TIME = rf"(?P<h>\d{{1,2}})[:.](?P<m>\d{{2}})(?:[:.](?P<s>\d{{2}}))?(?:{_SP}?(?P<ampm>[AaPp])\.?{_SP}?[Mm]\.?)?"
# iOS brackets the stamp and follows it with a space; Android follows it with " - ". The line
# may start with a LEFT-TO-RIGHT MARK (iOS media and system lines) or a stray BOM.
STAMP = re.compile(rf"^[\u200e\u200f\ufeff]?(?P<open>\[)?{_DATE},?{_SP}{_TIME}(?(open)\]{_SP}|{_SP}[-–]{_SP})(?P<rest>.*)$", re.S)
# Looks like the start of a dated line in some format we do not know (another calendar, words
# for months, a different separator): worth a "which locale?" error rather than "not WhatsApp".
_DATE_LIKE = re.compile(r"^[\u200e\u200f\ufeff]?\[?\d{1,4}[^\d\s]{1,3}\d{1,2}")
SUPPORTED = (
    "Android 'D/M/YY, H:MM - Name: text' and iOS '[D/M/YYYY, H:MM:SS] Name: text', "
    "with / . or - between day, month and year (or YYYY-MM-DD), 12h (AM/PM) or 24h clocks, optional seconds"
)
_MAX_BAD_SHARE = 0.1  # more replacement characters than this and the file is not text at all
# WhatsApp caps a message at 65,536 characters; a line 16 times that is not from an export, and
# refusing it early keeps a hostile 100 MB line from costing seconds per regular expression.
MAX_LINE_CHARS = 1024**2


@dataclass(slots=True)
class Entry:
    """One stamped entry: its first line number, its original lines, and the stamp's parts."""

    line: int
    lines: list[str]
    a: int
    b: int
    c: int
    year_first: bool
    hour: int
    minute: int
    second: int
    rest: str

    def body(self) -> str:
        """The entry's text after the stamp, continuation lines included."""
        return "\n".join([self.rest, *self.lines[1:]])


@dataclass(slots=True)
class Chat:
    entries: list[Entry]
    order: DateOrder
    # True when no date in the file told the order apart and day-first was assumed.
    order_assumed: bool = False
    order_conflict: bool = False
    preamble_lines: int = 0
    replaced_bytes: bool = False
    bad_stamps: list[int] = field(default_factory=list)


def decode(data: bytes, where: str) -> tuple[str, bool]:
    """The file's text (BOM removed, newlines normalised) and whether bytes had to be replaced."""
    if not data.strip():
        raise InputError(f"{where}: the file is empty; export the chat again from WhatsApp (chat menu > More > Export chat)")
    if b"\x00" in data[:65536]:
        raise InputError(f"{where}: a binary file, not a WhatsApp chat export; import the .txt or .zip that WhatsApp's 'Export chat' made")
    try:
        text, replaced = data.decode("utf-8-sig"), False
    except UnicodeDecodeError:
        text, replaced = data.decode("utf-8-sig", errors="replace"), True
        if text.count("\ufffd") > len(text) * _MAX_BAD_SHARE:
            raise InputError(f"{where}: not UTF-8 text, so not a WhatsApp chat export; import the .txt or .zip that WhatsApp's 'Export chat' made") from None
    return text.replace("\r\n", "\n").replace("\r", "\n"), replaced


def stamp_entry(line: str, number: int) -> Entry | None:
    """The entry a stamped line starts, or None for a continuation line (or a malformed stamp)."""
    match = STAMP.match(line)
    if match is None:
        return None
    a, b, c = (match.group(k) for k in ("a", "b", "c"))
    year_first = len(a) == 4
    if (year_first and len(c) > 2) or (not year_first and (len(a) > 2 or len(c) == 3)):
        return None
    hour, minute, second = int(match.group("h")), int(match.group("m")), int(match.group("s") or 0)
    if ampm := match.group("ampm"):
        if not 1 <= hour <= 12:
            return None
        # 12 AM is midnight and 12 PM is noon.
        hour = hour % 12 + (12 if ampm in "Pp" else 0)
    if hour > 23 or minute > 59 or second > 59:
        return None
    return Entry(number, [line], int(a), int(b), int(c), year_first, hour, minute, second, match.group("rest"))


def looks_dated(line: str) -> bool:
    return _DATE_LIKE.match(line) is not None


def parse_chat(text: str, where: str, replaced: bool = False) -> Chat:
    """Split ``text`` into stamped entries and infer the file's date order."""
    entries: list[Entry] = []
    preamble = 0
    for number, line in enumerate(text.split("\n"), 1):
        if len(line) > MAX_LINE_CHARS:
            raise InputError(
                f"{where}: line {number} is {len(line):,} characters long, far beyond WhatsApp's 65,536-character limit; "
                "this is not an unmodified chat export: export the chat again"
            )
        entry = stamp_entry(line, number)
        if entry is not None:
            entries.append(entry)
        elif entries:
            entries[-1].lines.append(line)
        elif line.strip():
            preamble += 1
    if not entries:
        first = next((line.strip() for line in text.split("\n") if line.strip()), "")
        if looks_dated(first):
            raise InputError(
                f"{where}: unfamiliar date format in the first line {first[:60]!r}; supported: {SUPPORTED}; "
                "switch the phone to one of these formats and export again, or report the format"
            )
        raise InputError(f"{where}: not a WhatsApp chat export (no line starts with a WhatsApp date stamp); export it with WhatsApp's 'Export chat'")
    for entry in entries:
        # The export's own final newline would otherwise become a blank continuation line.
        while len(entry.lines) > 1 and not entry.lines[-1].strip():
            entry.lines.pop()
    chat = Chat(entries, "year-first", preamble_lines=preamble, replaced_bytes=replaced)
    _infer_order(chat)
    return chat


def _infer_order(chat: Chat) -> None:
    day_first = month_first = 0
    for entry in chat.entries:
        if entry.year_first:
            continue
        day_first += entry.a > 12
        month_first += entry.b > 12
    if not any(not e.year_first for e in chat.entries):
        return
    if day_first or month_first:
        # Both kinds of evidence means a mixed or damaged file: follow the majority, and the
        # stamps that do not fit it are reported as skipped.
        chat.order = "day-first" if day_first >= month_first else "month-first"
        chat.order_conflict = bool(day_first and month_first)
    else:
        chat.order, chat.order_assumed = "day-first", True


def timestamp(entry: Entry, order: DateOrder) -> datetime | None:
    """The entry's time as UTC (exports carry no zone), or None when the date does not exist."""
    if entry.year_first:
        year, month, day = entry.a, entry.b, entry.c
    else:
        year = entry.c + 2000 if entry.c < 100 else entry.c
        day, month = (entry.a, entry.b) if order == "day-first" else (entry.b, entry.a)
    try:
        return datetime(year, month, day, entry.hour, entry.minute, entry.second, tzinfo=UTC)
    except ValueError:
        return None


def chat_names(tree: SourceTree) -> list[str]:
    """The files that may hold chats: .txt files, WhatsApp's own names first."""
    names = [name for name in tree.names() if name.lower().endswith(".txt")]
    return sorted(names, key=lambda n: (not _is_export_name(n), n))


def _is_export_name(name: str) -> bool:
    base = name.rsplit("/", 1)[-1]
    return base == "_chat.txt" or base.startswith("WhatsApp Chat")


def head_lines(tree: SourceTree, name: str, count: int = 10, size: int = 8192) -> list[str]:
    """The first non-empty lines of ``name``, read cheaply; empty when unreadable or binary."""
    try:
        with tree.open(name) as stream:
            data = stream.read(size)
    except (OSError, InputError, EOFError):
        return []
    if b"\x00" in data:
        return []
    text = data.decode("utf-8-sig", errors="replace").replace("\r", "\n")
    return [line for line in text.split("\n") if line.strip()][:count]


def starts_like_chat(lines: list[str]) -> bool:
    """An export's first line is always stamped; a second stamped line among the next few
    (or a one-line file) makes a false positive on some other dated text unlikely."""
    if not lines or stamp_entry(lines[0], 1) is None:
        return False
    return len(lines) == 1 or any(stamp_entry(line, 1) is not None for line in lines[1:])
