"""Message bodies: bytes to text (transfer encodings, charsets, MIME), then new words apart from quotes.

Decoding never raises: an unknown charset falls back to UTF-8 and then Latin-1 (which maps
every byte), a broken base64 or MIME structure falls back to the undecoded text. Most list
archives (pipermail's ``.txt`` files) carry plain bodies, so the ``email`` package is only
used for multipart or encoded messages, where its robustness is worth its cost.
"""

from __future__ import annotations

import binascii
import codecs
import email
import email.policy
import html
import re
from email.message import Message as EmailMessage
from typing import NamedTuple

_CHARSET = re.compile(r'charset\s*=\s*"?([\w.:-]+)', re.IGNORECASE)
_TAG = re.compile(r"<(?:script|style)[^>]*>.*?</(?:script|style)>|<[^>]+>", re.IGNORECASE | re.DOTALL)
_BLANKS = re.compile(r"\n{3,}")

# Attribution lines ("On Mon, 1 Jan 2024, Ann wrote:") as the common clients write them; Gmail
# wraps long ones, so the ending may sit on the next line.
_ATTRIBUTION_START = re.compile(r"^\s*(?:On|Am|Le|El|Il|Op|Den|Em|Dne|W dniu)\s.{0,300}$")
_ATTRIBUTION_END = re.compile(r"(?:wrote|schrieb|écrit|escribió|scritto|schreef|skrev|escreveu|napsal|napisał)\s*:\s*$", re.IGNORECASE)
_ORIGINAL = re.compile(r"^\s*-{3,}\s*(?:Original Message|Ursprüngliche Nachricht|Message d'origine|Forwarded message)\s*-{3,}\s*$", re.I)
_OUTLOOK_FROM = re.compile(r"^\s*\*?(?:From|Von|De)\s*:\*?\s")
_OUTLOOK_NEXT = re.compile(r"^\s*\*?(?:Sent|Date|Gesendet|Envoyé|To|An)\s*:\*?\s")
_RULE = re.compile(r"^_{20,}\s*$")
_LIST_FOOTER = re.compile(r"mailing list|/mailman/listinfo/|^To unsubscribe|^You received this message because", re.I)
_SCRUBBED = re.compile(r"^-{5,} ?(?:next part|Part \d+ of|An? \w+ attachment was scrubbed)", re.I)


def decode_bytes(data: bytes, charset: str | None) -> str:
    """``data`` as text in its declared charset, else UTF-8, else Latin-1; never raises."""
    if charset:
        try:
            codecs.lookup(charset)
            return data.decode(charset, errors="replace")
        except (LookupError, ValueError):
            pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def body_text(message_bytes: bytes, body_start: int, content_type: str, transfer_encoding: str) -> str:
    """The readable text of a message whose headers end at ``body_start``."""
    kind = content_type.split(";", 1)[0].strip().lower()
    encoding = transfer_encoding.strip().lower()
    charset_match = _CHARSET.search(content_type)
    charset = charset_match.group(1) if charset_match else None
    if kind.startswith("multipart/") or kind == "message/rfc822":
        return _mime_text(message_bytes)
    raw = message_bytes[body_start:]
    try:
        if encoding == "quoted-printable":
            raw = binascii.a2b_qp(raw)
        elif encoding == "base64":
            raw = binascii.a2b_base64(raw)
    except (binascii.Error, ValueError):
        pass  # keep the undecoded bytes: readable enough, and better than losing the message
    text = decode_bytes(raw, charset)
    return _html_to_text(text) if kind == "text/html" else text


def _mime_text(message_bytes: bytes) -> str:
    try:
        parsed = email.message_from_bytes(message_bytes, policy=email.policy.compat32)
        plain = html_part = None
        for part in parsed.walk():
            if part.is_multipart() or part.get_content_disposition() == "attachment":
                continue
            kind = part.get_content_type()
            if kind == "text/plain" and plain is None:
                plain = part
            elif kind == "text/html" and html_part is None:
                html_part = part
        chosen = plain or html_part
        if chosen is None:
            return ""
        text = _part_text(chosen)
        return text if chosen is plain else _html_to_text(text)
    except Exception:  # the email package raises many types on hostile MIME; the body is best effort
        return decode_bytes(message_bytes, None)


def _part_text(part: EmailMessage) -> str:
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        return decode_bytes(payload, part.get_content_charset())
    return str(part.get_payload())


def _html_to_text(text: str) -> str:
    return html.unescape(_TAG.sub("", text))


class Parts(NamedTuple):
    text: str
    quoted: str
    signature: str
    list_footer: bool


def split_body(body: str) -> Parts:
    """Separate the author's new words from quoted text, the signature and the list footer."""
    lines = body.replace("\r\n", "\n").split("\n")
    end, list_footer = _strip_footer(lines)
    new: list[str] = []
    quoted: list[str] = []
    signature: list[str] = []
    in_signature = False
    i = 0
    while i < end:
        line = lines[i]
        if line.startswith(">"):
            quoted.append(line)
            in_signature = False
        elif _ORIGINAL.match(line) or _outlook_header(lines, i, end):
            quoted.extend(lines[i:end])  # a top-posted reply: everything below is the quoted original
            break
        elif (span := _attribution(lines, i, end)) > 0:
            quoted.extend(lines[i : i + span])
            in_signature = False
            i += span
            continue
        elif line.rstrip() == "--" or line == "-- ":
            in_signature = True
        elif in_signature:
            signature.append(line)
        else:
            new.append(line)
        i += 1
    return Parts(_tidy(new), _tidy(quoted), _tidy(signature), list_footer)


def _strip_footer(lines: list[str]) -> tuple[int, bool]:
    end = len(lines)
    for i in range(len(lines) - 1, max(len(lines) - 12, -1), -1):
        if _RULE.match(lines[i]) and any(_LIST_FOOTER.search(line) for line in lines[i + 1 : i + 4]):
            end = i
            break
    footer = end != len(lines)
    # Pipermail replaces attachments with a "next part ... was scrubbed" note: not the author's words.
    for i in range(end):
        if _SCRUBBED.match(lines[i]):
            return i, footer
    return end, footer


def _attribution(lines: list[str], i: int, end: int) -> int:
    """How many lines the attribution starting at ``i`` spans (0 if there is none)."""
    if not _ATTRIBUTION_START.match(lines[i]):
        return 0
    if _ATTRIBUTION_END.search(lines[i]):
        return 1
    if i + 1 < end and _ATTRIBUTION_END.search(lines[i + 1]) and len(lines[i + 1]) < 120:
        return 2
    return 0


def _outlook_header(lines: list[str], i: int, end: int) -> bool:
    # "From: ..." followed by "Sent:"/"Date:"/"To:" is the header block Outlook puts above the
    # original message; an ordinary sentence starting "From:" is not followed by one.
    return bool(_OUTLOOK_FROM.match(lines[i])) and any(_OUTLOOK_NEXT.match(line) for line in lines[i + 1 : min(i + 3, end)])


def _tidy(lines: list[str]) -> str:
    return _BLANKS.sub("\n\n", "\n".join(line.rstrip() for line in lines)).strip("\n")
