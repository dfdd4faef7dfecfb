"""``thread_messages``: disentanglement applied to canonical messages, as connectors call it.

Expectations come from the threader's documented cues on hand-made streams (an addressed
answer joins the addressee's message; a newcomer's question starts a conversation), and the
property test compares against ``disentangle`` + ``conversation_roots`` called directly.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from villagegreen.connectors.disentangle import ChatLine, conversation_roots, disentangle, place_messages, thread_messages
from villagegreen.model import Message

START = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
NAMES = {"id-ash": "ash", "id-birch": "birch", "id-cedar": "cedar", "id-dale": "dale"}


def message(ident: str, minute: int, author: str, text: str, *, reply_to: str | None = None, conversation: str | None = None) -> Message:
    return Message(
        id=ident,
        source_id="s",
        native_id=ident,
        conversation_id=conversation or reply_to or ident,
        reply_to_id=reply_to,
        space_id="space",
        author_id=f"id-{author}",
        sent_at=START + timedelta(minutes=minute),
        text=text,
    )


def test_answers_join_the_questions_they_address_and_carry_the_inferred_flag() -> None:
    messages = [
        message("a", 0, "ash", "how do I mount a usb drive?"),
        message("b", 0, "birch", "anyone know why my wifi drops every hour?"),
        message("c", 1, "cedar", "ash: use the file manager, or mount /dev/sdb1 /mnt"),
        message("d", 1, "dale", "birch: check dmesg for the wifi driver"),
    ]
    conversations = thread_messages(messages, NAMES)
    by_id = {m.id: m for m in messages}
    assert [c.id for c in conversations] == ["a", "b"]
    assert conversations[0].title == "how do I mount a usb drive?"
    assert (by_id["c"].reply_to_id, by_id["c"].conversation_id) == ("a", "a")
    assert (by_id["d"].reply_to_id, by_id["d"].conversation_id) == ("b", "b")
    assert by_id["c"].meta == {"reply_inferred": True}
    # Roots have no parent and no flag.
    assert (by_id["a"].reply_to_id, by_id["a"].meta) == (None, {})


def test_place_messages_places_the_same_way_and_returns_the_roots() -> None:
    def stream() -> list[Message]:
        return [
            message("a", 0, "ash", "how do I mount a usb drive?"),
            message("b", 0, "birch", "anyone know why my wifi drops every hour?"),
            message("c", 1, "cedar", "ash: use the file manager, or mount /dev/sdb1 /mnt"),
            message("d", 2, "dale", "birch: check dmesg for the wifi driver"),
            message("e", 90, "ash", "a new day, a new question?"),
        ]

    placed, threaded = stream(), stream()
    roots = place_messages(placed, NAMES)
    conversations = thread_messages(threaded, NAMES)
    # Only the messages nothing earlier was picked for are roots: a, b and (90 minutes later) e.
    assert [root.id for root in roots] == [c.id for c in conversations] == ["a", "b", "e"]
    assert all(root.conversation_id == root.id for root in roots)
    assert [(m.conversation_id, m.reply_to_id, m.meta) for m in placed] == [(m.conversation_id, m.reply_to_id, m.meta) for m in threaded]


def test_names_come_from_author_names_not_ids() -> None:
    # With the ids as names, "ash:" addresses nobody who has spoken, so cedar's line would not be tied to ash.
    messages = [
        message("a", 0, "ash", "how do I mount a usb drive?"),
        message("b", 0, "birch", "anyone know why my wifi drops?"),
        message("c", 1, "cedar", "ash: mount /dev/sdb1 /mnt"),
    ]
    thread_messages(messages, NAMES)
    assert messages[2].reply_to_id == "a"


def test_recorded_links_are_kept_even_to_messages_outside_the_input() -> None:
    messages = [
        message("a", 0, "ash", "how do I mount a usb drive?"),
        message("b", 1, "birch", "mount /dev/sdb1 /mnt", reply_to="a"),
        message("c", 2, "cedar", "ash: that old thread had the answer", reply_to="older"),
        message("d", 3, "dale", "same for a usb stick", reply_to="b"),
    ]
    conversations = thread_messages(messages, NAMES)
    by_id = {m.id: m for m in messages}
    assert [c.id for c in conversations] == ["a"]
    assert [(by_id[i].reply_to_id, by_id[i].conversation_id) for i in "bcd"] == [("a", "a"), ("older", "older"), ("b", "a")]
    assert all("reply_inferred" not in by_id[i].meta for i in "bcd")


def test_kept_roots_get_no_parent_but_can_be_one() -> None:
    # Without keep_roots, birch's immediate "ash: ..." would join ash's conversation.
    messages = [
        message("a", 0, "ash", "how do I mount a usb drive?"),
        message("t", 1, "birch", "ash: mount /dev/sdb1 /mnt, see the thread"),
        message("r", 2, "ash", "it says permission denied", conversation="t", reply_to="t"),
        message("u", 3, "cedar", "birch: mount needs sudo"),
    ]
    conversations = thread_messages(messages, NAMES, keep_roots={"t"}, off_stream={"r"})
    by_id = {m.id: m for m in messages}
    assert [c.id for c in conversations] == ["a", "t"]
    assert (by_id["t"].reply_to_id, by_id["t"].conversation_id) == (None, "t")
    assert (by_id["r"].reply_to_id, by_id["r"].conversation_id) == ("t", "t")
    assert (by_id["u"].reply_to_id, by_id["u"].conversation_id) == ("t", "t")


def test_off_stream_replies_follow_their_root_and_are_never_parents() -> None:
    messages = [
        message("a", 0, "ash", "how do I mount a usb drive?"),
        message("b", 1, "birch", "ash: mount /dev/sdb1 /mnt"),
        # A reply inside the thread of b, which only the thread's readers see.
        message("r", 2, "cedar", "mount /dev/sdb1 /mnt needs sudo", conversation="b"),
        message("s", 3, "dale", "cedar: sudo mount /dev/sdb1 /mnt works"),
    ]
    thread_messages(messages, NAMES, off_stream={"r"})
    by_id = {m.id: m for m in messages}
    assert by_id["b"].conversation_id == "a"
    # r keeps its thread (no reply link is invented) and its thread now belongs to a's conversation.
    assert (by_id["r"].reply_to_id, by_id["r"].conversation_id, by_id["r"].meta) == (None, "a", {})
    assert by_id["s"].reply_to_id != "r"


def test_input_order_does_not_matter_and_meta_dicts_are_not_shared() -> None:
    shared: dict[str, object] = {}
    rows = [("a", 0, "ash", "how do I mount a usb drive?"), ("c", 1, "cedar", "ash: mount /dev/sdb1 /mnt")]
    messages = [message(*row) for row in reversed(rows)]
    for item in messages:
        item.meta = shared
    conversations = thread_messages(messages, NAMES)
    assert [c.id for c in conversations] == ["a"]
    assert messages[0].reply_to_id == "a" and messages[0].meta == {"reply_inferred": True}
    assert messages[1].meta == {} and shared == {}


def test_an_inferred_link_never_closes_a_cycle_through_a_forward_reply() -> None:
    # A corrupt export: ash's message "replies" to cedar's later one, which addresses ash.
    messages = [message("a", 0, "ash", "how do I mount a usb drive?", reply_to="c"), message("c", 1, "cedar", "ash: mount /dev/sdb1 /mnt")]
    conversations = thread_messages(messages, NAMES)
    # Without the check cedar's line would answer ash's, a cycle; it stays the root instead.
    assert [c.id for c in conversations] == ["c"]
    assert [(m.reply_to_id, m.conversation_id, m.meta) for m in messages] == [("c", "c", {}), (None, "c", {})]


TEXTS = ["ash: ok?", "birch, yes", "hello", "mount it", "how do I mount it?", "cedar: thanks"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.sampled_from(["ash", "birch", "cedar"]), st.sampled_from(TEXTS), st.integers(-3, 8)), max_size=30))
def test_roots_and_links_match_disentangle_called_directly(steps: list[tuple[int, str, str, int]]) -> None:
    minute, messages = 0, []
    for index, (step, author, text, link) in enumerate(steps):
        minute += step
        # link < 0: a recorded reply to a message outside the input; link < index: to an earlier one.
        target = f"outside{-link}" if link < 0 else (str(link) if link < index else None)
        messages.append(message(str(index), minute, author, text, reply_to=target))
    recorded = {m.id: m.reply_to_id for m in messages}
    lines = [ChatLine(m.id, NAMES[m.author_id or ""], m.sent_at, m.text, reply_to=m.reply_to_id) for m in messages]
    roots = conversation_roots(disentangle(lines))

    conversations = thread_messages(messages, NAMES)

    assert [c.id for c in conversations] == [m.id for m in messages if roots[m.id] == m.id]
    ids = {m.id for m in messages}
    for item in messages:
        assert item.conversation_id == roots[item.id]
        if recorded[item.id] is not None:
            assert item.reply_to_id == recorded[item.id] and "reply_inferred" not in item.meta
        elif item.reply_to_id is not None:
            assert item.meta.get("reply_inferred") is True and item.reply_to_id in ids
            assert int(item.reply_to_id) < int(item.id)
        else:
            assert item.conversation_id == item.id
