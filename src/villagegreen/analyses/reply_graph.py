"""Reply-graph measures of the health analysis, as relational expressions.

Who-replies-to-whom per scope (each space, and the community) and period: a directed edge from
the replier's person to the parent's person (self-replies dropped, repeats counted once).

- ``reply_reciprocity``: the share of directed edges whose reverse edge also exists (networkx's
  ``overall_reciprocity``).
- ``reply_centralisation``: Freeman's degree centralisation of the undirected graph,
  ``sum(max degree - degree) / ((n - 1)(n - 2))`` = ``(n * max - sum of degrees) / ((n - 1)(n - 2))``,
  0 below 3 people.

Both used to be computed by building networkx graphs in Python, which took 77% of the health
analysis at a million messages; as joins and aggregates they run in the engine (DuckDB or
Spark) and give the same numbers (tests/analyses/test_reply_graph.py checks them against
networkx on random graphs).
"""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir

from villagegreen.analyses.framework import Inputs
from villagegreen.analyses.inputs import contributions_with_parents, float_literal, period_of

_KEYS = ("pkey", "period", "scope_kind", "scope_id")


def reply_edges(inputs: Inputs) -> ir.Table:
    """Distinct directed edges per scope and period; ``pkey`` is the period as a join key ("all" for the whole window)."""
    messages = contributions_with_parents(inputs)
    replies = messages.filter(messages.person_id.notnull() & messages.parent_person.notnull() & (messages.person_id != messages.parent_person))
    period = period_of(replies.sent_at, inputs.window.grain)
    pairs = replies.select(
        # NULL periods (grain "all") would never join: key them by a string instead.
        pkey=period.cast("string").fill_null("all"),
        period=period,
        space_id=replies.space_id,
        source=replies.person_id,
        target=replies.parent_person,
    )
    by_space = pairs.select(pairs.pkey, pairs.period, scope_kind=ibis.literal("space"), scope_id=pairs.space_id, source=pairs.source, target=pairs.target)
    community = pairs.select(
        pairs.pkey, pairs.period, scope_kind=ibis.literal("community"), scope_id=ibis.literal("community"), source=pairs.source, target=pairs.target
    )
    return ibis.union(by_space, community, distinct=True)


def reciprocity(edges: ir.Table) -> ir.Table:
    back = edges.select(
        b_pkey=edges.pkey, b_kind=edges.scope_kind, b_scope=edges.scope_id, b_source=edges.target, b_target=edges.source, mutual=ibis.literal(1)
    )
    joined = edges.left_join(
        back,
        [
            edges.pkey == back.b_pkey, edges.scope_kind == back.b_kind, edges.scope_id == back.b_scope,
            edges.source == back.b_source, edges.target == back.b_target,
        ],
    )  # fmt: skip
    counts = joined.group_by(list(_KEYS)).agg(edges=joined.count(), mutual=joined.mutual.fill_null(0).sum())
    return counts.select(*_KEYS, metric=ibis.literal("reply_reciprocity"), value=counts.mutual.cast("float64") / counts.edges.cast("float64"))


def centralisation(edges: ir.Table) -> ir.Table:
    ends = ibis.union(
        edges.select(*_KEYS, person=edges.source, other=edges.target), edges.select(*_KEYS, person=edges.target, other=edges.source), distinct=True
    )
    degrees = ends.group_by([*_KEYS, "person"]).agg(degree=ends.count())
    stats = degrees.group_by(list(_KEYS)).agg(n=degrees.count(), top=degrees.degree.max(), total=degrees.degree.sum())
    n = stats.n.cast("float64")
    value = ibis.ifelse(stats.n < 3, float_literal(0.0), (n * stats.top.cast("float64") - stats.total.cast("float64")) / ((n - 1) * (n - 2)))
    return stats.select(*_KEYS, metric=ibis.literal("reply_centralisation"), value=value)


def reply_graph_rows(inputs: Inputs) -> list[dict[str, Any]]:
    """Reciprocity and degree centralisation of who-replies-to-whom, per scope and period (long rows)."""
    edges = reply_edges(inputs)
    measures = ibis.union(reciprocity(edges), centralisation(edges))
    table = measures.select(
        period_start=measures.period, scope_kind=measures.scope_kind, scope_id=measures.scope_id, metric=measures.metric, value=measures.value
    )
    return [dict(row) for row in table.to_pyarrow().to_pylist()]
