"""Rendering for a platform: Slack mrkdwn from Markdown, and HTML narrowed to what a client may show.

The Markdown converted is the subset our renderers write (stories/render.py, wrap-up notes,
digests): ``#`` headings, ``- `` bullets, ``**bold**``, ``*italic*``, ``[text](url)`` links and
`` `code` ``. Slack's mrkdwn (api.slack.com/reference/surfaces/formatting) has ``*bold*``,
``_italic_``, ``<url|text>`` links and needs ``&``, ``<``, ``>`` escaped as entities.

:func:`sanitise_html` keeps the tags the Matrix spec recommends clients allow in
``formatted_body`` (client-server API, "m.room.message msgtypes", HTML subset), drops every
attribute except an ``a`` element's ``href`` with an http(s), mailto or matrix.to target, drops
``script``/``style`` with their content, and escapes all text. E-mail and the static site use it
too, so HTML from a renderer we do not own (the digest) is never sent as it came.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

ALLOWED_TAGS = frozenset({
    "font", "del", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "p", "a", "ul", "ol", "sup", "sub", "li", "b", "i", "u", "strong",
    "em", "strike", "s", "code", "hr", "br", "div", "table", "thead", "tbody", "tr", "th", "td", "caption", "pre", "span", "details", "summary",
})  # fmt: skip
_VOID = frozenset({"br", "hr"})
_DROP_WITH_CONTENT = frozenset({"script", "style", "head", "title", "iframe", "object", "template"})
_SAFE_HREF = re.compile(r"^(https?://|mailto:)", re.IGNORECASE)
# A path inside the same site: no scheme, not protocol-relative (the static site's own links).
_RELATIVE_HREF = re.compile(r"^(?![a-z][a-z0-9+.-]*:|//)[^\s]+$", re.IGNORECASE)

_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_ITALIC = re.compile(r"(?<![\*\w])\*(?!\s)(.+?)(?<!\s)\*(?![\*\w])")
_HEADING = re.compile(r"^#{1,6}\s+(.*)$")
_BULLET = re.compile(r"^(\s*)[-*]\s+(.*)$")


def slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _inline_mrkdwn(text: str) -> str:
    # Links first, so their URLs are neither escaped as text nor read as emphasis.
    out, last = [], 0
    for match in _LINK.finditer(text):
        out.append(_emphasis(slack_escape(text[last : match.start()])))
        label, url = match.group(1), match.group(2)
        out.append(f"<{url.replace('|', '%7C').replace('>', '%3E')}|{slack_escape(label).replace('|', '¦')}>")
        last = match.end()
    out.append(_emphasis(slack_escape(text[last:])))
    return "".join(out)


def _emphasis(text: str) -> str:
    bold: list[str] = []

    def keep_bold(match: re.Match[str]) -> str:
        bold.append(match.group(1))
        return f"\x00{len(bold) - 1}\x00"

    text = _BOLD.sub(keep_bold, text)
    text = _ITALIC.sub(r"_\1_", text)
    return re.sub(r"\x00(\d+)\x00", lambda m: f"*{bold[int(m.group(1))]}*", text)


def markdown_to_mrkdwn(markdown: str) -> str:
    """Slack mrkdwn for our Markdown subset: headings bold, bullets as •, links as <url|text>."""
    lines = []
    for line in markdown.splitlines():
        if heading := _HEADING.match(line):
            lines.append(f"*{_inline_mrkdwn(heading.group(1)).strip('*')}*")
        elif bullet := _BULLET.match(line):
            lines.append(f"{bullet.group(1)}• {_inline_mrkdwn(bullet.group(2))}")
        else:
            lines.append(_inline_mrkdwn(line))
    return "\n".join(lines).rstrip() + "\n"


class _Sanitiser(HTMLParser):
    def __init__(self, *, relative_links: bool = False) -> None:
        super().__init__(convert_charrefs=True)
        self.relative_links = relative_links
        self.out: list[str] = []
        self.open: list[str] = []
        self.dropping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROP_WITH_CONTENT:
            self.dropping += 1
            return
        if self.dropping or tag not in ALLOWED_TAGS:
            return
        kept = ""
        if tag == "a":
            href = dict(attrs).get("href") or ""
            if _SAFE_HREF.match(href.strip()) or (self.relative_links and _RELATIVE_HREF.match(href.strip())):
                kept = f' href="{html.escape(href.strip(), quote=True)}"'
        if tag in _VOID:
            self.out.append(f"<{tag}/>" if tag == "br" else f"<{tag}>")
            return
        self.out.append(f"<{tag}{kept}>")
        self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _VOID and not self.dropping:
            self.out.append("<br/>" if tag == "br" else "<hr>")

    def handle_endtag(self, tag: str) -> None:
        if tag in _DROP_WITH_CONTENT:
            self.dropping = max(0, self.dropping - 1)
            return
        if self.dropping or tag not in self.open:
            return
        # Close everything opened after it too, so the output is always well nested.
        while self.open:
            current = self.open.pop()
            self.out.append(f"</{current}>")
            if current == tag:
                break

    def handle_data(self, data: str) -> None:
        if not self.dropping:
            self.out.append(html.escape(data, quote=False))

    def result(self) -> str:
        self.close()
        return "".join(self.out) + "".join(f"</{tag}>" for tag in reversed(self.open))


def sanitise_html(markup: str, *, relative_links: bool = False) -> str:
    """``markup`` with only the allowed tags and safe links kept (site-relative ones too if asked), all text escaped."""
    sanitiser = _Sanitiser(relative_links=relative_links)
    sanitiser.feed(markup)
    return sanitiser.result().strip()


def html_document(title: str, body: str, *, relative_links: bool = False) -> str:
    """A complete UTF-8 page around sanitised ``body`` (e-mail and the static site)."""
    return (f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{html.escape(title)}</title></head>\n'
            f"<body>\n{sanitise_html(body, relative_links=relative_links)}\n</body></html>\n")  # fmt: skip
