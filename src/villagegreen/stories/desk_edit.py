"""Reading an editor's Markdown back into a Story: how an edited version keeps its citations.

The editor starts from ``villagegreen stories show ID`` (stories/render.py's Markdown) and keeps
its shape:

- ``# Title`` first; the ``*space* · conversation `id``` line under it is informational;
- ``## Context``, ``## How the group built its answer``, ``## Key takeaways``, ``## Open or
  contested``: each list item (``- ...``, continuation lines allowed) or paragraph is one
  statement, and **every statement must cite** at least one message;
- a citation is a message id in square brackets, ``[2e46225804248874cd528996]``, optionally
  followed by its link in parentheses (as rendered); it must be a member message of the story's
  conversation(s) (every one a story of several was drafted from, and any whose messages the
  story already cites). Links are
  recomputed from the store, so an edited link cannot point elsewhere;
- ``## Contributors``: lines may be removed, not added or renamed (credit comes from the
  conversation, not the editor); without the section the credits stay as they were;
- ``*italic*`` lines after the contributors are the story's notes.

Statement text is kept verbatim (inline Markdown included). A statement whose citations are
exactly those of a statement in the previous version keeps its speaker and dialogue act.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from villagegreen.errors import InputError
from villagegreen.stories.model import Citation, Contributor, Statement, Story

CITATION = re.compile(r"\[([0-9a-f]{24})\](?:\(([^)\s]*)\))?")
SECTIONS = {
    "context": "context",
    "how the group built its answer": "narrative",
    "key takeaways": "takeaways",
    "open or contested": "open_points",
    "contributors": "contributors",
}
_ITEM = re.compile(r"^\s{0,3}[-*+]\s+(.*)$")
_META = re.compile(r"^\*[^*].*\*\s+·\s+conversations?\s+`[^`]*`(?:,\s*`[^`]*`)*\s*$")
_NOTE = re.compile(r"^\*([^*].*[^*]|[^*])\*\s*$")
_SPACE_BEFORE_PUNCTUATION = re.compile(r"\s+([.,;:!?])")
_UNNAMED = re.compile(r"^and (\d+) member\(s\) who asked not to be named$")


@dataclass(slots=True)
class _Draft:
    title: str | None = None
    sections: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _blocks(markdown: str) -> _Draft:
    """Title, then per section its items as (first line number, text with continuation lines)."""
    draft = _Draft()
    section: str | None = None
    current: list[str] | None = None
    for number, line in enumerate(markdown.splitlines(), start=1):
        stripped = line.strip()
        if not stripped:
            current = None
            continue
        if draft.title is None:
            if not stripped.startswith("# "):
                raise InputError(f"line {number}: the story must start with its title as '# Title'")
            draft.title = stripped[2:].strip()
            continue
        if stripped.startswith("## "):
            heading = stripped[3:].strip().lower()
            if heading not in SECTIONS:
                allowed = ", ".join(f"'## {h[0].upper()}{h[1:]}'" for h in SECTIONS)
                raise InputError(f"line {number}: unknown section {stripped!r}; use {allowed}")
            section, current = SECTIONS[heading], None
            draft.sections.setdefault(section, [])
            continue
        if section is None and _META.match(stripped):
            continue
        if _NOTE.match(stripped) and not CITATION.search(stripped) and (section in (None, "contributors") or current is None):
            draft.notes.append(_NOTE.match(stripped).group(1).strip())  # type: ignore[union-attr]
            continue
        if section is None:
            raise InputError(f"line {number}: text before the first section; put statements under '## Context' or another section")
        item = _ITEM.match(line)
        if item or current is None:
            current = [item.group(1).strip() if item else stripped]
            draft.sections[section].append((number, ""))
        else:
            current.append(stripped)
        draft.sections[section][-1] = (draft.sections[section][-1][0], " ".join(current))
    if draft.title is None or not draft.title:
        raise InputError("the edit is empty; a story needs at least '# Title' and one cited statement")
    return draft


def _statement(number: int, text: str, citable: dict[str, str | None], previous: dict[tuple[str, ...], Statement]) -> Statement:
    ids = list(dict.fromkeys(match.group(1) for match in CITATION.finditer(text)))
    unknown = [message_id for message_id in ids if message_id not in citable]
    if unknown:
        raise InputError(f"line {number}: [{unknown[0]}] is not a message of this story's conversation; cite ids shown by `villagegreen stories show`")
    if not ids:
        raise InputError(f"line {number}: a statement without a citation; end it with the id of the message it comes from, e.g. [{next(iter(citable), 'ID')}]")
    # "a claim [id]." reads "a claim." once the marker is gone.
    plain = _SPACE_BEFORE_PUNCTUATION.sub(r"\1", " ".join(CITATION.sub("", text).split()))
    if not plain:
        raise InputError(f"line {number}: citations without a statement")
    before = previous.get(tuple(ids))
    return Statement(plain, tuple(Citation(i, citable[i]) for i in ids), before.speaker if before else None, before.act if before else None)


def _contributors(items: list[tuple[int, str]] | None, story: Story) -> tuple[Contributor, ...]:
    if items is None:
        return story.contributors
    by_name = {c.name: c for c in story.contributors}
    kept: list[Contributor] = []
    for number, text in items:
        if _UNNAMED.match(CITATION.sub("", text).strip()):
            continue
        name = text.split(":", 1)[0].strip()
        if name not in by_name:
            raise InputError(f"line {number}: {name!r} is not credited in this story; contributors can be removed, not added or renamed")
        kept.append(by_name.pop(name))
    return tuple(kept)


def story_from_markdown(markdown: str, previous: Story, citable: dict[str, str | None]) -> Story:
    """The edited Story, or an InputError naming the first line that breaks the rules above.

    ``citable`` maps each message id the story may cite to its permalink (or None).
    """
    draft = _blocks(markdown)
    known = {tuple(c.message_id for c in s.citations): s for s in previous.statements()}

    def section(name: str) -> tuple[Statement, ...]:
        return tuple(_statement(number, text, citable, known) for number, text in draft.sections.get(name, []))

    context, narrative, takeaways, open_points = (section(name) for name in ("context", "narrative", "takeaways", "open_points"))
    if not (context or narrative or takeaways or open_points):
        raise InputError("the edit has no statements; keep at least one cited statement under a section")
    return replace(
        previous, title=draft.title or previous.title, context=context, narrative=narrative, takeaways=takeaways, open_points=open_points,
        contributors=_contributors(draft.sections.get("contributors"), previous), notes=tuple(draft.notes),
    )  # fmt: skip
