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
import html
import re
from email.message import Message as EmailMessage
from typing import NamedTuple

_CHARSET = re.compile(r'charset\s*=\s*"?([\w.:-]+)', re.IGNORECASE)
_TAG = re.compile(r"<(?:script|style)[^>]*>.*?</(?:script|style)>|<[^>]+>", re.IGNORECASE | re.DOTALL)
_BLANKS = re.compile(r"\n{3,}")

# One scanner finds every line that is not plain new text, so the Python loop runs per quote
# block or marker rather than per line. Each branch starts with a newline (the text is padded
# with one) because re searches a literal first character fast but tries "^" at every position.
# Attributions ("On Mon, 1 Jan 2024, Ann wrote:") may wrap onto a second line (Gmail); Outlook
# puts a "From:/Sent:" block above the original. Some clients quote with "| "; such lines
# count as quoted only right after an attribution, because tables and code start with "|" too.
_SPECIAL = re.compile(
    r"\n(?=[ \t>*\-oOaAlLeEiIdDwWfFvV])(?:(?P<quote>>.*(?:\n>.*)*)"
    r"|(?P<signature>--[ ]?(?=\n|\Z))"
    r"|(?P<original>[ \t]*-{3,}[ \t]*(?:Original Message|Ursprüngliche Nachricht|Message d'origine|Forwarded message)[ \t]*-{3,}[ \t]*(?=\n|\Z))"
    r"|(?P<attribution>[ \t]*(?:On|Am|Le|El|Il|Op|Den|Em|Dne|W dniu)[ \t].{0,300}(?:\n.{0,120})?"
    r"(?:wrote|schrieb|écrit|escribió|scritto|schreef|skrev|escreveu|napsal|napisał)[ \t]*:[ \t]*(?:\n[>|].*)*(?=\n|\Z))"
    r"|(?P<outlook>[ \t]*\*?(?:From|Von|De)[ \t]*:\*?[ \t].*\n(?:.*\n)?[ \t]*\*?(?:Sent|Date|Gesendet|Envoyé|To|An)[ \t]*:))",
    re.IGNORECASE,
)
_RULE = re.compile(r"^_{20,}[ \t]*$", re.MULTILINE)
_RULE_START = "\n" + "_" * 20
_LIST_FOOTER = re.compile(r"mailing list|/mailman/listinfo/|^To unsubscribe|^You received this message because", re.I | re.M)
_SCRUBBED = re.compile(r"\n-{5,} ?(?:next part|Part \d+ of|An? \w+ attachment was scrubbed)", re.I)
_FOOTER_TAIL = 1500
_MIME_FROM = re.compile(rb"^>(>*From )", re.M)


def body_bytes(message: bytes) -> tuple[bytes, int]:
    """The message with mbox ``>From`` escapes undone, and the offset where its body starts."""
    block_end = message.find(b"\n\n")
    start = len(message) if block_end < 0 else block_end + 2
    if b">From " in message:
        message = message[:start] + _MIME_FROM.sub(rb"\1", message[start:])
    return message, start


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
        # The default policy is compat32 (the tolerant one); naming it would import email.policy,
        # ~0.1 s of start-up for every import.
        parsed = email.message_from_bytes(message_bytes)
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
    text = "\n" + body.replace("\r\n", "\n")
    end, list_footer = _content_end(text)
    new: list[str] = []
    quoted: list[str] = []
    signature: list[str] = []
    in_signature = False
    pos = 1
    for match in _SPECIAL.finditer(text, 0, end):
        (signature if in_signature else new).append(text[pos : match.start()])
        kind = match.lastgroup
        if kind in ("original", "outlook"):
            quoted.append(text[match.start() : end])  # a top-posted reply: all below is the quoted original
            pos = end
            break
        if kind == "signature":
            in_signature = True
        else:
            quoted.append(match.group(kind or 0))
            in_signature = False
        pos = match.end()
    (signature if in_signature else new).append(text[pos:end])
    return Parts(_tidy(new, "\n\n"), _tidy(quoted, "\n"), _tidy(signature, "\n\n"), list_footer)


def _content_end(text: str) -> tuple[int, bool]:
    """Where the author's content ends: before the list footer and pipermail's attachment notes."""
    end = len(text)
    list_footer = False
    tail_start = max(0, end - _FOOTER_TAIL)
    # A rule starts a line, and every line follows a newline (the text is padded with one):
    # one substring search rules out most bodies, where the "^" regex tries every position.
    has_rule = text.find(_RULE_START, max(0, tail_start - 1)) >= 0
    rules = list(_RULE.finditer(text, tail_start)) if has_rule else []
    for rule in reversed(rules):
        after = text[rule.end() : rule.end() + 300].split("\n", 4)[:4]
        if any(_LIST_FOOTER.search(line) for line in after):
            end, list_footer = rule.start(), True
            break
    # Pipermail replaces attachments with a "next part ... was scrubbed" note: not the author's words.
    scrubbed = _SCRUBBED.search(text, 0, end)
    return (scrubbed.start() if scrubbed else end), list_footer


def _tidy(chunks: list[str], separator: str) -> str:
    if not chunks:  # no quote or no signature: most messages, so without the generator below
        return ""
    if len(chunks) > 1:
        text = separator.join(chunk.strip("\n") for chunk in chunks if chunk.strip())
    elif chunks[0].strip():
        text = chunks[0].strip("\n")
    else:
        return ""
    if " \n" in text or "\t\n" in text:
        # str.rstrip per line beats a "[ \t]+$" regex, which re tries at every space.
        text = "\n".join(map(str.rstrip, text.split("\n")))
    if "\n\n\n" in text:
        text = _BLANKS.sub("\n\n", text)
    return text.rstrip()
