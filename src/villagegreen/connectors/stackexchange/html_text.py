"""Stack Exchange post bodies (rendered HTML) to readable plain text, with the stdlib only.

Analyses and stories read ``messages.text``, so the text keeps the structure a reader needs
(paragraphs, quotes as ``> `` lines, code as fenced blocks, list markers) and drops the markup.
Links become their text: the address is rarely the point and would skew keyword extraction.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

_WS = re.compile(r"\s+")
_LANG = re.compile(r"\blang-([\w+#-]+)")
# SE's image dialog pre-fills this alt text; it says nothing about the image.
_DEFAULT_ALT = "enter image description here"

_PARAGRAPHS = frozenset({"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "table", "dl", "dt", "dd", "section", "details", "summary"})
_HIDDEN = frozenset({"script", "style", "head", "title"})


class _Renderer(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._begin()

    def _begin(self) -> None:
        self.lines: list[str] = []
        self.inline: list[str] = []
        self.quote = 0
        self.pre: list[str] | None = None
        self.lists: list[int] = []  # 0 for a bullet list, else the next ordinal
        self.marker = ""
        self.blank = False
        self.blank_depth = 0
        self.hidden = 0
        self.fence = "```"

    def render(self, markup: str) -> str:
        self.reset()
        self._begin()
        self.feed(markup)
        self.close()
        if self.pre is not None:  # an unclosed <pre> still shows its code
            self._end_pre()
        self._flush()
        return "\n".join(self.lines).strip("\n")

    # -- output ---------------------------------------------------------------------------

    def _emit(self, text: str) -> None:
        if self.blank and self.lines:
            self.lines.append("> " * min(self.blank_depth, self.quote))
            self.lines[-1] = self.lines[-1].rstrip()
        self.blank = False
        prefix = "> " * self.quote
        self.lines.append(prefix + text if text else prefix.rstrip())

    def _flush(self) -> None:
        if not self.inline:
            return
        text = _WS.sub(" ", "".join(self.inline)).strip()
        self.inline.clear()
        if text:
            self._emit(self.marker + text)
            self.marker = ""

    def _block(self) -> None:
        self._flush()
        self.blank_depth = min(self.blank_depth, self.quote) if self.blank else self.quote
        self.blank = True

    def _end_pre(self) -> None:
        code = "".join(self.pre or ()).strip("\n")
        self.pre = None
        for line in (self.fence, *code.split("\n"), "```"):
            self._emit(line)
        self._block()

    # -- parser callbacks -----------------------------------------------------------------

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.pre is not None:
            return
        if tag in _PARAGRAPHS:
            self._block()
        elif tag == "br":
            self._flush()
        elif tag == "blockquote":
            self._block()
            self.quote += 1
        elif tag == "pre":
            self._block()
            self.pre = []
            match = _LANG.search(dict(attrs).get("class") or "")
            self.fence = "```" + (match.group(1) if match else "")
        elif tag in ("ul", "ol"):
            self._flush()
            if not self.lists:
                self._block()
            self.lists.append(1 if tag == "ol" else 0)
        elif tag == "li":
            self._flush()
            indent = "  " * max(len(self.lists) - 1, 0)
            if self.lists and self.lists[-1]:
                self.marker = f"{indent}{self.lists[-1]}. "
                self.lists[-1] += 1
            else:
                self.marker = f"{indent}- "
        elif tag == "code":
            self.inline.append("`")
        elif tag == "hr":
            self._block()
            self._emit("---")
            self._block()
        elif tag == "img":
            alt = (dict(attrs).get("alt") or "").strip()
            self.inline.append(f" [image: {alt}] " if alt and alt != _DEFAULT_ALT else " [image] ")
        elif tag in ("td", "th"):
            self.inline.append(" ")
        elif tag in _HIDDEN:
            self.hidden += 1

    def handle_endtag(self, tag: str) -> None:
        if self.pre is not None:
            if tag == "pre":
                self._end_pre()
            return
        if tag in _PARAGRAPHS:
            self._block()
        elif tag == "blockquote":
            self._block()
            self.quote = max(self.quote - 1, 0)
        elif tag in ("ul", "ol"):
            self._flush()
            if self.lists:
                self.lists.pop()
            if not self.lists:
                self._block()
        elif tag in ("li", "tr"):
            self._flush()
        elif tag == "code":
            self.inline.append("`")
        elif tag in _HIDDEN:
            self.hidden = max(self.hidden - 1, 0)

    def handle_data(self, data: str) -> None:
        if self.pre is not None:
            self.pre.append(data)
        elif not self.hidden:
            self.inline.append(data)


def html_to_text(markup: str) -> str:
    """Plain text of a post body; entities are unescaped, structure kept as light markdown."""
    if "<" not in markup:
        return _WS.sub(" ", html.unescape(markup)).strip()
    # A fresh parser per call (about a microsecond) keeps this function safe to call from threads.
    return _Renderer().render(markup)
