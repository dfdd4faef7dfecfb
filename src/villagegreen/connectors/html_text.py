"""Rendered HTML (Discourse ``cooked`` posts, Stack Exchange bodies) to plain text.

Analyses and stories read ``messages.text``, so the text keeps the structure a reader needs
(paragraphs, list markers, code as fenced blocks, quotes as ``> `` lines) and drops the markup.
Links become their text: the address is rarely the point and would skew keyword extraction.
One renderer serves every connector; what differs between platforms is a :class:`Style` the
connector passes in: whether quotes are kept apart from the author's words, how lists and line
breaks are laid out, what an ``<hr>`` or ``<img>`` leaves, and which platform chrome to drop.

Two paths feed the renderer the same callbacks. The fast one is the regex tokenizer in
:mod:`~villagegreen.connectors.html_tokens`, which gives up on anything irregular; the full one
is the standard library's :class:`~html.parser.HTMLParser` (no dependency), which never raises
on malformed markup. Both paths must give identical text (tests compare them on tag soup and on
every real post). Unclosed and stray end tags are matched against a stack of open elements, as
browsers do, so the renderer's output does not depend on which path tokenized the markup.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from html import unescape

from villagegreen.connectors import html_tokens
from villagegreen.connectors.html_tokens import Attrs

# fmt: off
_VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr"})
_BLOCK = frozenset({
    "p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "table", "thead", "tbody", "tfoot", "tr", "details",
    "summary", "header", "article", "section", "figure", "figcaption", "dl", "dt", "dd", "aside", "center",
})
# Elements whose content is never words anyone wrote.
_DROP = frozenset({
    "svg", "script", "style", "iframe", "video", "audio", "noscript", "template", "button", "head", "title",
})
# fmt: on
# Tags that, without attributes, only ever pass their text through: they skip the checks below.
_INLINE = frozenset({"a", "em", "strong", "b", "i", "u", "s", "span", "del", "ins", "sup", "sub", "kbd", "strike", "small"})
_PARAGRAPHS = frozenset({"p", "div", "h1", "h2", "h3", "h4", "h5", "h6"})
# Table parts that, in outline layout, leave rows on consecutive lines rather than paragraphs.
_ROWS = frozenset({"thead", "tbody", "tfoot", "tr"})
_LANG = re.compile(r"\blang-([\w+#.-]+)")
_BLANK_LINES = re.compile(r"\n{3,}")
# Marks a <br> inside a block until the block is flushed; NUL is stripped from input first.
BR = "\x00"

# Stack actions: what to undo when an element closes.
_PLAIN, _SKIP, _QUOTE, _PRE, _CODE, _BLOCKEND, _ITEM, _ROW = range(8)


def plain_image(attrs: Attrs) -> str:
    """An image as its alt text, or ``[image]``."""
    alt = (dict(attrs).get("alt") or "").strip()
    return alt or "[image]"


@dataclass(frozen=True, slots=True)
class Style:
    """How one platform's HTML becomes text; the defaults suit plain sanitised HTML."""

    # Quotes go to a separate list (analyses must see what a person wrote, not what they
    # quoted) instead of staying inline as "> " lines.
    separate_quotes: bool = False
    # Markdown-like layout: list items and table rows on consecutive lines, nested lists
    # indented under their item and numbered from 1, each marker leading its item's first
    # text, and empty lines from repeated <br> dropped. Otherwise every block is a paragraph,
    # items of one list are adjacent lines, and <ol start> is honoured.
    outline: bool = False
    # What an <hr> leaves between the paragraphs around it ("" leaves only the break).
    rule: str = ""
    # Text for an <img> from its attributes ("" drops it).
    image: Callable[[Attrs], str] = plain_image
    # Recognises a link preview from (tag, class, attrs): None if it is not one, else the URL
    # it previews, or "" to use the first link inside it. Its body is somebody else's page.
    preview: Callable[[str, str, Attrs], str | None] | None = None
    # Classes of elements that are platform chrome (quote headers, image metadata).
    drop_classes: frozenset[str] = field(default_factory=frozenset)
    # Elements whose attributes the renderer reads even without a class (the fast tokenizer
    # parses no others): a link's address only matters inside a preview.
    attribute_tags: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        tags = {"img", "pre", "code"} | ({"a"} if self.preview else set()) | (set() if self.outline else {"ol"})
        object.__setattr__(self, "attribute_tags", frozenset(tags))


class _Sink:
    """Text being built for either the author's words or one separated quote."""

    __slots__ = ("gap", "group", "last_group", "line", "low", "marker", "out", "outline")

    def __init__(self, outline: bool) -> None:
        self.outline = outline
        self.out: list[str] = []
        self.line: list[str] = []
        # Blocks of one list share a group number and are joined by single newlines.
        self.group = 0
        self.last_group = 0
        self.gap = False  # a blank line is due before the next block
        self.low = 0  # the shallowest quote depth since then: the blank line's own prefix
        self.marker = ""  # outline layout: a list marker waiting for its item's first text

    def flush(self, depth: int, gap: bool = True) -> None:
        line = self.line
        if line:
            raw = "".join(line)
            line.clear()
            # str.split() collapses the same whitespace as r"\s+", several times faster.
            if BR not in raw:
                text = " ".join(raw.split())
            elif self.outline:
                text = "\n".join(filter(None, (" ".join(part.split()) for part in raw.split(BR))))
            else:
                text = "\n".join(" ".join(part.split()) for part in raw.split(BR)).strip("\n")
                if "\n\n\n" in text:
                    text = _BLANK_LINES.sub("\n\n", text)
            if text:
                if self.marker:
                    text, self.marker = self.marker + text, ""
                self.add(text, depth)
        if gap:
            if not self.gap:
                self.gap = True
                self.low = depth
            elif depth < self.low:
                self.low = depth
        self.group = 0

    def add(self, text: str, depth: int) -> None:
        out = self.out
        if out:
            if not self.gap or (self.group and self.group == self.last_group):
                out.append("\n")
            elif depth and self.low:
                out.append("\n" + ("> " * min(self.low, depth)).rstrip() + "\n")
            else:
                out.append("\n\n")
        if depth:
            prefix = "> " * depth
            text = "\n".join(prefix + line if line else prefix.rstrip() for line in text.split("\n"))
        out.append(text)
        self.gap = False
        self.last_group = self.group


class _Renderer:
    """Callbacks from either tokenizer to text; one instance per conversion."""

    def __init__(self, style: Style) -> None:
        self.style = style
        self.own = _Sink(style.outline)
        self.sink = self.own
        self.quote_sinks: list[_Sink] = []
        self.quotes: list[str] = []
        self.depth = 0  # open inline quotes
        self.stack: list[tuple[str, int]] = []
        self.skip = 0
        self.pre = 0
        self.pre_lang = ""
        self.lists: list[list[int]] = []  # [last number (-1: bullets), group] per open list
        self.groups = 0
        self.preview_wanted = False

    def finish(self) -> tuple[str, list[str]]:
        while self.stack:
            self._undo(self.stack.pop())
        self.own.flush(0)
        return "".join(self.own.out), self.quotes

    def handle_starttag(self, tag: str, attrs: Attrs) -> None:
        if not attrs and not self.skip:
            # Hot path: without a class, these elements need none of the checks below.
            if tag in _INLINE:
                self.stack.append((tag, _PLAIN))
                return
            if tag in _PARAGRAPHS:
                self.sink.flush(self.depth)
                self.stack.append((tag, _BLOCKEND))
                return
        if tag in _VOID:
            if not self.skip:
                self._void(tag, attrs)
            return
        action = _PLAIN
        style = self.style
        if self.skip:
            action = _SKIP
            if tag == "a" and self.preview_wanted:
                self.preview_wanted = False
                self._emit_block(dict(attrs).get("href") or "[link preview]")
        else:
            cls = ""
            for name, value in attrs:
                if name == "class":
                    cls = value or ""
                    break
            if tag in _DROP or (cls and not style.drop_classes.isdisjoint(cls.split())):
                action = _SKIP
            elif cls and style.preview and (url := style.preview(tag, cls, attrs)) is not None:
                if url:
                    self._emit_block(url)
                else:
                    self.preview_wanted = True
                action = _SKIP
            elif tag == "blockquote" or (tag == "aside" and "quote" in cls.split()):
                action = self._open_quote(tag)
            elif tag == "pre":
                self._flush()
                self.pre += 1
                match = _LANG.search(cls)
                self.pre_lang = match.group(1) if match else ""
                action = _PRE
            elif tag == "code":
                if self.pre:
                    match = _LANG.search(cls)
                    if match and match.group(1) != "auto":
                        self.pre_lang = match.group(1)
                else:
                    self.sink.line.append("`")
                    action = _CODE
            elif tag == "li":
                self._open_item()
                action = _ITEM
            elif style.outline and tag in _ROWS:
                action = _ROW
            elif tag in _BLOCK:
                if tag in ("ul", "ol"):
                    self._open_list(tag, attrs)
                else:
                    self.sink.flush(self.depth)
                action = _BLOCKEND
            elif tag in ("td", "th"):
                self.sink.line.append(" ")
        if action == _SKIP:
            self.skip += 1
        self.stack.append((tag, action))

    def handle_startendtag(self, tag: str, attrs: Attrs) -> None:
        # "<br/>" and "<use .../>": an element that opens and closes at once.
        self.handle_starttag(tag, attrs)
        if tag not in _VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID:
            return
        # Close the nearest open element of this name (and anything left open inside it); a
        # stray end tag with no open element is ignored, as browsers do.
        stack = self.stack
        if stack and stack[-1][0] == tag:  # the usual case: well-nested markup
            entry = stack.pop()
            if entry[1] != _PLAIN:
                self._undo(entry)
            return
        for index in range(len(stack) - 1, -1, -1):
            if stack[index][0] == tag:
                while len(stack) > index:
                    self._undo(stack.pop())
                return

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.sink.line.append(data)

    def _flush(self, gap: bool = True) -> None:
        self.sink.flush(self.depth, gap)

    def _open_quote(self, tag: str) -> int:
        # A Discourse quote is <aside class="quote"><blockquote>; count it once.
        # Separated quotes also count a blockquote directly inside another once; inline ones
        # nest ("> > ").
        top = self.stack[-1] if self.stack else ("", _PLAIN)
        if tag == "blockquote" and top[1] == _QUOTE and (self.style.separate_quotes or top[0] == "aside"):
            return _PLAIN
        self._flush()
        if self.style.separate_quotes:
            self.sink = _Sink(self.style.outline)
            self.quote_sinks.append(self.sink)
        else:
            self.depth += 1
        return _QUOTE

    def _open_list(self, tag: str, attrs: Attrs) -> None:
        outline = self.style.outline
        self._flush(gap=not (outline and self.lists))
        number = -1
        if tag == "ol":
            start = None if outline else next((value for name, value in attrs if name == "start"), None)
            number = int(start) - 1 if start and start.isdigit() else 0
        self.groups += 1
        self.lists.append([number, self.groups])

    def _open_item(self) -> None:
        sink = self.sink
        outline = self.style.outline
        self._flush(gap=not outline)
        lists = self.lists
        if lists and not outline:
            sink.group = lists[-1][1]
        if lists and lists[-1][0] >= 0:
            lists[-1][0] += 1
            marker = f"{lists[-1][0]}. "
        else:
            marker = "- "
        if outline:
            sink.marker = "  " * max(len(lists) - 1, 0) + marker
        else:
            sink.line.append(marker)

    def _undo(self, entry: tuple[str, int]) -> None:
        tag, action = entry
        # Commonest actions first: this runs for nearly every end tag.
        if action == _BLOCKEND:
            is_list = tag in ("ul", "ol") and self.lists
            if is_list:
                self.lists.pop()
            # In outline layout only the outermost list is set off by blank lines.
            self.sink.flush(self.depth, not (is_list and self.style.outline and self.lists))
        elif action == _CODE:
            self.sink.line.append("`")
        elif action in (_ITEM, _ROW):
            self._flush(gap=not self.style.outline)
        elif action == _SKIP:
            self.skip -= 1
            if not self.skip:
                self.preview_wanted = False
        elif action == _QUOTE:
            self._flush()
            if self.style.separate_quotes:
                quote = self.quote_sinks.pop()
                self.sink = self.quote_sinks[-1] if self.quote_sinks else self.own
                body = "".join(quote.out)
                if body:
                    self.quotes.append("\n".join(f"> {line}" if line else ">" for line in body.split("\n")))
            else:
                self.depth -= 1
        elif action == _PRE:
            self.pre -= 1
            sink = self.sink
            code = "".join(sink.line).replace(BR, "\n").strip("\n")
            sink.line.clear()
            sink.add(f"```{self.pre_lang}\n{code}\n```", self.depth)
            self._flush()

    def _void(self, tag: str, attrs: Attrs) -> None:
        if tag == "br":
            self.sink.line.append(BR)
        elif tag == "img":
            text = self.style.image(attrs)
            if text:
                self.sink.line.append(text)
        elif tag == "hr":
            self._flush()
            if self.style.rule:
                self.sink.add(self.style.rule, self.depth)
                self._flush()

    def _emit_block(self, text: str) -> None:
        self._flush()
        self.sink.line.append(text)
        self._flush()


def html_to_text(markup: str, style: Style, *, fast: bool = True) -> tuple[str, list[str]]:
    """``(text, quotes)``: the text, and each separated quote as ``> `` lines (empty unless
    ``style.separate_quotes``). ``fast=False`` forces the HTMLParser path (tests compare them).
    """
    if "<" not in markup:
        # No tags at all: one paragraph, so only entities and whitespace need handling.
        return " ".join(unescape(markup).replace(BR, "").split()), []
    if BR in markup:
        markup = markup.replace(BR, "")
    # A fresh renderer per call is cheap and keeps this function safe to call from threads.
    renderer = _Renderer(style)
    if not (fast and html_tokens.feed(markup, renderer, style.attribute_tags)):
        renderer = _Renderer(style)
        html_tokens.parse(markup, renderer)
    return renderer.finish()
