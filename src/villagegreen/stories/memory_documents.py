"""What the community memory searches: member messages, conversation titles and approved stories.

One SQL relation, ``_vg_memory_docs`` (doc_id, kind, conversation_id, text, chars), built per
search over the live tables, so an erased person (messages deleted or tombstoned, stories
rewritten by ``people forget``) is never found and nothing needs re-indexing after an import.

- ``message``: every member message with text (bots and platform bookkeeping left out);
- ``title``: a conversation's title, as its own document ``title:<conversation id>`` (the
  opening post rarely repeats it; benchmarks switch titles off to avoid a trivial match);
- ``story``: the latest version of each approved or published story, ``story:<id>``, its
  title and every statement (drafts are not the community's memory yet).

Private spaces are left out unless asked for (``include_private``), as on every dashboard page.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pyarrow as pa

from villagegreen.analyses.inputs import NON_CONTRIBUTION_KINDS
from villagegreen.store.database import Store

DOCS = "_vg_memory_docs"
_STORIES = "_vg_memory_story_docs"
_KINDS = ", ".join(f"'{kind}'" for kind in NON_CONTRIBUTION_KINDS)
MEMORY_STATES = ("approved", "published")


@dataclass(frozen=True, slots=True)
class Scope:
    """Which documents a search sees: one space id (or all), private spaces or not, titles or not."""

    space_id: str | None = None
    include_private: bool = False
    titles: bool = True


def _story_text(body: str) -> str:
    data = json.loads(body)
    parts = [str(data.get("title", ""))]
    for section in ("context", "narrative", "takeaways", "open_points"):
        parts += [str(statement.get("text", "")) for statement in data.get(section, [])]
    return "\n".join(part for part in parts if part)


def _story_docs(store: Store) -> pa.Table:
    states = ", ".join(f"'{state}'" for state in MEMORY_STATES)
    rows = store.con.execute(
        f"""
        SELECT s.id, s.conversation_id, v.body FROM stories s JOIN story_versions v ON v.story_id = s.id
        WHERE s.state IN ({states}) AND v.version = (SELECT max(version) FROM story_versions w WHERE w.story_id = s.id)
        """
    ).fetchall()
    return pa.table(
        {
            "doc_id": pa.array([f"story:{story_id}" for story_id, _, _ in rows], pa.string()),
            "conversation_id": pa.array([cid for _, cid, _ in rows], pa.string()),
            "text": pa.array([_story_text(body) for _, _, body in rows], pa.string()),
        }
    )


def _literal(value: str | None) -> str:
    return "NULL" if value is None else "'" + value.replace("'", "''") + "'"


def _docs_sql(scope: Scope) -> str:
    # A view cannot take parameters: the scope is written in as literals (quoted above).
    visible = f"({str(scope.include_private).upper()} OR NOT sp.private) AND ({_literal(scope.space_id)} IS NULL OR sp.id = {_literal(scope.space_id)})"
    return f"""
        SELECT m.id AS doc_id, 'message' AS kind, m.conversation_id, m.text, length(m.text) AS chars
        FROM messages m JOIN spaces sp ON sp.id = m.space_id LEFT JOIN identities i ON i.id = m.author_id
        WHERE m.kind NOT IN ({_KINDS}) AND trim(m.text) <> '' AND NOT coalesce(i.is_bot, false) AND {visible}
        UNION ALL
        SELECT 'title:' || c.id, 'title', c.id, c.title, length(c.title)
        FROM conversations c JOIN spaces sp ON sp.id = c.space_id
        WHERE {str(scope.titles).upper()} AND trim(coalesce(c.title, '')) <> '' AND {visible}
        UNION ALL
        SELECT d.doc_id, 'story', d.conversation_id, d.text, length(d.text)
        FROM {_STORIES} d JOIN conversations c ON c.id = d.conversation_id JOIN spaces sp ON sp.id = c.space_id
        WHERE {visible}
    """


@contextmanager
def documents(store: Store, scope: Scope, *, materialize: bool = False) -> Iterator[None]:
    """Makes ``_vg_memory_docs`` queryable on ``store.con`` for the duration of the block.

    A temporary view over the live tables and the registered story texts: nothing is copied,
    and it works on a store opened read-only (the dashboard's). ``materialize`` copies it into a
    temporary table instead: one pass over the joins rather than one per query that reads it
    (a search reads it five times; the benchmark hundreds). The copy holds every text in scope,
    in DuckDB's memory (spilling to its temporary directory on a large store).
    """
    store.con.register(_STORIES, _story_docs(store))
    kind = "TABLE" if materialize else "VIEW"
    try:
        store.con.execute(f"CREATE OR REPLACE TEMP {kind} {DOCS} AS {_docs_sql(scope)}")
        try:
            yield
        finally:
            store.con.execute(f"DROP {kind} IF EXISTS {DOCS}")
    finally:
        store.con.unregister(_STORIES)
