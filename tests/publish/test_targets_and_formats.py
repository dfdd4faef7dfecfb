"""[[targets]] parsing, Slack mrkdwn and the HTML sanitiser."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest

from villagegreen.errors import ConfigError
from villagegreen.publish.formats import markdown_to_mrkdwn, sanitise_html
from villagegreen.publish.targets import find_target, load_targets

from .conftest import write_config


def test_targets_are_read_and_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = write_config(tmp_path / "vg.toml",
                          {"name": "news", "kind": "email", "smtp_host": "smtp.example.org", "sender": "a@example.org", "recipients": ["b@example.org"]},
                          {"name": "hook", "kind": "slack", "webhook_env": "HOOK"},
                          {"name": "forum", "kind": "discourse", "url": "https://forum.example.org/", "username": "bot", "token_env": "T",
                           "category": 4})  # fmt: skip
    targets = load_targets(config)
    assert [(t.name, t.kind) for t in targets] == [("news", "email"), ("hook", "slack"), ("forum", "discourse")]
    assert find_target("forum", config).text("url") == "https://forum.example.org"  # trailing slash dropped
    monkeypatch.setenv("VILLAGEGREEN_CONFIG", str(config))
    assert find_target("hook").get("webhook_env") == "HOOK"


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"name": "x", "kind": "fax"}, "kind 'fax'; choose one of"),
        ({"name": "x", "kind": "matrix", "homeserver": "https://m.example.org", "token_env": "T"}, "needs 'room'"),
        ({"name": "x", "kind": "site", "path": "p", "token": "abc"}, "unknown key 'token'"),
        ({"name": "x", "kind": "email", "smtp_host": "h", "sender": "s@x", "recipients": ["nobody"]}, "recipients must be a list of e-mail addresses"),
        ({"name": "x", "kind": "discourse", "url": "u", "username": "b", "token_env": "T", "category": "general"}, "category must be a whole number"),
        ({"kind": "site", "path": "p"}, "has no name"),
    ],
)
def test_bad_targets_are_one_line(tmp_path: Path, entry: dict[str, object], message: str) -> None:
    config = write_config(tmp_path / "vg.toml", entry)
    with pytest.raises(ConfigError, match=message) as caught:
        load_targets(config)
    assert "\n" not in str(caught.value)


def test_duplicate_names_and_bad_toml(tmp_path: Path) -> None:
    config = write_config(tmp_path / "vg.toml", {"name": "a", "kind": "site", "path": "p"}, {"name": "a", "kind": "site", "path": "q"})
    with pytest.raises(ConfigError, match="two targets are called 'a'"):
        load_targets(config)
    (tmp_path / "bad.toml").write_text("[[targets]\nname = ")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_targets(tmp_path / "bad.toml")


def test_mrkdwn() -> None:
    markdown = "# A & B <title>\n\n- **bold** and *italic* see [the q](https://x.example/q/1?a=1&b=2)\n- `code` stays\n"
    assert markdown_to_mrkdwn(markdown) == ("*A &amp; B &lt;title&gt;*\n\n• *bold* and _italic_ see <https://x.example/q/1?a=1&b=2|the q>\n• `code` stays\n")


class Parsed(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += attrs

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_sanitiser_keeps_the_allowed_subset() -> None:
    dirty = ('<article class="story"><h1 onclick="x()">Hi</h1><script>alert(1)</script><p>a <b>b</b> &lt;c&gt;'
             '<a href="javascript:alert(1)">bad</a> <a href="https://ok.example/x" target="_blank">ok</a><img src="x"></p>'
             '<ul><li>open')  # fmt: skip
    clean = sanitise_html(dirty)
    parsed = Parsed()
    parsed.feed(clean)
    assert parsed.tags == ["h1", "p", "b", "a", "a", "ul", "li"]
    assert parsed.attrs == [("href", "https://ok.example/x")]
    assert "alert" not in clean and "<c>" not in clean and "&lt;c&gt;" in clean
    assert clean.endswith("</li></ul>")  # unclosed tags closed
    # Site-relative links survive only where asked (the static site's own index), never a scheme.
    assert sanitise_html('<a href="story/1.html">s</a>') == "<a>s</a>"
    assert sanitise_html('<a href="story/1.html">s</a><a href="data:x">d</a>', relative_links=True) == '<a href="story/1.html">s</a><a>d</a>'
