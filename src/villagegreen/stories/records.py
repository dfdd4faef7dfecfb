"""A member's contribution record: evidence they can take to a review, never a ranking.

``villagegreen people record PERSON`` lists, with links where the platform has them:

- conversations they started that drew others in (at least one other person wrote in them);
- answers validated by the asker: accepted (a Stack Exchange accept vote, a Discourse accepted
  answer) or answered with thanks by the asker directly;
- stories they are credited in (by the name the story credits).

Only for members who opted in (consent purpose ``records``): without a recorded grant the record
is refused, so it cannot be built about someone behind their back. No score, no rank, no
comparison with anyone else.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from villagegreen.analyses.lifecycle_threads import load_thread
from villagegreen.errors import InputError
from villagegreen.store.consent import consent_status
from villagegreen.store.database import Store
from villagegreen.stories.permalinks import permalink

RECORDS_PURPOSE = "records"


@dataclass(slots=True)
class ContributionRecord:
    person_id: str
    name: str
    conversations_started: list[dict[str, Any]] = field(default_factory=list)
    validated_answers: list[dict[str, Any]] = field(default_factory=list)
    stories: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "person_id": self.person_id,
            "name": self.name,
            "conversations_started_that_drew_others_in": self.conversations_started,
            "answers_validated_by_the_asker": self.validated_answers,
            "stories_credited_in": self.stories,
        }

    def to_markdown(self) -> str:
        lines = [f"# Contribution record: {self.name}", "", "Evidence from the community's conversations; no score and no ranking.", ""]
        sections = (
            ("Conversations started that drew others in", self.conversations_started, _describe_started),
            ("Answers validated by the asker", self.validated_answers, _describe_validated),
            ("Stories credited in", self.stories, _describe_story),
        )
        for heading, items, describe in sections:
            lines += [f"## {heading} ({len(items)})", ""]
            lines += [f"- {describe(item)}" + (f" <{item['link']}>" if item.get("link") else "") for item in items] or ["- none yet"]
            lines.append("")
        return "\n".join(lines)


def _describe_started(item: dict[str, Any]) -> str:
    return f"{item['title']} ({item['date']}, {item['others']} other people joined)"


def _describe_validated(item: dict[str, Any]) -> str:
    return f"{item['title']} ({item['date']}, {item['validation']})"


def _describe_story(item: dict[str, Any]) -> str:
    return f"{item['title']} ({item['state']})"


def contribution_record(store: Store, person_id: str) -> ContributionRecord:
    if consent_status(store, person_id, RECORDS_PURPOSE) != "granted":
        raise InputError(
            f"{person_id} has not opted in to a contribution record; record it with "
            f"`villagegreen people consent {person_id} --purpose records --grant` once they have asked for one"
        )
    ((name,),) = store.con.execute("SELECT display_name FROM people WHERE id = ?", [person_id]).fetchall()
    record = ContributionRecord(person_id, str(name))
    record.conversations_started = [_item(store, row) | {"others": int(row[4])} for row in _started(store, person_id)]
    record.validated_answers = [_item(store, row) | {"validation": str(row[4])} for row in _validated(store, person_id)]
    record.stories = _stories(store, person_id)
    return record


def _started(store: Store, person_id: str) -> list[tuple[Any, ...]]:
    return store.con.execute(
        """
        SELECT m.id, m.conversation_id, coalesce(c.title, left(m.text, 80)), m.sent_at,
               count(DISTINCT o.author_id) FILTER (WHERE oi.person_id <> ?) AS others
        FROM messages m JOIN identities i ON i.id = m.author_id
        JOIN conversations c ON c.id = m.conversation_id
        JOIN messages o ON o.conversation_id = m.conversation_id
        JOIN identities oi ON oi.id = o.author_id
        WHERE i.person_id = ? AND m.id = m.conversation_id
        GROUP BY ALL HAVING others > 0 ORDER BY m.sent_at
        """,
        [person_id, person_id],
    ).fetchall()


def _validated(store: Store, person_id: str) -> list[tuple[Any, ...]]:
    # Accepted: an accept vote (Stack Exchange) or Discourse's accepted-answer kind. Thanked: the
    # asker's own reply to this very message, labelled thanks by the dialogue acts.
    return store.con.execute(
        """
        SELECT m.id, m.conversation_id, coalesce(c.title, left(root.text, 80)), m.sent_at,
               CASE WHEN EXISTS (SELECT 1 FROM reactions r WHERE r.message_id = m.id AND r.kind = 'accept') OR m.kind = 'answer' AND s.connector = 'discourse'
                    THEN 'accepted' ELSE 'thanked by the asker' END
        FROM messages m JOIN identities i ON i.id = m.author_id
        JOIN sources s ON s.id = m.source_id
        JOIN conversations c ON c.id = m.conversation_id
        JOIN messages root ON root.id = m.conversation_id
        JOIN identities ri ON ri.id = root.author_id
        WHERE i.person_id = ? AND m.id <> m.conversation_id AND ri.person_id <> ?
          AND (EXISTS (SELECT 1 FROM reactions r WHERE r.message_id = m.id AND r.kind = 'accept')
               OR (m.kind = 'answer' AND s.connector = 'discourse')
               OR EXISTS (SELECT 1 FROM messages t JOIN message_acts a ON a.message_id = t.id
                          WHERE t.reply_to_id = m.id AND t.author_id = root.author_id AND a.act = 'thanks'))
        ORDER BY m.sent_at
        """,
        [person_id, person_id],
    ).fetchall()


def _item(store: Store, row: tuple[Any, ...]) -> dict[str, Any]:
    message_id, conversation_id, title, sent_at = row[:4]
    link = None
    thread = load_thread(store, conversation_id)
    if thread is not None:
        message = thread.by_id().get(message_id)
        link = permalink(thread, message) if message is not None else None
    return {"message_id": message_id, "conversation_id": conversation_id, "title": str(title or ""), "date": sent_at.date().isoformat(), "link": link}


def _stories(store: Store, person_id: str) -> list[dict[str, Any]]:
    names = {str(n) for (n,) in store.con.execute("SELECT display_name FROM identities WHERE person_id = ?", [person_id]).fetchall()}
    rows = store.con.execute(
        """
        SELECT s.id, s.title, s.state, v.body FROM stories s
        JOIN story_versions v ON v.story_id = s.id
        WHERE v.version = (SELECT max(version) FROM story_versions w WHERE w.story_id = s.id)
        ORDER BY s.id
        """
    ).fetchall()
    credited = []
    for story_id, title, state, body in rows:
        contributors = {c.get("name") for c in json.loads(body).get("contributors", [])}
        if names & contributors:
            credited.append({"story_id": int(story_id), "title": str(title), "state": str(state)})
    return credited
