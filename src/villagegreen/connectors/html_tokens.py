"""The two tokenizers behind the HTML-to-text renderer: a fast regex one and HTMLParser.

:func:`feed` is a regex tokenizer for regular HTML that drives the same callbacks as
:class:`html.parser.HTMLParser`; :func:`parse` is HTMLParser itself driving them.

Both connectors convert tens of thousands of posts, and nearly all of them come from a
sanitiser or Markdown renderer: tags with well-formed attributes, entities, no raw-text
elements. One regex over such markup is several times faster than ``HTMLParser``'s
character-level state machine. The tokenizer only accepts what it reads exactly as
``HTMLParser`` would; at anything else (a stray ``<``, an odd attribute, ``<script>``) it gives
up and :func:`feed` returns False, so the caller discards the half-built output and runs
``HTMLParser`` instead. The two paths must therefore always produce identical text: the tests
compare them on random tag soup and on every real post in the shared data sets.
"""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser
from typing import Protocol

Attrs = list[tuple[str, str | None]]

# Elements whose content HTMLParser reads as raw text (tags inside are not tags): left to it.
_RAW_TEXT = frozenset({"script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes", "plaintext"})
# A start or end tag whose attributes all follow the strict grammar, or a comment.
_TOKEN = re.compile(
    r"<(?:(/?)([a-zA-Z][a-zA-Z0-9]*)((?:\s+[^\s\"'=<>/`]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s\"'=<>`]+))?)*)\s*(/?)>|!--.*?-->)",
    re.DOTALL,
)
_ATTR = re.compile(r"([^\s\"'=<>/`]+)(?:\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s\"'=<>`]+)))?")


class Handler(Protocol):
    """The subset of HTMLParser's callbacks a renderer implements."""

    def handle_starttag(self, tag: str, attrs: Attrs) -> None: ...
    def handle_startendtag(self, tag: str, attrs: Attrs) -> None: ...
    def handle_endtag(self, tag: str) -> None: ...
    def handle_data(self, data: str) -> None: ...


def attributes(source: str) -> Attrs:
    """Attribute pairs as HTMLParser reports them: names lower-cased, values unescaped."""
    found: Attrs = []
    for match in _ATTR.finditer(source):
        name, double, single, bare = match.groups()
        value = double if double is not None else single if single is not None else bare
        found.append((name.lower(), None if value is None else unescape(value) if "&" in value else value))
    return found


def feed(markup: str, handler: Handler, attribute_tags: frozenset[str]) -> bool:
    """Tokenize ``markup`` into ``handler``; False (output half-built, to be discarded) when unsure.

    Attributes are parsed only for ``attribute_tags`` and for elements with a class; others
    are reported without attributes (parsing every ``<a href>`` would cost a fifth of the
    time on link-heavy posts), so a handler must read no other attributes.
    """
    position = 0
    start_tag, startend_tag, end_tag, data = (
        handler.handle_starttag,
        handler.handle_startendtag,
        handler.handle_endtag,
        handler.handle_data,
    )
    for token in _TOKEN.finditer(markup):
        start = token.start()
        if start > position:
            text = markup[position:start]
            if "<" in text:
                return False
            data(unescape(text) if "&" in text else text)
        position = token.end()
        closing, name, source, self_closing = token.groups()
        if name is None:  # a comment
            continue
        name = name.lower()
        if name in _RAW_TEXT:
            return False
        if closing:
            end_tag(name)
        else:
            attrs = attributes(source) if source and (name in attribute_tags or "class" in source.lower()) else []
            (startend_tag if self_closing else start_tag)(name, attrs)
    tail = markup[position:]
    if "<" in tail:
        return False
    if tail:
        data(unescape(tail) if "&" in tail else tail)
    return True


class _Adapter(HTMLParser):
    def __init__(self, handler: Handler) -> None:
        super().__init__(convert_charrefs=True)
        self.handle_starttag = handler.handle_starttag  # type: ignore[method-assign]
        self.handle_startendtag = handler.handle_startendtag  # type: ignore[method-assign]
        self.handle_endtag = handler.handle_endtag  # type: ignore[method-assign]
        self.handle_data = handler.handle_data  # type: ignore[method-assign]


def parse(markup: str, handler: Handler) -> None:
    """Tokenize ``markup`` into ``handler`` with HTMLParser, which never raises on malformed markup."""
    parser = _Adapter(handler)
    parser.feed(markup)
    parser.close()
