"""Conversation facts against a plain-Python walk over every message.

``conversation_facts`` first reduces the messages to one row per (conversation, author) and
picks the most active author and the author of the last message with aggregates, not window
functions. This oracle looks at every message of every conversation instead, with the tie rules
stated in the docstrings (most messages, then the smallest person id, an unknown author last;
the latest message, then the smallest person id), so a mistake in that shortcut shows up. Random
conversations among 8 people (two of them facilitators) with whole-hour times, so that ties in
counts and in the last moment are common, and some messages by an author with no identity.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.analyses.garden import plant_garden
from villagegreen.analyses.conversation_facts import QUESTION_PATTERN, conversation_facts
from villagegreen.analyses.framework import Inputs, Shared, Window
from villagegreen.analyses.runner import analysis_inputs
from villagegreen.store import Store

T0 = datetime(2025, 3, 1, 9, tzinfo=UTC)
FACILITATORS = frozenset({"p0", "p1"})
Message = tuple[str, str, str | None, datetime]  # id, conversation, person (None: unknown author), time


def _fill(store: Store) -> list[Message]:
    chance = random.Random(11)
    con = store.con
    plant_garden(con, 8, T0)
    written: list[Message] = []
    for c in range(120):
        conv = f"c{c}"
        space = chance.choice("ab")
        start = T0 + timedelta(hours=chance.randrange(2000))
        con.execute("INSERT INTO conversations (id, source_id, space_id, started_at) VALUES (?, 's', ?, ?)", [conv, space, start])
        for n in range(chance.choice([1, 1, 2, 3, 5, 8])):
            mid = conv if n == 0 else f"{conv}-{n}"
            person = None if chance.random() < 0.1 else f"p{chance.randrange(8)}"
            at = start + timedelta(hours=0 if n == 0 else chance.randrange(1, 6))
            con.execute(
                "INSERT INTO messages (id, source_id, native_id, space_id, conversation_id, reply_to_id, author_id, sent_at, text, kind, word_count) "
                "VALUES (?, 's', ?, ?, ?, ?, ?, ?, 'x', 'message', 1)",
                [mid, mid, space, conv, None if n == 0 else conv, None if person is None else f"i{person[1:]}", at],
            )
            written.append((mid, conv, person, at))
    return written


def _first_by_id(people: list[str | None]) -> str | None:
    known = sorted(p for p in people if p is not None)
    return known[0] if known else None


def _oracle(written: list[Message]) -> dict[str, dict[str, Any]]:
    facts: dict[str, dict[str, Any]] = {}
    for conv in sorted({m[1] for m in written}):
        messages = [m for m in written if m[1] == conv]
        opener = next(m[2] for m in messages if m[0] == conv)
        others = [m for m in messages if m[0] != conv and m[2] is not None and (opener is None or m[2] != opener)]
        members = [m for m in others if m[2] not in FACILITATORS]
        counts = Counter(m[2] for m in messages)
        most = max(counts.values())
        last_at = max(m[3] for m in messages)
        top = _first_by_id([p for p, n in counts.items() if n == most])
        last = _first_by_id([m[2] for m in messages if m[3] == last_at])
        facts[conv] = {
            "opener": opener,
            "first_other_at": min((m[3] for m in others), default=None),
            "first_member_at": min((m[3] for m in members), default=None),
            "participants": len({m[2] for m in messages if m[2] is not None}),
            "messages": len(messages),
            "facilitator_messages": sum(m[2] in FACILITATORS for m in messages),
            "last_at": last_at,
            "opener_is_facilitator": opener in FACILITATORS,
            "top_author_share": most / len(messages),
            "top_author_is_facilitator": top in FACILITATORS,
            "last_is_facilitator": last in FACILITATORS,
        }
    return facts


@pytest.fixture(scope="module")
def store_and_messages(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, list[Message]]]:
    with Store.open(tmp_path_factory.mktemp("facts") / "store.duckdb") as store:
        yield store, _fill(store)


def test_conversation_facts_match_a_walk_over_every_message(store_and_messages: tuple[Store, list[Message]]) -> None:
    store, written = store_and_messages
    expected = _oracle(written)
    # Ties are common by construction, so the tie rules are exercised.
    assert sum(1 for c in expected.values() if c["messages"] > 2) > 20
    rows = conversation_facts(analysis_inputs(store, Window("all"), FACILITATORS)).to_pyarrow().to_pylist()
    assert {row["conversation_id"] for row in rows} == set(expected)
    for row in rows:
        want = expected[row["conversation_id"]]
        got = {key: row[key] for key in want}
        assert got == want, row["conversation_id"]


OPENINGS = [
    "How do I start?", "help with setup", "Anyone around", "[news] Re: what now", "Release notes",
    "it works", "is this right", "thanks all", "", "showing? off", "whatever you like",
]  # fmt: skip


@pytest.mark.parametrize("shared", [False, True], ids=["self-contained", "shared, text looked up"])
def test_questions_are_read_from_the_opening_message_text(tmp_path_factory: pytest.TempPathFactory, shared: bool) -> None:
    """With shared intermediates the member messages carry no text and the facts look the
    openers' text up in ``messages``; either way a question is what the pattern finds in it."""
    with Store.open(tmp_path_factory.mktemp("questions") / "store.duckdb") as store:
        plant_garden(store.con, 3, T0)
        for c, text in enumerate(OPENINGS):
            conv = f"q{c}"
            store.con.execute("INSERT INTO conversations (id, source_id, space_id, started_at) VALUES (?, 's', 'a', ?)", [conv, T0])
            for n, body in enumerate([text, "Why not?"]):  # the reply's question mark must not count
                mid = conv if n == 0 else f"{conv}-r"
                store.con.execute(
                    "INSERT INTO messages (id, source_id, native_id, space_id, conversation_id, reply_to_id, author_id, sent_at, text, kind, word_count) "
                    "VALUES (?, 's', ?, 'a', ?, ?, ?, ?, ?, 'message', 1)",
                    [mid, mid, conv, None if n == 0 else conv, f"i{n}", T0 + timedelta(hours=n), body],
                )
        base = analysis_inputs(store, Window("all"), FACILITATORS)
        inputs = Inputs(base.tables, base.window, base.facilitators, shared=Shared(materialise=shared))
        try:
            rows = conversation_facts(inputs).to_pyarrow().to_pylist()
        finally:
            inputs.shared.release()
    # Python's re, not the engine's: the same pattern read by another implementation.
    expected = {f"q{c}": re.search(QUESTION_PATTERN, text) is not None for c, text in enumerate(OPENINGS)}
    assert {row["conversation_id"]: row["is_question"] for row in rows} == expected
    assert 0 < sum(expected.values()) < len(expected)
