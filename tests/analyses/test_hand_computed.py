"""Every metric on a six-message community small enough to compute by hand.

ann asks q1 (bo answers after 2 h, ann thanks him after 3 h); cy asks q2 (nobody answers);
bo posts release notes nobody replies to; ann asks q3 and cy answers 200 h later (past the
7-day window). bo is the declared facilitator.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.fakes import JsonListConnector
from villagegreen.analyses.activity import READING_WPM, WRITING_WPM
from villagegreen.analyses.framework import Window
from villagegreen.analyses.people_activity import k_anonymous_groups, people_activity
from villagegreen.analyses.results import latest_run, metric_values
from villagegreen.analyses.runner import run_analyses
from villagegreen.config import Config, FacilitatorRule, PrivacyConfig
from villagegreen.store import Store
from villagegreen.store.ingest import import_path

T0 = 1_700_000_000
HOUR = 3600
R1 = "Read the setup guide first, it explains everything"
ITEMS: list[dict[str, Any]] = [
    {"id": "q1", "user": "ann", "t": T0, "text": "How do I start?"},
    {"id": "r1", "user": "bo", "t": T0 + 2 * HOUR, "text": R1, "parent": "q1"},
    {"id": "r2", "user": "ann", "t": T0 + 3 * HOUR, "text": "thanks", "parent": "q1"},
    {"id": "q2", "user": "cy", "t": T0 + 10 * HOUR, "text": "Anyone tried the new API?"},
    {"id": "s1", "user": "bo", "t": T0 + 20 * HOUR, "text": "Release notes for version two"},
    {"id": "q3", "user": "ann", "t": T0 + 30 * HOUR, "text": "What is the plan?"},
    {"id": "r3", "user": "cy", "t": T0 + 230 * HOUR, "text": "The plan is ready", "parent": "q3"},
]
FACILITATOR = Config(facilitators=(FacilitatorRule(native_id="bo"),))


def words(text: str) -> int:
    return len(text.split())


@pytest.fixture(scope="module")
def analysed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    # One import and one analysis for the module: the tests only read (the consent test adds
    # consent rows, which no other test reads).
    folder = tmp_path_factory.mktemp("hand")
    path = folder / "community.jsonlist"
    path.write_text(json.dumps(ITEMS))
    with Store.open(folder / "store.duckdb") as store:
        import_path(store, path, connector_class=JsonListConnector)
        run_analyses(store, FACILITATOR)
        yield store


def values(store: Store, analysis: str, scope_kind: str, scope_id: str) -> dict[str, float | None]:
    run = latest_run(store, analysis, "all")
    assert run is not None
    return {metric: by_period[None] for metric, by_period in metric_values(store, run, scope_kind, scope_id)[scope_id].items()}


def person_id(store: Store, native: str) -> str:
    ((pid,),) = store.con.execute("SELECT person_id FROM identities WHERE native_id = ?", [native]).fetchall()
    return str(pid)


def test_health_figures_match_the_hand_count(analysed: Store) -> None:
    health = values(analysed, "health", "community", "community")
    assert health["conversations"] == 4
    assert health["reply_coverage_7d"] == pytest.approx(1 / 4)  # q3's answer came after 200 h
    assert health["first_reply_median_hours"] == pytest.approx((2 + 200) / 2)
    assert health["solo_thread_rate"] == pytest.approx(2 / 4)  # q2 and the release notes
    assert health["questions"] == 3
    assert health["unanswered_questions"] == 1
    assert health["active_people"] == 3
    assert health["messages"] == 7
    assert health["top10_share"] == pytest.approx(1.0)
    # Member replies exclude the facilitator: q1 was first answered by bo, so only q3 counts.
    assert health["member_first_reply_median_hours"] == pytest.approx(200)
    assert health["member_reply_coverage_7d"] == pytest.approx(0.0)
    # Reply graph: bo->ann, cy->ann; no edge is returned; ann is the hub of a 3-node star.
    assert health["reply_reciprocity"] == pytest.approx(0.0)
    assert health["reply_centralisation"] == pytest.approx(1.0)


def test_activity_per_person_matches_the_hand_count(analysed: Store) -> None:
    ann = values(analysed, "activity", "person", person_id(analysed, "ann"))
    bo = values(analysed, "activity", "person", person_id(analysed, "bo"))
    cy = values(analysed, "activity", "person", person_id(analysed, "cy"))
    assert (ann["messages"], bo["messages"], cy["messages"]) == (3, 2, 2)
    assert ann["replies_given"] == 0  # thanking in her own thread is not a reply to someone else
    assert ann["replies_received"] == 2 and bo["replies_given"] == 1 and cy["replies_given"] == 1
    assert ann["conversations_started"] == 2
    ann_words = words("How do I start?") + words("thanks") + words("What is the plan?")
    assert ann["words"] == ann_words
    assert ann["minutes_writing"] == pytest.approx(ann_words / WRITING_WPM)
    # ann read r1 before her last message in q1; nothing preceded her last message in q3.
    assert ann["minutes_reading"] == pytest.approx(words(R1) / READING_WPM)
    # cy read ann's question before answering it.
    assert cy["minutes_reading"] == pytest.approx(words("What is the plan?") / READING_WPM)
    assert bo["effort_index"] == pytest.approx(math.log2(1 + words(R1)) + math.log2(1 + words("Release notes for version two")))
    assert bo["effort_index"] > math.log2(1 + 1) * 2  # two thoughtful messages beat two "+1"s


def test_facilitation_shares_match_the_hand_count(analysed: Store) -> None:
    fac = values(analysed, "facilitation", "community", "community")
    assert fac["facilitator_message_share"] == pytest.approx(2 / 7)
    assert fac["facilitator_reply_share"] == pytest.approx(1 / 3)
    assert fac["facilitator_started_share"] == pytest.approx(1 / 4)
    assert fac["facilitator_first_reply_share"] == pytest.approx(1 / 2)  # q1 (bo first) of q1, q3
    assert fac["facilitator_last_word_share"] == pytest.approx(0.0)


def test_without_declared_facilitators_shares_are_not_reported(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "community.jsonlist"
    path.write_text(json.dumps(ITEMS))
    import_path(store, path, connector_class=JsonListConnector)
    run_analyses(store, Config(), names=["facilitation"])
    fac = values(store, "facilitation", "community", "community")
    assert "facilitator_message_share" not in fac
    assert "lecture_conversations" in fac


def test_window_limits_what_is_counted(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "community.jsonlist"
    path.write_text(json.dumps(ITEMS))
    import_path(store, path, connector_class=JsonListConnector)
    since = datetime.fromtimestamp(T0 + 15 * HOUR, UTC)
    run_analyses(store, FACILITATOR, names=["health"], since=since)
    run = latest_run(store, "health", "all", Window("all", since).key)
    assert run is not None
    health = {m: v[None] for m, v in metric_values(store, run, "community", "community")["community"].items()}
    assert health["conversations"] == 2  # s1 and q3
    assert health["new_people"] == 0  # everyone had written before the window


def test_people_activity_respects_consent(analysed: Store) -> None:
    ann, bo = person_id(analysed, "ann"), person_id(analysed, "bo")
    now = datetime.now(UTC)
    analysed.con.execute("INSERT INTO consent VALUES (?, 'analysis', 'refused', ?, 'test', NULL)", [ann, now])
    analysed.con.execute("INSERT INTO consent VALUES (?, 'analysis', 'granted', ?, 'test', NULL)", [bo, now])
    shown = people_activity(analysed, PrivacyConfig(k_anonymity=2), Window("all"))
    assert [row["person_id"] for row in shown.named] == [bo]
    assert shown.refused == 1
    assert shown.groups == []  # only cy is unrecorded: fewer than k=2, so nothing about cy is shown
    everyone = people_activity(analysed, PrivacyConfig(k_anonymity=2, unrecorded="show"), Window("all"))
    assert {row["person_id"] for row in everyone.named} == {bo, person_id(analysed, "cy")}


def test_k_anonymous_groups_never_go_below_k() -> None:
    rows = [{"effort_index": float(i), **{k: 1.0 for k in ("messages",)}} for i in range(11)]
    groups = k_anonymous_groups([{**r, **dict.fromkeys(_columns(), 1.0), "effort_index": r["effort_index"]} for r in rows], 5)
    assert [g["people"] for g in groups] == [5, 6]
    assert groups[0]["mean_effort_index"] == pytest.approx(sum(range(6, 11)) / 5)


def _columns() -> tuple[str, ...]:
    from villagegreen.analyses.people_activity import COLUMNS

    return COLUMNS
