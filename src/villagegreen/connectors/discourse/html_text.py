"""Discourse ``cooked`` HTML to plain text, with quoted material kept apart from the author's words.

Analyses (topics, expertise, sentiment) must see what a person wrote, not what they quoted, so
``<aside class="quote">`` and ``<blockquote>`` go to a separate list of quotes, each rendered as
``> `` lines. Everything else becomes paragraphs separated by blank lines; ``<pre>`` becomes a
fenced block; links become their text; images their alt text (or ``[image]``); oneboxes (link
previews Discourse generates) collapse to the URL the author pasted, since their body is
somebody else's page; lightbox and icon chrome is dropped.

The stdlib parser is used on purpose (no dependency), and it never raises on malformed markup:
unclosed and stray end tags are matched against a stack of open elements.
"""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser

# fmt: off
_VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr"})
_BLOCK = frozenset({
    "p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "table", "thead", "tbody", "tr", "details", "summary",
    "header", "article", "section", "figure", "figcaption", "dl", "dt", "dd", "aside", "center",
})
# fmt: on
# Elements whose content is never words anyone wrote: icons, scripts, Discourse's quote header
# (avatar + "name:") and image metadata ("1000×563").
_DROP = frozenset({"svg", "script", "style", "iframe", "video", "audio", "noscript", "template", "button"})
_DROP_CLASSES = ("title", "meta", "quote-controls", "informations")
_LANG = re.compile(r"\blang-([\w+#.-]+)")
_BLANK_LINES = re.compile(r"\n{3,}")
# Marks a <br> inside a block until the block is flushed; NUL never survives into input text.
BR = "\x00"

# Stack actions: what to undo when an element closes.
_PLAIN, _SKIP, _QUOTE, _PRE, _CODE, _BLOCKEND, _ITEM = range(7)


class _Sink:
    """Blocks of text being built for either the author's words or one quote."""

    __slots__ = ("blocks", "group", "line")

    def __init__(self) -> None:
        # group: items of one list share a number and are joined by single newlines.
        self.blocks: list[tuple[str, int]] = []
        self.line: list[str] = []
        self.group = 0

    def flush(self) -> None:
        if self.line:
            # Whitespace is collapsed once per block, across inline tags; only <br> (BR) breaks lines.
            # str.split() collapses the same whitespace as r"\s+", several times faster.
            text = "\n".join(" ".join(part.split()) for part in "".join(self.line).split(BR)).strip("\n")
            self.line.clear()
            if text:
                self.blocks.append((_BLANK_LINES.sub("\n\n", text) if "\n\n\n" in text else text, self.group))
        self.group = 0

    def text(self) -> str:
        out: list[str] = []
        previous = 0
        for block, group in self.blocks:
            if out:
                out.append("\n" if group and group == previous else "\n\n")
            out.append(block)
            previous = group
        return "".join(out)


class _Converter(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._setup()

    def _setup(self) -> None:
        self.own = _Sink()
        self.quote_sinks: list[_Sink] = []
        self.quotes: list[str] = []
        self.stack: list[tuple[str, int]] = []
        self.skip = 0
        self.pre = 0
        self.pre_lang = ""
        self.lists: list[list[int]] = []
        self.onebox_wanted = False
        self.groups = 0

    def convert(self, html: str) -> tuple[str, list[str]]:
        self.reset()
        self._setup()
        self.feed(html)
        self.close()
        while self.stack:
            self._undo(self.stack.pop())
        self.own.flush()
        return self.own.text(), self.quotes

    @property
    def sink(self) -> _Sink:
        return self.quote_sinks[-1] if self.quote_sinks else self.own

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _VOID:
            if not self.skip:
                self._void(tag, attrs)
            return
        action = _PLAIN
        if self.skip:
            action = _SKIP
            if tag == "a" and self.onebox_wanted:
                self.onebox_wanted = False
                self._emit_block(dict(attrs).get("href") or "[link preview]")
        else:
            cls = next((value or "" for name, value in attrs if name == "class"), "")
            if tag in _DROP or (cls and any(c in _DROP_CLASSES for c in cls.split())):
                action = _SKIP
            elif ("onebox" in cls and tag in ("aside", "div", "pre")) or "lazyYT" in cls:
                self._onebox(attrs)
                action = _SKIP
            elif tag == "blockquote" or (tag == "aside" and "quote" in cls.split()):
                # A Discourse quote is <aside class="quote"><blockquote>; count it once.
                if self.stack and self.stack[-1][1] == _QUOTE and tag == "blockquote":
                    action = _PLAIN
                else:
                    self.sink.flush()
                    self.quote_sinks.append(_Sink())
                    action = _QUOTE
            elif tag == "pre":
                self.sink.flush()
                self.pre += 1
                self.pre_lang = ""
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
                sink = self.sink
                sink.flush()
                if self.lists:
                    sink.group = self.lists[-1][1]
                if self.lists and self.lists[-1][0] >= 0:
                    self.lists[-1][0] += 1
                    sink.line.append(f"{self.lists[-1][0]}. ")
                else:
                    sink.line.append("- ")
                action = _ITEM
            elif tag in _BLOCK:
                self.sink.flush()
                if tag in ("ul", "ol"):
                    start = next((value for name, value in attrs if name == "start"), None)
                    number = (int(start) - 1 if start and start.isdigit() else 0) if tag == "ol" else -1
                    self.groups += 1
                    self.lists.append([number, self.groups])
                action = _BLOCKEND
            elif tag in ("td", "th"):
                self.sink.line.append(" ")
        if action == _SKIP:
            self.skip += 1
        self.stack.append((tag, action))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # "<br/>" and "<use .../>": an element that opens and closes at once.
        self.handle_starttag(tag, attrs)
        if tag not in _VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID:
            return
        # Close the nearest open element of this name (and anything left open inside it); a
        # stray end tag with no open element is ignored, as browsers do.
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index][0] == tag:
                while len(self.stack) > index:
                    self._undo(self.stack.pop())
                return

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.sink.line.append(data)

    def _undo(self, entry: tuple[str, int]) -> None:
        tag, action = entry
        if action == _SKIP:
            self.skip -= 1
            if not self.skip:
                self.onebox_wanted = False
        elif action == _QUOTE:
            quote = self.quote_sinks.pop()
            quote.flush()
            body = quote.text()
            if body:
                self.quotes.append("\n".join(f"> {line}" if line else ">" for line in body.split("\n")))
        elif action == _PRE:
            self.pre -= 1
            sink = self.sink
            code = "".join(sink.line).replace(BR, "\n").strip("\n")
            sink.line.clear()
            sink.blocks.append((f"```{self.pre_lang}\n{code}\n```", 0))
        elif action == _CODE:
            self.sink.line.append("`")
        elif action in (_BLOCKEND, _ITEM):
            self.sink.flush()
            if tag in ("ul", "ol") and self.lists:
                self.lists.pop()

    def _void(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.sink.line.append(BR)
        elif tag == "img":
            values = dict(attrs)
            cls = values.get("class") or ""
            if "avatar" in cls or "site-icon" in cls:
                return
            alt = (values.get("alt") or "").strip()
            self.sink.line.append(alt if alt else "[image]")
        elif tag == "hr":
            self.sink.flush()

    def _onebox(self, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        url = values.get("data-onebox-src") or ""
        if not url and values.get("data-youtube-id"):
            url = f"https://www.youtube.com/watch?v={values['data-youtube-id']}"
        if url:
            self._emit_block(url)
        else:
            # Older oneboxes carry the pasted URL only on their first link.
            self.onebox_wanted = True

    def _emit_block(self, text: str) -> None:
        sink = self.sink
        sink.flush()
        sink.line.append(text)
        sink.flush()


# One parser reused for every post (building one costs more than a short post's conversion);
# imports run on one thread, and convert() resets all state first.
_CONVERTER = _Converter()

# Most posts are paragraphs of inline markup, images and code blocks. Tokenising those with one
# regex is about 1.5 times faster than HTMLParser; anything else (or anything this tokenizer could read differently
# from HTMLParser) takes the full path. Tests check both paths agree on every real post.
_TAG = re.compile(r"""<(/?)([a-zA-Z][a-zA-Z0-9]*+)((?:\s(?:[^>"'</]++|"[^"<]*+"|'[^'<]*+'|/(?!>))*+)?)/?>""")
_CLASS = re.compile(r"""\bclass\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""")
_INLINE = frozenset({"em", "strong", "b", "i", "u", "s", "a", "span", "del", "ins", "sup", "sub", "kbd", "strike", "small", "abbr", "mark"})
_ALT = re.compile(r"""(?:^|\s)alt\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""", re.IGNORECASE)
_RISKY_CLASSES = frozenset({*_DROP_CLASSES, "lazyYT", "onebox"})


def _fast(html: str) -> tuple[str, list[str]] | None:
    sink = _Sink()
    line = sink.line
    in_p = in_code = in_pre = False
    lang = ""
    pos = 0
    for match in _TAG.finditer(html):
        data = html[pos : match.start()]
        pos = match.end()
        if data:
            if "<" in data:
                return None
            line.append(unescape(data))
        closing, tag, attrs = match.group(1), match.group(2).lower(), match.group(3)
        cls = ""
        if attrs and "class" in attrs:
            found = _CLASS.search(attrs)
            if found is None:
                return None
            cls = "".join(g or "" for g in found.groups())
            if not _RISKY_CLASSES.isdisjoint(cls.split()):
                return None
        if in_pre:
            if tag == "code" and bool(closing) == in_code:
                in_code = not closing
                found = None if closing else _LANG.search(cls)
                if found and found.group(1) != "auto":
                    lang = found.group(1)
            elif tag == "pre" and closing and not in_code:
                in_pre = False
                code = "".join(line).strip("\n")
                line.clear()
                sink.blocks.append((f"```{lang}\n{code}\n```", 0))
            else:
                return None
        elif tag == "br":
            if not closing:
                line.append(BR)
        elif tag == "p":
            if bool(closing) != in_p:
                return None
            in_p = not closing
            sink.flush()
        elif tag == "code":
            if bool(closing) != in_code:
                return None
            in_code = not closing
            line.append("`")
        elif tag == "pre":
            if closing or in_code:
                return None
            sink.flush()
            in_pre, lang = True, ""
        elif tag == "img":
            if closing or "avatar" in cls or "site-icon" in cls:
                continue
            alts = _ALT.findall(attrs)
            if len(alts) > 1:
                return None
            alt = unescape("".join(alts[0])).strip() if alts else ""
            line.append(alt or "[image]")
        elif tag == "hr":
            if not closing:
                sink.flush()
        elif tag not in _INLINE:
            return None
    data = html[pos:]
    if "<" in data or in_code or in_pre:
        return None
    if data:
        line.append(unescape(data))
    sink.flush()
    return sink.text(), []


def html_to_text(html: str) -> tuple[str, list[str]]:
    """``(text, quotes)``: the author's own words, and each quoted passage as ``> `` lines."""
    if BR in html:
        html = html.replace(BR, "")
    return _fast(html) or _CONVERTER.convert(html)


def html_to_text_full(html: str) -> tuple[str, list[str]]:
    """The HTMLParser path alone (tests compare it with the fast path)."""
    return _CONVERTER.convert(html.replace(BR, ""))
