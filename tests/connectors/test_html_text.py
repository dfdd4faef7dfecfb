"""The shared HTML-to-text renderer, in both platforms' styles, and its two tokenizers agreeing."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import TEST_DATA
from villagegreen.connectors.discourse.mapping import COOKED
from villagegreen.connectors.html_text import Style, html_to_text
from villagegreen.connectors.stackexchange.mapping import BODY

SE_EXCERPT = TEST_DATA / "stackexchange" / "conlang"
_ROW = re.compile(r"^\s*<row\b(.*?)/>\s*$")
_ATTR = re.compile(r'(\w+)="([^"]*)"')


def cooked(markup: str, *, fast: bool = True) -> tuple[str, list[str]]:
    """Discourse style: (own words, separated quotes)."""
    return html_to_text(markup, COOKED, fast=fast)


def body(markup: str, *, fast: bool = True) -> str:
    """Stack Exchange style: one text, quotes inline."""
    text, quotes = html_to_text(markup, BODY, fast=fast)
    assert quotes == []
    return text


def html_bodies(path: Path) -> list[str]:
    """Body and AboutMe attributes of a dump file, by a line regex (dumps write one row a line)."""
    found = []
    for line in path.read_text(encoding="utf-8-sig").splitlines():
        if match := _ROW.match(line):
            values = {name: html.unescape(value) for name, value in _ATTR.findall(match.group(1))}
            found.append(values.get("Body") or values.get("AboutMe") or "")
    return found


# --- Discourse style: quotes apart, paragraphs, oneboxes --------------------------------------


def test_paragraphs_breaks_entities_and_links() -> None:
    text, quotes = cooked('<p>Fish &amp; chips&nbsp;today<br>\nsecond   line</p>\n<p>See <a href="https://x.org">the docs</a>.</p>')
    assert text == "Fish & chips today\nsecond line\n\nSee the docs."
    assert quotes == []


def test_quotes_are_kept_apart_from_the_authors_words() -> None:
    markup = (
        '<aside class="quote no-group" data-username="someone"><div class="title"><div class="quote-controls"></div>'
        '<img class="avatar" src="/a.png"> someone:</div><blockquote><p>first</p><p>second</p></blockquote></aside>'
        "<p>my reply</p><blockquote><p>pasted</p></blockquote>"
    )
    text, quotes = cooked(markup)
    assert text == "my reply"
    assert quotes == ["> first\n>\n> second", "> pasted"]


def test_code_blocks_are_fenced_and_keep_their_whitespace() -> None:
    text, _ = cooked('<p>Try:</p><pre><code class="lang-cpp">if (a &lt; b) {\n    run();\n}\n</code></pre><p>ok <code>x&gt;1</code></p>')
    assert text == "Try:\n\n```cpp\nif (a < b) {\n    run();\n}\n```\n\nok `x>1`"


def test_images_oneboxes_and_lightbox_chrome() -> None:
    markup = (
        '<p><img src="e.png" class="emoji" alt=":smile:"> <img src="x.png"></p>'
        '<div class="lightbox-wrapper"><a class="lightbox" href="big.png"><img src="big.png" alt="diagram">'
        '<div class="meta"><svg><use href="#i"></use></svg><span class="informations">10×10</span></div></a></div>'
        '<aside class="onebox githubblob"><header class="source"><a href="https://git.example/f.c">git</a></header>'
        "<article><pre>int x;</pre></article></aside>"
        '<div class="lazyYT" data-youtube-id="abc123"><img src="thumb.jpg"></div>'
    )
    text, _ = cooked(markup)
    assert text == ":smile: [image]\n\ndiagram\n\nhttps://git.example/f.c\n\nhttps://www.youtube.com/watch?v=abc123"


def test_lists_and_malformed_markup() -> None:
    assert cooked("<ul><li>a</li><li>b</li></ul><ol><li>c</li></ol>")[0] == "- a\n- b\n\n1. c"
    assert cooked("<p>open <b>bold <i>x</p></div></span>trailing")[0] == "open bold x\n\ntrailing"
    assert cooked("") == ("", [])


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_converter_never_raises_on_arbitrary_text(raw: str) -> None:
    for style in (COOKED, BODY, Style()):
        text, quotes = html_to_text(raw, style)
        assert isinstance(text, str)
        assert all(isinstance(q, str) for q in quotes)


# --- Stack Exchange style: quotes inline, outline lists, rules ---------------------------------


def test_html_to_text_keeps_structure_and_drops_markup() -> None:
    markup = (
        "<p>Hello &amp; <strong>welcome</strong>, see <a href='https://example.org'>the guide</a>.</p>\n\n"
        "<blockquote>\n  <p>First quoted\nline.</p>\n  <p>Second.</p>\n</blockquote>\n"
        '<pre class="lang-py prettyprint-override"><code>if a &lt; b:\n    pass\n</code></pre>\n'
        "<ul><li>one</li><li>two<ol><li>nested</li></ol></li></ul>"
        "<p>Use <code>x&gt;1</code><br>now &eacute;t&eacute; <img src='i.png' alt='enter image description here'></p>"
    )
    assert body(markup) == (
        "Hello & welcome, see the guide.\n\n"
        "> First quoted line.\n>\n> Second.\n\n"
        "```py\nif a < b:\n    pass\n```\n\n"
        "- one\n- two\n  1. nested\n\n"
        "Use `x>1`\nnow été [image]"
    )


def test_html_to_text_edge_cases() -> None:
    assert body("") == ""
    assert body("plain &lt;text&gt;\n with  spaces") == "plain <text> with spaces"
    assert body("<pre><code>unclosed") == "```\nunclosed\n```"
    assert body("<h1>Yes.</h1>\n\n<hr>\n\n<p>Body</p>") == "Yes.\n\n---\n\nBody"
    assert body("<blockquote><blockquote><p>deep</p></blockquote></blockquote>") == "> > deep"


def test_the_styles_differ_only_where_they_say() -> None:
    markup = "<p>a<br><br>b</p><blockquote><p>q</p></blockquote><ol start='3'><li>x<ul><li>y</li></ul></li></ol><hr>"
    assert cooked(markup) == ("a\n\nb\n\n3. x\n\n- y", ["> q"])
    assert body(markup) == "a\nb\n\n> q\n\n1. x\n  - y\n\n---"


_TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\u2028\u2029\x85") | st.sampled_from(" \n\t"))


@given(_TEXT)
def test_escaped_paragraph_text_comes_back_whitespace_collapsed(text: str) -> None:
    assert body(f"<p>{html.escape(text)}</p>") == " ".join(text.split())


@given(_TEXT.filter(lambda t: "\r" not in t))
def test_code_blocks_come_back_verbatim(code: str) -> None:
    rendered = body(f"<pre><code>{html.escape(code)}</code></pre>")
    assert rendered == "```\n" + code.strip("\n") + "\n```"


# --- the fast tokenizer and HTMLParser agree ---------------------------------------------------

# Markup the fast path handles, plus some it must hand to the parser (from both platforms).
# fmt: off
_FRAGMENTS = st.sampled_from([
    "<p>", "</p>", "<br>", "<br/>", "<em>", "</em>", "<code>", "</code>", "<pre>", "</pre>", '<code class="lang-py">',
    '<a href="u">', "</a>", '<img alt="pic">', "<img>", '<img class="avatar" alt="no">', "<hr>", "<span>", "</span>",
    "word", " ", "\n", "  two  spaces ", "&amp;", "&lt;", "&#10;", "<ul>", "<li>", "</li>", "</ul>", "<blockquote>",
    "</blockquote>", '<p class="title">',
])
_TAGS = st.sampled_from([
    "<p>", "</p>", "<br>", "<br/>", "<pre>", "</pre>", "<code>", "</code>", "<blockquote>", "</blockquote>", "<ul>",
    "</ul>", "<ol>", "</ol>", "<li>", "</li>", "<a href='x'>", "</a>", '<img alt="a &amp; b">', "<!-- note -->", "<hr>",
    "<h2>", "</h2>", "&amp;", "&lt;", " ", "\n", "<", "x < y", "<script>",
])
# fmt: on
_STYLES = st.sampled_from([COOKED, BODY, Style()])


@settings(max_examples=400, deadline=None)
@given(st.lists(_FRAGMENTS, max_size=30), _STYLES)
def test_fast_path_agrees_with_the_html_parser(fragments: list[str], style: Style) -> None:
    markup = "".join(fragments)
    assert html_to_text(markup, style) == html_to_text(markup, style, fast=False)


@settings(max_examples=200)
@given(st.lists(_TAGS | st.text(max_size=5), max_size=30), _STYLES)
def test_both_html_paths_agree_on_tag_soup(parts: list[str], style: Style) -> None:
    markup = "".join(parts)
    assert html_to_text(markup, style) == html_to_text(markup, style, fast=False)


@pytest.mark.parametrize("file", ["Posts.xml", "Users.xml"])
def test_fast_tokenizer_agrees_with_html_parser(file: str) -> None:
    bodies = html_bodies(SE_EXCERPT / file)
    assert sum("<" in b for b in bodies) >= 10
    for markup in bodies:
        assert body(markup) == body(markup, fast=False)


@pytest.mark.realdata
@pytest.mark.slow
def test_fast_path_matches_html_parser_on_every_real_post(shared_data: Path) -> None:
    mismatched = []
    for path in sorted(shared_data.joinpath("discourse", "urho3d", "topics").glob("*.json")):
        for post in json.loads(path.read_bytes())["post_stream"]["posts"]:
            if cooked(post["cooked"]) != cooked(post["cooked"], fast=False):
                mismatched.append(f"{path.name}#{post['post_number']}")
    for site in ("conlang", "quantumcomputing"):
        for file in ("Posts.xml", "Users.xml"):
            for number, markup in enumerate(html_bodies(shared_data / "stackexchange" / site / file)):
                if body(markup) != body(markup, fast=False):
                    mismatched.append(f"{site}/{file} row {number}")
    assert mismatched == []
