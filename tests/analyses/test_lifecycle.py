"""Ripeness states: hand-built threads for each rule, and the shipped conlang slice checked
against its own Stack Exchange XML (answers, comments, accepted answers) parsed here."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from villagegreen.analyses.acts import ActLabel
from villagegreen.analyses.lifecycle import Thresholds, assess
from villagegreen.analyses.lifecycle_report import ripeness
from villagegreen.analyses.lifecycle_threads import Thread, ThreadMessage
from villagegreen.errors import InputError
from villagegreen.store import Store
from villagegreen.store.ingest import import_path

DEMO = Path(__file__).resolve().parents[2] / "src" / "villagegreen" / "demo_data" / "conlang"
T0 = datetime(2024, 1, 1, tzinfo=UTC)


def message(i: int, person: str, act: str, *, hours: float = 0, text: str = "some words here", accepted: bool = False) -> ThreadMessage:
    label = ActLabel(act, 1.0, "test", "")  # type: ignore[arg-type]
    return ThreadMessage(f"m{i}", str(i), None if i == 0 else "m0", person, person.title(), T0 + timedelta(hours=hours), text, "message", label,
                         accepted, 0)  # fmt: skip


def thread(*messages: ThreadMessage) -> Thread:
    return Thread("m0", "A title", "s", "space", "discourse", "forum.example.org", {}, {}, tuple(messages))


def test_unanswered_question_is_nudge() -> None:
    r = assess(thread(message(0, "ana", "question")), T0 + timedelta(days=3))
    assert r.state == "nudge" and r.signal("stalled") is True


def test_question_answered_only_by_the_asker_is_still_nudge() -> None:
    r = assess(thread(message(0, "ana", "question"), message(1, "ana", "elaboration", hours=1)), T0 + timedelta(days=3))
    assert r.state == "nudge"


def test_accepted_answer_and_quiet_is_close_but_fresh_is_wrap_up() -> None:
    parts = (message(0, "ana", "question"), message(1, "ben", "answer", hours=1, accepted=True),
             message(2, "chen", "elaboration", hours=2), message(3, "ana", "appreciation", hours=3))  # fmt: skip
    assert assess(thread(*parts), T0 + timedelta(days=30)).state == "close"
    fresh = assess(thread(*parts), T0 + timedelta(hours=4))
    assert fresh.state == "wrap_up" and "resolved" in fresh.reason


def test_asker_saying_it_worked_counts_as_resolution() -> None:
    parts = (message(0, "ana", "question"), message(1, "ben", "answer", hours=1), message(2, "ana", "elaboration", hours=2, text="Yes that worked, great"))
    r = assess(thread(*parts), T0 + timedelta(days=30))
    assert r.state == "close" and r.signal("asker_thanks_or_solved") == 1


class _Axis:
    """A fake embedder: texts naming 'topic' point one way, everything else another."""

    model, version, dim = "fake", "1", 2

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return np.array([[1.0, 0.0] if "topic" in t else [0.0, 1.0] for t in texts], dtype=np.float32)


def test_long_thread_drifting_from_the_opening_post_is_split() -> None:
    words = " ".join(["word"] * 100)
    parts = [message(0, "ana", "elaboration", text=f"topic {words}")]
    parts += [message(i, f"p{i % 7}", "elaboration", hours=i, text=f"topic {words}") for i in range(1, 20)]
    parts += [message(i, f"p{i % 7}", "elaboration", hours=i, text=f"other {words}") for i in range(20, 30)]
    r = assess(thread(*parts), T0 + timedelta(hours=31), embedder=_Axis())  # type: ignore[arg-type]
    assert r.signal("similarity_to_opening") == 0.0
    assert r.state == "split"
    assert len(r.parts) >= 2 and r.parts[0].first_message_id == "m0" and sum(p.messages for p in r.parts) == 30
    assert "topic" in r.parts[0].keywords and "other" in r.parts[-1].keywords
    on_topic = [message(0, "ana", "elaboration", text=f"topic {words}")]
    on_topic += [message(i, f"p{i % 7}", "elaboration", hours=i, text=f"topic {words}") for i in range(1, 30)]
    assert assess(thread(*on_topic), T0 + timedelta(hours=31), embedder=_Axis()).state != "split"  # type: ignore[arg-type]


def test_asker_who_solved_it_alone_is_not_nudged() -> None:
    parts = (message(0, "ana", "question"), message(1, "ana", "answer", hours=5, accepted=True))
    assert assess(thread(*parts), T0 + timedelta(days=30)).state == "close"


def test_short_fresh_discussion_keeps_going() -> None:
    r = assess(thread(message(0, "ana", "elaboration"), message(1, "ben", "elaboration", hours=1)), T0 + timedelta(hours=2))
    assert r.state == "keep_going"


def test_reading_time_uses_238_words_per_minute() -> None:
    r = assess(thread(message(0, "ana", "elaboration", text=" ".join(["w"] * 476))), T0)
    assert r.signal("reading_minutes") == 2.0


def _xml(name: str) -> list[dict[str, str]]:
    return [dict(row.attrib) for row in ET.parse(DEMO / name).getroot().iter("row")]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    with Store.open(tmp_path_factory.mktemp("lifecycle") / "demo.duckdb") as store:
        import_path(store, DEMO)
        yield store


def test_conlang_states_agree_with_the_dump(demo: Store) -> None:
    posts = {p["Id"]: p for p in _xml("Posts.xml")}
    comments = _xml("Comments.xml")
    report = ripeness(demo)
    native = dict(demo.con.execute("SELECT id, native_id FROM messages WHERE kind = 'question'").fetchall())
    by_question = {native[r.conversation_id]: r for r in report.threads if r.conversation_id in native}
    # The Community bot's own posts (OwnerUserId -1) are not member conversations.
    assert set(by_question) == {p["Id"] for p in posts.values() if p.get("PostTypeId") == "1" and p.get("OwnerUserId") != "-1"}
    for qid, r in by_question.items():
        question = posts[qid]
        answers = [p for p in posts.values() if p.get("ParentId") == qid and p.get("OwnerUserId") != "-1"]
        on_thread = {qid} | {a["Id"] for a in answers}
        notes = [c for c in comments if c["PostId"] in on_thread and c.get("UserId") != "-1"]
        assert r.signal("messages") == 1 + len(answers) + len(notes), qid
        others = [x for x in (*answers, *notes) if (x.get("OwnerUserId") or x.get("UserId")) != question.get("OwnerUserId")]
        if question.get("AcceptedAnswerId") in posts:
            assert r.state != "nudge" and r.signal("accepted_answer") is True
        if not others:
            assert r.state == "nudge", qid
        else:
            assert r.state != "nudge", qid
    assert sum(report.counts.values()) == len(report.threads)


def test_unknown_space_is_an_input_error(demo: Store) -> None:
    with pytest.raises(InputError, match="no space"):
        ripeness(demo, space="nowhere")


def test_thresholds_are_reported(demo: Store) -> None:
    data = ripeness(demo, thresholds=Thresholds(quiet_days=7)).to_dict()
    assert data["thresholds"]["quiet_days"] == 7
    assert set(data["counts"]) == {"keep_going", "nudge", "wrap_up", "split", "close"}
