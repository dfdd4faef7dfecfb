"""Role evidence, profiles and flex on a community small enough to count by hand.

January: ann asks q1; bo answers (a1, accepted by a vote); ann thanks him (t1); cy disagrees
with a1 (c1) and bo replies to cy (r1); di opens a discussion (d1), ann joins it (e1) and di
summarises (s1). February: bo asks q2 and ann answers it (a2, liked twice).

By hand, January: ann is a learner (1 question, 1 follow-up, 1 thanks), bo an expert (1
answer, validated and accepted), cy a challenger (1 challenge that drew a reply), di a leader
(1 discussion joined, 1 summary). February: bo is a learner, ann an expert. So ann moves
learner -> expert and bo expert -> learner. The reply graph of January is the path
di - ann - bo - cy: ann and bo each sit on 2 of the 3 shortest paths between the others.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from villagegreen.analyses.framework import Window
from villagegreen.analyses.results import latest_run, metric_values
from villagegreen.analyses.roles import Roles
from villagegreen.analyses.roles_profiles import dominant_role, role_scores, roles_report, run_roles, sankey, transitions
from villagegreen.config import Config, PrivacyConfig
from villagegreen.store import Store

JAN, FEB = datetime(2024, 1, 10, tzinfo=UTC), datetime(2024, 2, 10, tzinfo=UTC)
ANSWER_1 = "You need to set the BUILD_TYPE flag before running cmake, then rebuild everything from a clean folder."
ANSWER_2 = "Run the profiler with the memory option enabled and look at the allocation report it writes at the end."
# id, author, day, minutes after it, parent (None: a root), text, title of a root
MESSAGES: list[tuple[str, str, datetime, int, str | None, str, str | None]] = [
    ("q1", "ann", JAN, 0, None, "How do I configure the build?", "How do I configure the build?"),
    ("a1", "bo", JAN, 10, "q1", ANSWER_1, None),
    ("t1", "ann", JAN, 20, "a1", "Thanks, that worked!", None),
    ("c1", "cy", JAN, 30, "a1", "I disagree, the default flags are wrong for release builds.", None),
    ("r1", "bo", JAN, 40, "c1", "Fair enough, release builds need the other flag set explicitly.", None),
    ("d1", "di", JAN, 50, None, "Let us collect ideas for the next meetup.", "Ideas for the next meetup"),
    ("e1", "ann", JAN, 60, "d1", "A workshop on testing would be great for everyone here.", None),
    ("s1", "di", JAN, 70, "d1", "To summarise: a workshop on testing and a talk on builds.", None),
    ("q2", "bo", FEB, 0, None, "How do I profile memory?", "How do I profile memory?"),
    ("a2", "ann", FEB, 10, "q2", ANSWER_2, None),
]
EXPECTED_ACTS = {"q1": "question", "a1": "answer", "t1": "appreciation", "c1": "challenge", "r1": "elaboration", "d1": "elaboration",
                 "e1": "elaboration", "s1": "facilitation", "q2": "question", "a2": "answer"}  # fmt: skip


def build_community(store: Store, messages: list[tuple[str, str, datetime, int, str | None, str, str | None]] = MESSAGES) -> None:
    """Writes the canonical rows directly: the roles code reads the store, not a connector."""
    con = store.con
    now = datetime(2024, 3, 1, tzinfo=UTC)
    con.execute("INSERT INTO sources (id, connector, name, location, first_imported_at, last_imported_at) VALUES ('src', 'test', 'test', '', ?, ?)", [now, now])
    con.execute("INSERT INTO spaces (id, source_id, native_id, name, kind, private) VALUES ('general', 'src', 'general', 'general', 'channel', false)")
    for person in sorted({m[1] for m in messages}):
        con.execute("INSERT INTO people (id, display_name, created_at) VALUES (?, ?, ?)", [f"p-{person}", person.title(), now])
        con.execute(
            "INSERT INTO identities (id, source_id, native_id, display_name, is_bot, person_id) VALUES (?, 'src', ?, ?, false, ?)",
            [f"i-{person}", person, person.title(), f"p-{person}"],
        )
    roots: dict[str, str] = {}
    for message_id, author, month, minutes, parent, text, title in messages:
        sent = month + timedelta(minutes=minutes)
        root = message_id if parent is None else roots[parent]
        roots[message_id] = root
        if parent is None:
            con.execute("INSERT INTO conversations (id, source_id, space_id, title, started_at) VALUES (?, 'src', 'general', ?, ?)", [message_id, title, sent])
        con.execute(
            "INSERT INTO messages (id, source_id, native_id, conversation_id, reply_to_id, space_id, author_id, sent_at, text, kind, word_count) "
            "VALUES (?, 'src', ?, ?, ?, 'general', ?, ?, ?, 'message', ?)",
            [message_id, message_id, root, parent, f"i-{author}", sent, text, len(text.split())],
        )
    con.execute("INSERT INTO reactions (id, source_id, message_id, identity_id, kind, count) VALUES ('v1', 'src', 'a1', NULL, 'accept', 1)")
    con.execute("INSERT INTO reactions (id, source_id, message_id, identity_id, kind, count) VALUES ('v2', 'src', 'a2', NULL, 'like', 2)")


@pytest.fixture(scope="module")
def community(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    with Store.open(tmp_path_factory.mktemp("roles") / "store.duckdb") as store:
        build_community(store)
        run_roles(store, Config())
        yield store


def evidence(store: Store, person: str, grain: str = "month") -> dict[str, dict[Any, float | None]]:
    window = Window("month") if grain == "month" else Window("all")
    run = latest_run(store, Roles.name, grain, window.key)
    assert run is not None
    return metric_values(store, run, "person", f"p-{person}")[f"p-{person}"]


def test_acts_are_the_ones_the_story_describes(community: Store) -> None:
    acts = dict(community.con.execute("SELECT message_id, act FROM message_acts").fetchall())
    assert acts == EXPECTED_ACTS


def test_monthly_evidence_matches_the_hand_count(community: Store) -> None:
    ann, bo, cy, di = (evidence(community, p) for p in ("ann", "bo", "cy", "di"))

    def jan(e: dict[str, dict[Any, float | None]], metric: str) -> float | None:
        return e[metric].get(JAN.replace(day=1, tzinfo=None))

    assert [jan(ann, m) for m in ("questions_asked", "follow_ups", "thanks_given", "answers_given")] == [1, 1, 1, 0]
    assert [jan(bo, m) for m in ("answers_given", "answers_validated", "answers_accepted", "questions_asked")] == [1, 1, 1, 0]
    assert [jan(cy, m) for m in ("challenges", "challenges_answered")] == [1, 1]
    assert [jan(di, m) for m in ("conversations_started", "discussions_joined", "summaries")] == [1, 1, 1]
    assert jan(ann, "reply_betweenness") == pytest.approx(2 / 3)
    assert jan(bo, "reply_betweenness") == pytest.approx(2 / 3)
    feb = FEB.replace(day=1, tzinfo=None)
    assert ann["answers_validated"][feb] == 1  # liked twice
    assert bo["questions_asked"][feb] == 1


def test_whole_window_evidence_adds_the_months(community: Store) -> None:
    ann = evidence(community, "ann", "all")
    assert ann["questions_asked"][None] == 1 and ann["answers_given"][None] == 1 and ann["messages"][None] == 4


def test_scores_and_dominant_roles() -> None:
    scores = role_scores({"answers_given": 1, "answers_validated": 1, "answers_accepted": 1, "messages": 2})
    assert scores["expert"] == 4.0 and dominant_role(scores, {"messages": 2}) == "expert"
    assert dominant_role(role_scores({"messages": 3}), {"messages": 3}) == "participant"
    assert dominant_role(role_scores({"reads": 5}), {"reads": 5}) == "observer"
    assert transitions(["learner", "expert", "expert"]) == [("learner", "expert"), ("expert", "expert")]


def test_flex_and_consent(community: Store) -> None:
    now = datetime(2024, 3, 1, tzinfo=UTC)
    community.con.execute("INSERT INTO consent VALUES ('p-ann', 'analysis', 'granted', ?, 'test', NULL)", [now])
    community.con.execute("INSERT INTO consent VALUES ('p-cy', 'analysis', 'refused', ?, 'test', NULL)", [now])
    try:
        report = roles_report(community, PrivacyConfig(), Window("month"))
        assert [p["person_id"] for p in report.people] == ["p-ann"]  # bo and di: not recorded, so not named
        ann = report.people[0]
        assert [p["dominant"] for p in ann["periods"]] == ["learner", "expert"]
        assert ann["flex"] == [{"from": "learner", "to": "expert", "count": 1}]
        assert report.opted_out == 1 and report.not_named == 2
        flex = {(f["from"], f["to"]): f["count"] for f in report.flex}
        assert flex == {("learner", "expert"): 1, ("expert", "learner"): 1}  # ann's and bo's; cy refused
        assert report.distribution["2024-01-01"] == {"learner": 1, "expert": 1, "leader": 1}  # cy is not counted
        chart = sankey(report.flex)
        assert sum(link["value"] for link in chart["links"]) == 2
        shown = roles_report(community, PrivacyConfig(unrecorded="show"), Window("month"))
        assert {p["person_id"] for p in shown.people} == {"p-ann", "p-bo", "p-di"}
    finally:
        community.con.execute("DELETE FROM consent")


def test_report_needs_a_run_first(tmp_path: Path) -> None:
    from villagegreen.errors import InputError

    with Store.open(tmp_path / "empty.duckdb") as store, pytest.raises(InputError, match="people roles"):
        roles_report(store, PrivacyConfig(), Window("month"))
