"""The weekly digest: ``villagegreen digest --week 2026-W48``, readable in an e-mail.

``build_digest(store, "2026-W48")`` returns a :class:`Digest` with ``title``, ``markdown()``,
``html()`` (a self-contained fragment: no stylesheet, no script, every text escaped) and
``to_dict()``. Weeks are ISO 8601 weeks (Monday 00:00 UTC to the next Monday). Sections:

- **Stories approved this week**: stories whose approval was recorded in the week and that are
  still approved or published, with their first takeaways and the people credited (approval has
  already checked quoting consent);
- **Ripe for wrap-up**: conversations whose lifecycle state is ``wrap_up`` at the end of the
  week (or at the newest message, for an archive), without an approved story yet;
- **Unanswered questions** opened by the end of the week and still unanswered now, newest first, each with up to three
  people who could answer (never someone who refused ``routing`` or ``analysis`` consent, see
  analyses/experts_routing.py);
- **Health highlights**: the week against the week before, counted here from the messages.

Private spaces never appear: a digest is written to be sent to members.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from villagegreen.analyses.lifecycle_report import ripeness
from villagegreen.errors import InputError
from villagegreen.store.database import Store
from villagegreen.stories.desk import latest_story
from villagegreen.stories.digest_health import health_highlights
from villagegreen.stories.digest_render import digest_html, digest_markdown

_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
RIPE_SHOWN = 5
QUESTIONS_SHOWN = 5
EXPERTS_PER_QUESTION = 3


def parse_week(week: str) -> tuple[datetime, datetime]:
    """``2026-W48`` -> (Monday 00:00 UTC, the next Monday 00:00 UTC)."""
    match = _WEEK.match(week.strip())
    try:
        if match is None:
            raise ValueError(week)
        monday = date.fromisocalendar(int(match.group(1)), int(match.group(2)), 1)
    except ValueError:
        raise InputError(f"--week {week!r} is not an ISO week; write it as YYYY-Www, e.g. 2026-W48") from None
    start = datetime(monday.year, monday.month, monday.day, tzinfo=UTC)
    return start, start + timedelta(days=7)


def current_week(now: datetime | None = None) -> str:
    year, week, _ = (now or datetime.now(UTC)).isocalendar()
    return f"{year}-W{week:02d}"


@dataclass(slots=True)
class Digest:
    week: str
    start: datetime
    end: datetime
    stories: list[dict[str, Any]] = field(default_factory=list)
    ripe: list[dict[str, Any]] = field(default_factory=list)
    unanswered: list[dict[str, Any]] = field(default_factory=list)
    highlights: list[dict[str, Any]] = field(default_factory=list)

    @property
    def title(self) -> str:
        last = self.end - timedelta(days=1)
        return f"Community digest, week {self.week} ({self.start:%d %b} to {last:%d %b %Y})"

    def markdown(self) -> str:
        return digest_markdown(self)

    def html(self) -> str:
        return digest_html(self)

    def to_dict(self) -> dict[str, Any]:
        return {"week": self.week, "title": self.title, "start": self.start.isoformat(), "end": self.end.isoformat(),
                "stories": self.stories, "ripe_for_wrap_up": self.ripe, "unanswered_questions": self.unanswered,
                "health_highlights": self.highlights}  # fmt: skip


def build_digest(store: Store, week: str) -> Digest:
    """The digest of ``week`` (``YYYY-Www``; anything else is an InputError).

    Expert suggestions label dialogue acts not labelled yet (analyses/acts_store.py), which
    writes to the store: open it writable, or run ``villagegreen acts`` (or ``analyze``) first.
    """
    start, end = parse_week(week)
    digest = Digest(week.strip(), start, end)
    public = {row[0]: row[1] for row in store.con.execute(
        "SELECT c.id, CASE WHEN so.name = sp.name THEN sp.name ELSE so.name || ' / ' || sp.name END FROM conversations c JOIN spaces sp ON sp.id = c.space_id "
        "JOIN sources so ON so.id = sp.source_id WHERE NOT sp.private AND c.started_at < ?", [end]).fetchall()}  # fmt: skip
    digest.stories = _approved_stories(store, start, end, public)
    storied = {s["conversation_id"] for s in _stories_done(store)}
    digest.ripe = _ripe(store, end, public, storied)
    digest.unanswered = _unanswered(store, end, public)
    digest.highlights = health_highlights(store, start, end)
    return digest


def _stories_done(store: Store) -> list[dict[str, Any]]:
    rows = store.con.execute("SELECT id, conversation_id FROM stories WHERE state IN ('approved', 'published')").fetchall()
    return [{"id": int(i), "conversation_id": str(c)} for i, c in rows]


def _approved_stories(store: Store, start: datetime, end: datetime, public: dict[str, str]) -> list[dict[str, Any]]:
    rows = store.con.execute(
        """
        SELECT s.id, max(v.created_at) FROM stories s JOIN story_versions v ON v.story_id = s.id
        WHERE s.state IN ('approved', 'published') AND v.state = 'approved' AND v.created_at >= ? AND v.created_at < ?
        GROUP BY s.id ORDER BY max(v.created_at), s.id
        """,
        [start, end],
    ).fetchall()
    stories = []
    for story_id, approved_at in rows:
        story = latest_story(store, int(story_id))
        if story.conversation_id not in public:
            continue
        points = story.takeaways or story.narrative or story.context
        stories.append({
            "id": int(story_id), "title": story.title, "conversation_id": story.conversation_id, "space": public[story.conversation_id],
            "approved_at": approved_at.isoformat(), "takeaways": [s.text for s in points[:2]],
            "link": next((c.permalink for s in story.statements() for c in s.citations if c.permalink), None),
            "contributors": [c.name for c in story.contributors], "unnamed_contributors": story.unnamed_contributors,
        })  # fmt: skip
    return stories


def _ripe(store: Store, end: datetime, public: dict[str, str], storied: set[str]) -> list[dict[str, Any]]:
    ((newest,),) = store.con.execute("SELECT max(sent_at) FROM messages WHERE sent_at < ?", [end]).fetchall()
    if newest is None:
        return []
    report = ripeness(store, as_of=newest, embedder=None)
    rows = [r for r in report.threads if r.state == "wrap_up" and r.conversation_id in public and r.conversation_id not in storied]
    return [{"conversation_id": r.conversation_id, "title": r.title or "(untitled)", "space": public[r.conversation_id], "reason": r.reason}
            for r in rows[:RIPE_SHOWN]]  # fmt: skip


def _unanswered(store: Store, end: datetime, public: dict[str, str]) -> list[dict[str, Any]]:
    from villagegreen.analyses.experts_routing import build_router

    router = build_router(store, k=EXPERTS_PER_QUESTION)
    questions = [q for q in router.open_questions if q["conversation_id"] in public and datetime.fromisoformat(q["opened_at"]) < end]
    questions.sort(key=lambda q: q["opened_at"], reverse=True)
    rows = []
    for question in questions[:QUESTIONS_SHOWN]:
        experts = router.describe(router.suggest(question["text"], asker=question["asker"]))
        rows.append({
            "conversation_id": question["conversation_id"], "title": question["title"], "space": public[question["conversation_id"]],
            "opened_at": question["opened_at"], "suggested_experts": [e["name"] for e in experts],
        })  # fmt: skip
    return rows
