"""``villagegreen threads ripe``: the ripeness of every conversation in a store or one space.

``as_of`` defaults to the newest message in the store, not the wall clock: an imported archive
would otherwise look entirely quiet. Pass today's date for a live community.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from villagegreen.analyses.embedding_store import load_vectors
from villagegreen.analyses.lifecycle import PRIORITY, STATES, Ripeness, Thresholds, assess
from villagegreen.analyses.lifecycle_threads import iter_threads
from villagegreen.errors import InputError
from villagegreen.store.database import Store

if TYPE_CHECKING:
    from villagegreen.analyses.embeddings import Embedder


@dataclass(slots=True)
class RipenessReport:
    as_of: datetime
    thresholds: Thresholds
    threads: list[Ripeness] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        found = Counter(r.state for r in self.threads)
        return {state: found.get(state, 0) for state in STATES}

    def to_dict(self) -> dict[str, Any]:
        return {"as_of": self.as_of.isoformat(), "counts": self.counts, "thresholds": _fields(self.thresholds),
                "threads": [r.to_dict() for r in self.threads]}  # fmt: skip


def _fields(thresholds: Thresholds) -> dict[str, Any]:
    return {name: getattr(thresholds, name) for name in Thresholds.__dataclass_fields__}


def resolve_space(store: Store, space: str) -> str:
    """A space id from its id or its name (as ``stats`` shows it); unknown is an InputError."""
    rows = store.con.execute("SELECT id FROM spaces WHERE id = ? OR name = ?", [space, space]).fetchall()
    if not rows:
        raise InputError(f"no space {space!r} in this store; `villagegreen stats` lists the spaces")
    if len(rows) > 1:
        raise InputError(f"{len(rows)} spaces are called {space!r}; pass the space id instead")
    return str(rows[0][0])


def ripeness(
    store: Store, *, space: str | None = None, as_of: datetime | None = None, embedder: Embedder | None = None,
    thresholds: Thresholds | None = None,
) -> RipenessReport:  # fmt: skip
    """Assess every conversation (of one space when given), most urgent first."""
    space_id = resolve_space(store, space) if space is not None else None
    if as_of is None:
        ((newest,),) = store.con.execute("SELECT max(sent_at) FROM messages").fetchall()
        if newest is None:
            raise InputError("the store has no messages; import some first (villagegreen import PATH)")
        as_of = newest
    report = RipenessReport(as_of, thresholds or Thresholds())
    # Vectors `villagegreen embed` already stored are reused; threads missing some are encoded.
    stored = load_vectors(store, embedder.model) if embedder is not None else {}
    for thread in iter_threads(store, space=space_id):
        report.threads.append(assess(thread, as_of, embedder=embedder, thresholds=report.thresholds, stored=stored))
    report.threads.sort(key=lambda r: (PRIORITY[r.state], -float(r.signal("messages") or 0)))
    return report
