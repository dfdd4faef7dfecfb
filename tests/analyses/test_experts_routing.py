"""Availability, the routing log and expert load, on the hand-built community of test_experts.py.

bo answered the shader questions, cy the physics ones; di's shader question q5 is the only
open question. The expectations follow from who is away, what was routed and what got a reply.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.analyses.test_experts import BENCHMARK, MESSAGES
from tests.analyses.test_roles import build_community
from villagegreen.analyses.experts import ExpertFinder, FinderSettings, past_answers
from villagegreen.analyses.experts_availability import FREE_TEXT_OPEN_DAYS, availability, routing_log, set_availability
from villagegreen.analyses.experts_routing import find_experts, unanswered_questions
from villagegreen.errors import InputError
from villagegreen.store import Store

TODAY = datetime(2026, 11, 27, tzinfo=UTC)
SHADER_QUESTION = "My fragment shader reflection looks wrong"


@pytest.fixture
def community(store: Store) -> Iterator[Store]:
    build_community(store, MESSAGES)
    yield store


def people(report_rows: list[dict[str, object]]) -> list[object]:
    return [row["person_id"] for row in report_rows]


def test_a_person_away_is_skipped_with_the_reason_and_back_after_the_day(community: Store) -> None:
    set_availability(community, "p-bo", away_until=TODAY + timedelta(days=10), now=TODAY)
    report = find_experts(community, SHADER_QUESTION, k=1, clock=TODAY)
    assert people(report.suggestions) == ["p-cy"]
    assert report.skipped == [{"person_id": "p-bo", "name": "Bo", "reason": f"away until {TODAY + timedelta(days=10):%Y-%m-%d}"}]
    later = find_experts(community, SHADER_QUESTION, k=1, clock=TODAY + timedelta(days=11))
    assert people(later.suggestions) == ["p-bo"]
    assert later.skipped == []


def test_available_again_forgets_the_date_and_keeps_the_cap(community: Store) -> None:
    set_availability(community, "p-bo", away=True, max_open_questions=2, now=TODAY)
    assert find_experts(community, SHADER_QUESTION, k=1, clock=TODAY).skipped[0]["reason"] == "away until further notice"
    back = set_availability(community, "p-bo", away=False, now=TODAY)
    assert (back.away, back.away_until, back.max_open_questions) == (False, None, 2)
    assert availability(community)["p-bo"].max_open_questions == 2


def test_routing_logs_each_suggestion_once_and_load_counts_open_routed_questions(community: Store) -> None:
    rows = unanswered_questions(community, suggest=True, route=True, k=2, actor="fac", clock=TODAY)
    assert [r["conversation_id"] for r in rows] == ["q5"]
    assert rows[0]["routed"] == 2
    log = routing_log(community)
    assert sorted((r["conversation_id"], r["person_id"], r["rank"], r["actor"]) for r in log) == [("q5", "p-bo", 1, "fac"), ("q5", "p-cy", 2, "fac")]
    load = {s["person_id"]: s["load"]["open_questions_routed"] for s in rows[0]["suggestions"]}
    assert load == {"p-bo": 1, "p-cy": 1}
    again = unanswered_questions(community, suggest=True, route=True, k=2, clock=TODAY)
    assert again[0]["routed"] == 0  # the same question to the same people adds nothing
    assert len(routing_log(community)) == 2


def test_a_person_at_capacity_is_skipped_until_their_routed_question_gets_a_reply(community: Store) -> None:
    unanswered_questions(community, suggest=True, route=True, k=1, clock=TODAY)  # q5 -> bo
    set_availability(community, "p-bo", max_open_questions=1, now=TODAY)
    full = find_experts(community, SHADER_QUESTION, k=1, clock=TODAY)
    assert full.skipped[0]["person_id"] == "p-bo"
    assert full.skipped[0]["reason"].startswith("at capacity: 1 open routed questions")
    community.con.execute(
        "INSERT INTO messages (id, source_id, native_id, conversation_id, reply_to_id, space_id, author_id, sent_at, text, kind, word_count) "
        "VALUES ('a5', 'src', 'a5', 'q5', 'q5', 'general', 'i-bo', ?, 'Blend them with mix() in the fragment shader.', 'message', 8)",
        [datetime(2024, 2, 10, 1, tzinfo=UTC)],
    )
    assert people(find_experts(community, SHADER_QUESTION, k=1, clock=TODAY).suggestions) == ["p-bo"]


def test_free_text_routes_count_as_open_for_a_fortnight(community: Store) -> None:
    report = find_experts(community, SHADER_QUESTION, k=1, route=True, clock=TODAY)
    assert report.routed == 1
    assert routing_log(community)[0]["conversation_id"] is None
    during = find_experts(community, SHADER_QUESTION, k=1, clock=TODAY + timedelta(days=FREE_TEXT_OPEN_DAYS - 1))
    after = find_experts(community, SHADER_QUESTION, k=1, clock=TODAY + timedelta(days=FREE_TEXT_OPEN_DAYS + 1))
    assert during.suggestions[0]["load"]["open_questions_routed"] == 1
    assert after.suggestions[0]["load"]["open_questions_routed"] == 0


def test_people_who_refused_routing_are_never_logged(community: Store) -> None:
    community.con.execute("INSERT INTO consent VALUES ('p-bo', 'routing', 'refused', ?, 'test', NULL)", [TODAY])
    unanswered_questions(community, suggest=True, route=True, k=3, clock=TODAY)
    assert "p-bo" not in {r["person_id"] for r in routing_log(community)}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"away_until": TODAY - timedelta(days=1)}, "not in the future"),
        ({"away": False, "away_until": TODAY + timedelta(days=1)}, "contradict"),
        ({"max_open_questions": 2, "clear_max": True}, "--no-max"),
    ],
)
def test_contradictory_or_past_settings_are_one_line_input_errors(community: Store, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InputError, match=message):
        set_availability(community, "p-bo", now=TODAY, **kwargs)  # type: ignore[arg-type]


def test_route_without_suggest_is_an_input_error(community: Store) -> None:
    with pytest.raises(InputError, match="--suggest"):
        unanswered_questions(community, route=True)


def test_the_benchmark_grid_orders_people_like_the_finder(community: Store) -> None:
    spec = importlib.util.spec_from_file_location("experts_benchmark_grid", BENCHMARK)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = bench
    spec.loader.exec_module(bench)
    from villagegreen.analyses.acts_store import label_store

    label_store(community)
    now = datetime(2024, 3, 1, tzinfo=UTC)
    answers = past_answers(community, now)
    for settings in (FinderSettings(), FinderSettings(3, 0.2, 90.0), FinderSettings(10, 0.0, 30.0)):
        finder = ExpertFinder(answers, now=now, settings=settings)
        for question in (SHADER_QUESTION, "collision shape terrain"):
            ranked = [s.person_id for s in finder.rank(question, k=10, exclude=["p-di"])]
            best = finder.content(question, exclude=["p-di"], top=10)
            activity = bench.decayed_activity(answers, now, settings.activity_half_life_days)
            assert bench.mixture_order(best, activity, settings, "p-di") == ranked


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "villagegreen", *map(str, args)], capture_output=True, text=True, timeout=300, check=False)


def test_availability_and_routing_from_the_command_line(tmp_path: Path) -> None:
    db = tmp_path / "store.duckdb"
    with Store.open(db) as store:
        build_community(store, MESSAGES)
    away = run("people", "availability", "p-bo", "--away-until", "2099-01-01", "--note", "sabbatical", "--db", db, "--json")
    assert away.returncode == 0, away.stderr
    assert json.loads(away.stdout)["availability"][0]["away_until"].startswith("2099-01-01")
    experts = run("experts", SHADER_QUESTION, "-k", "1", "--route", "--db", db, "--json")
    assert experts.returncode == 0, experts.stderr
    report = json.loads(experts.stdout)
    assert [s["person_id"] for s in report["suggestions"]] == ["p-cy"]
    assert report["skipped"][0]["reason"] == "away until 2099-01-01"
    routed = run("questions", "routed", "--db", db, "--json")
    assert routed.returncode == 0, routed.stderr
    assert json.loads(routed.stdout)["open_routed_questions"] == {"p-cy": 1}
    bad = run("people", "availability", "p-bo", "--away", "--available", "--db", db)
    assert bad.returncode != 0
    assert "at most one" in bad.stderr
