"""Reply-graph measures in the engine equal networkx's on the same graphs (the oracle here)."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import networkx as nx
import pytest

from tests.analyses.garden import plant_garden
from villagegreen.analyses.framework import Window
from villagegreen.analyses.inputs import NON_CONTRIBUTION_KINDS
from villagegreen.analyses.reply_graph import reply_graph_rows
from villagegreen.analyses.runner import analysis_inputs
from villagegreen.store import Store
from villagegreen.store.ingest import import_path

DEMO = Path(__file__).resolve().parents[2] / "src" / "villagegreen" / "demo_data" / "conlang"
T0 = datetime(2026, 1, 5, tzinfo=UTC)
KINDS = ", ".join(f"'{kind}'" for kind in NON_CONTRIBUTION_KINDS)


def _oracle(store: Store, grain: str) -> dict[tuple[object, str, str, str], float]:
    """networkx on the reply pairs read with plain SQL (member messages, no bots, public spaces)."""
    period = "NULL" if grain == "all" else f"date_trunc('{grain}', m.sent_at)::TIMESTAMP"
    rows = store.con.execute(
        f"""
        SELECT {period}, m.space_id, i.person_id, ip.person_id
        FROM messages m JOIN messages par ON par.id = m.reply_to_id
        JOIN identities i ON i.id = m.author_id JOIN identities ip ON ip.id = par.author_id
        JOIN spaces sp ON sp.id = m.space_id
        WHERE NOT sp.private AND i.person_id <> ip.person_id AND NOT coalesce(i.is_bot, false) AND NOT coalesce(ip.is_bot, false)
          AND m.kind NOT IN ({KINDS}) AND par.kind NOT IN ({KINDS})
        """
    ).fetchall()
    graphs: dict[tuple[object, str, str], nx.DiGraph[str]] = defaultdict(nx.DiGraph)
    for when, space, source, target in rows:
        for scope in (("space", space), ("community", "community")):
            graphs[(when, *scope)].add_edge(source, target)
    found = {}
    for (when, kind, scope), graph in graphs.items():
        found[(when, kind, scope, "reply_reciprocity")] = nx.overall_reciprocity(graph)
        undirected = graph.to_undirected()
        n = undirected.number_of_nodes()
        degrees = [d for _, d in undirected.degree()]
        found[(when, kind, scope, "reply_centralisation")] = 0.0 if n < 3 else sum(max(degrees) - d for d in degrees) / ((n - 1) * (n - 2))
    return found


def _engine(store: Store, grain: str) -> dict[tuple[object, str, str, str], float]:
    rows = reply_graph_rows(analysis_inputs(store, Window(grain), frozenset()))  # type: ignore[arg-type]
    return {(r["period_start"], r["scope_kind"], r["scope_id"], r["metric"]): r["value"] for r in rows}


def _same(engine: dict[tuple[object, str, str, str], float], oracle: dict[tuple[object, str, str, str], float]) -> None:
    assert set(engine) == set(oracle)
    assert all(engine[key] == pytest.approx(oracle[key], abs=1e-12) for key in oracle)


@pytest.mark.parametrize("grain", ["month", "all"])
def test_the_demo_community_matches_networkx(store: Store, grain: str) -> None:
    import_path(store, DEMO)
    oracle = _oracle(store, grain)
    assert len(oracle) >= 4 and any(0 < v < 1 for v in oracle.values())  # a real graph with mutual pairs
    _same(_engine(store, grain), oracle)


def test_random_reply_graphs_match_networkx(store: Store) -> None:
    """Dense random replies among 12 people over two spaces and three weeks: many mutual pairs and repeats."""
    chance = random.Random(11)
    con = store.con
    plant_garden(con, 12, T0)
    ids: dict[str, list[str]] = {"a": [], "b": []}
    for n in range(400):
        space = chance.choice("ab")
        parent = chance.choice(ids[space]) if ids[space] and chance.random() < 0.85 else None
        mid = f"m{n}"
        conversation = mid if parent is None else con.execute("SELECT conversation_id FROM messages WHERE id = ?", [parent]).fetchone()[0]  # type: ignore[index]
        if parent is None:
            con.execute("INSERT INTO conversations (id, source_id, space_id, started_at) VALUES (?, 's', ?, ?)", [mid, space, T0 + timedelta(hours=n)])
        con.execute(
            "INSERT INTO messages (id, source_id, native_id, space_id, conversation_id, reply_to_id, author_id, sent_at, text, kind, word_count) "
            "VALUES (?, 's', ?, ?, ?, ?, ?, ?, 'x', 'message', 1)",
            [mid, mid, space, conversation, parent, f"i{chance.randrange(12)}", T0 + timedelta(hours=n)],
        )
        ids[space].append(mid)
    for grain in ("week", "month", "all"):
        _same(_engine(store, grain), _oracle(store, grain))
