"""Reply-graph measures of the health analysis, as relational expressions.

Who-replies-to-whom per scope (each space, and the community) and period: a directed edge from
the replier's person to the parent's person (self-replies dropped, repeats counted once).

- ``reply_reciprocity``: the share of directed edges whose reverse edge also exists (networkx's
  ``overall_reciprocity``).
- ``reply_centralisation``: Freeman's degree centralisation of the undirected graph,
  ``sum(max degree - degree) / ((n - 1)(n - 2))`` = ``(n * max - sum of degrees) / ((n - 1)(n - 2))``,
  0 below 3 people.

Both used to be computed by building networkx graphs in Python, which took 77% of the health
analysis at a million messages; as aggregates they run in the engine (DuckDB or Spark) and give
the same numbers (tests/analyses/test_reply_graph.py checks them against networkx on random
graphs). Both come from one table of unordered pairs of people, with how many of the two
directions exist: reciprocity is the share of directed edges in two-way pairs, and a degree is
the number of pairs a person is in, so neither needs a self-join or a union with deduplication.
"""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir

from villagegreen.analyses.framework import Inputs
from villagegreen.analyses.inputs import contributions_with_parents, float_literal, period_of

_KEYS = ("period", "scope_kind", "scope_id")


def reply_edges(inputs: Inputs) -> ir.Table:
    """Distinct directed edges (source replied to target) per scope and period (NULL for the whole window)."""
    messages = contributions_with_parents(inputs)
    replies = messages.filter(messages.person_id.notnull() & messages.parent_person.notnull() & (messages.person_id != messages.parent_person))
    # Without the zone (sessions are UTC): the same periods, less calendar work per reply.
    period = period_of(replies.sent_utc, inputs.window.grain)
    pairs = replies.select(period=period, space_id=replies.space_id, source=replies.person_id, target=replies.parent_person)
    by_space = pairs.distinct()
    # A community edge is a space edge in any space: deduplicate the (much smaller) space edges again.
    community = by_space.select("period", "source", "target").distinct()
    return ibis.union(
        by_space.select("period", scope_kind=ibis.literal("space"), scope_id=by_space.space_id, source=by_space.source, target=by_space.target),
        community.select("period", scope_kind=ibis.literal("community"), scope_id=ibis.literal("community"), source=community.source, target=community.target),
        distinct=False,
    )


def undirected_pairs(edges: ir.Table) -> ir.Table:
    """Per unordered pair of people {lo, hi}: ``directions``, how many of the two directed edges exist (1 or 2)."""
    lo = ibis.least(edges.source, edges.target)
    hi = ibis.greatest(edges.source, edges.target)
    return edges.group_by([*_KEYS, lo.name("lo"), hi.name("hi")]).agg(directions=edges.count())


def reciprocity(pairs: ir.Table) -> ir.Table:
    # An edge is returned exactly when its pair has both directions: no self-join needed.
    counts = pairs.group_by(list(_KEYS)).agg(edges=pairs.directions.sum(), mutual=pairs.directions.sum(where=pairs.directions == 2))
    value = counts.mutual.fill_null(0).cast("float64") / counts.edges.cast("float64")
    return counts.select(*_KEYS, metric=ibis.literal("reply_reciprocity"), value=value)


def centralisation(pairs: ir.Table) -> ir.Table:
    # Each unordered pair is one undirected edge: a person's degree is the number of pairs they are in.
    ends = ibis.union(pairs.select(*_KEYS, person=pairs.lo), pairs.select(*_KEYS, person=pairs.hi), distinct=False)
    degrees = ends.group_by([*_KEYS, "person"]).agg(degree=ends.count())
    stats = degrees.group_by(list(_KEYS)).agg(n=degrees.count(), top=degrees.degree.max(), total=degrees.degree.sum())
    n = stats.n.cast("float64")
    value = ibis.ifelse(stats.n < 3, float_literal(0.0), (n * stats.top.cast("float64") - stats.total.cast("float64")) / ((n - 1) * (n - 2)))
    return stats.select(*_KEYS, metric=ibis.literal("reply_centralisation"), value=value)


def reply_graph_rows(inputs: Inputs) -> list[dict[str, Any]]:
    """Reciprocity and degree centralisation of who-replies-to-whom, per scope and period (long rows)."""
    pairs = undirected_pairs(reply_edges(inputs))
    measures = ibis.union(reciprocity(pairs), centralisation(pairs))
    table = measures.select(
        period_start=measures.period, scope_kind=measures.scope_kind, scope_id=measures.scope_id, metric=measures.metric, value=measures.value
    )
    return [dict(row) for row in table.to_pyarrow().to_pylist()]
