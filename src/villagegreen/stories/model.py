"""The Story: one object that every renderer (Markdown, HTML, JSON) reads.

Every statement carries the ids of the messages it comes from; ``Citation`` adds the
platform permalink where one exists. A statement never names or quotes a person who refused
``quoting`` consent: the drafter writes "a member" and describes their contribution instead.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Citation:
    message_id: str
    permalink: str | None


@dataclass(frozen=True, slots=True)
class Statement:
    """One sentence of the story and the messages that support it (never empty)."""

    text: str
    citations: tuple[Citation, ...]
    speaker: str | None = None
    act: str | None = None


@dataclass(frozen=True, slots=True)
class Contributor:
    """A person credited by name, with what they did (counts of dialogue acts)."""

    name: str
    messages: int
    acts: dict[str, int]
    citations: tuple[Citation, ...]


@dataclass(frozen=True, slots=True)
class ConversationRef:
    """One conversation a story of several draws on, and why it was included."""

    id: str
    title: str
    space: str
    permalink: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class Story:
    """``conversation_id`` is the primary conversation (the one the desk files the story under);
    ``conversations`` lists every conversation of a story of several (primary first), empty for
    a story of one."""

    conversation_id: str
    title: str
    space: str
    context: tuple[Statement, ...]
    narrative: tuple[Statement, ...]
    takeaways: tuple[Statement, ...]
    open_points: tuple[Statement, ...]
    contributors: tuple[Contributor, ...]
    unnamed_contributors: int = 0
    notes: tuple[str, ...] = field(default=())
    conversations: tuple[ConversationRef, ...] = field(default=())

    def conversation_ids(self) -> tuple[str, ...]:
        """Every conversation the story may cite, primary first."""
        return tuple(dict.fromkeys([self.conversation_id, *(c.id for c in self.conversations)]))

    def statements(self) -> tuple[Statement, ...]:
        return (*self.context, *self.narrative, *self.takeaways, *self.open_points)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _statements(rows: list[dict[str, Any]]) -> tuple[Statement, ...]:
    return tuple(Statement(r["text"], tuple(Citation(**c) for c in r["citations"]), r.get("speaker"), r.get("act")) for r in rows)


def story_from_dict(data: dict[str, Any]) -> Story:
    """The inverse of ``Story.to_dict`` (stored versions are read back with it)."""
    return Story(
        conversation_id=data["conversation_id"], title=data["title"], space=data["space"],
        context=_statements(data["context"]), narrative=_statements(data["narrative"]),
        takeaways=_statements(data["takeaways"]), open_points=_statements(data["open_points"]),
        contributors=tuple(Contributor(c["name"], c["messages"], c["acts"], tuple(Citation(**x) for x in c["citations"]))
                           for c in data["contributors"]),
        unnamed_contributors=data.get("unnamed_contributors", 0), notes=tuple(data.get("notes", ())),
        conversations=tuple(ConversationRef(**c) for c in data.get("conversations", ())),
    )  # fmt: skip
