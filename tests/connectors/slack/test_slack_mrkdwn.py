from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from villagegreen.connectors.slack.mrkdwn import mentioned_users, to_plain, unescape

USERS = {"U1": "Ada", "U2": "Bob Builder"}
CHANNELS = {"C1": "general"}


def plain(text: str) -> str:
    return to_plain(text, USERS.get, CHANNELS.get)


def test_user_mentions_become_display_names() -> None:
    assert plain("<@U1> thanks") == "@Ada thanks"
    assert plain("cc <@U2|bob>") == "cc @Bob Builder"
    # Unknown users keep the label Slack gave, or their id when there is none.
    assert plain("<@U9|vera> and <@U8>") == "@vera and @U8"


def test_channel_links() -> None:
    assert plain("see <#C1|general-renamed>") == "see #general-renamed"
    assert plain("see <#C1>") == "see #general"
    assert plain("see <#C7>") == "see #C7"


def test_urls_keep_both_label_and_address() -> None:
    assert plain("<https://example.com/docs|the docs>") == "the docs (https://example.com/docs)"
    assert plain("<https://example.com>") == "https://example.com"
    assert plain("<https://example.com/|example.com>") == "https://example.com/"
    assert plain("<mailto:ada@example.com|ada@example.com>") == "ada@example.com"
    assert plain("<https://x.example/?a=1&amp;b=2|q&amp;a>") == "q&a (https://x.example/?a=1&b=2)"


def test_specials() -> None:
    assert plain("<!here> <!channel|@channel> <!everyone> <!group>") == "@here @channel @everyone @channel"
    assert plain("<!subteam^S1|@core> please") == "@core please"
    assert plain("<!date^1392734382^{date_short}|Feb 18, 2014>") == "Feb 18, 2014"


def test_entities_are_unescaped_once() -> None:
    assert plain("a &amp; b &lt;tag&gt;") == "a & b <tag>"
    assert unescape("&amp;lt;") == "&lt;"


def test_names_are_not_unescaped() -> None:
    assert to_plain("<@U1>", {"U1": "R&amp;D"}.get, CHANNELS.get) == "@R&amp;D"


def test_mentioned_users_in_order_once() -> None:
    assert mentioned_users("<@U2> <@U1|ada> <@U2> <#C1> <!here>") == ["U2", "U1"]


@given(st.text(alphabet=st.characters(blacklist_characters="<&")))
def test_text_without_markup_is_unchanged(text: str) -> None:
    assert plain(text) == text


@given(st.text(alphabet=st.sampled_from(list("<>|@#!^&;:/ abcU1C2lmtgp"))))
def test_any_text_renders_without_error(text: str) -> None:
    assert isinstance(plain(text), str)
