"""The roles analysis at scale: the rewritten query and the numpy betweenness give the numbers
the first version gave.

``reference_compute`` below is the roles query as it was before the rewrite for 1M messages
(commit c65274e), kept here as the independent computation: it joined the posts to themselves
at each step and is far slower, but it is what the hand-counted tests of test_roles.py checked.
Betweenness is compared with networkx itself, exact and with the sampled sources.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import ibis
import networkx as nx
import numpy as np
import pyarrow as pa
import pytest

from villagegreen.analyses.acts_store import label_store
from villagegreen.analyses.framework import Inputs, Shared, Window
from villagegreen.analyses.inputs import contributions, long_rows, period_of
from villagegreen.analyses.roles import _IBIS_METRICS, BETWEENNESS_EXACT_MAX, NOT_VALIDATION, Roles, betweenness_rows, roles_inputs
from villagegreen.analyses.roles_betweenness import UndirectedGraph, betweenness, periods_graphs
from villagegreen.errors import ConfigError
from villagegreen.store import Store
from villagegreen.store.ingest import import_path

if TYPE_CHECKING:
    import ibis.expr.types as ir

READ_EVENTS = ("read", "view", "seen")


def canonical(table: pa.Table) -> pa.Table:
    table = table.select(["period_start", "scope_kind", "scope_id", "metric", "value"])
    return table.sort_by([("period_start", "ascending"), ("scope_id", "ascending"), ("metric", "ascending")])


@pytest.fixture(scope="module", params=["stackexchange/quantumcomputing", "slack/haskell-jp"])
def real_store(request: pytest.FixtureRequest, shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    with Store.open(tmp_path_factory.mktemp("roles-scale") / "store.duckdb") as opened:
        import_path(opened, shared_data / request.param)
        label_store(opened)
        # The reference is the first version's query, deliberately kept as heavy as it was (3.4 GB
        # at 1M); give it room whatever limit the connection was left with (a full CI run once
        # saw 512 MB here on haskell-jp).
        opened.con.execute("SET memory_limit = '4GB'")
        yield opened


@pytest.mark.realdata
@pytest.mark.parametrize("grain", ["month", "all"])
def test_rewritten_query_gives_the_first_version_s_numbers(real_store: Store, grain: str) -> None:
    inputs = roles_inputs(real_store, Window(grain, None, None))  # type: ignore[arg-type]  # a str from parametrize
    new = canonical(Roles().compute(inputs).to_pyarrow())
    old = canonical(reference_compute(inputs).to_pyarrow())
    assert new.num_rows > 0 and new.equals(old)
    # The data has what the rewrite treats specially: validated answers and spaces bridged.
    values = {(m, v) for m, v in zip(new.column("metric").to_pylist(), new.column("value").to_pylist(), strict=True) if v}
    assert {m for m, _ in values} >= {"answers_given", "spaces_bridged", "conversations_joined"}


@pytest.mark.realdata
def test_betweenness_rows_are_networkx_s(real_store: Store) -> None:
    inputs = roles_inputs(real_store, Window("month", None, None))
    # The reply pairs as the first version's query finds them (below), not as roles.py does.
    posts = _with_acts(inputs)
    replies = posts.filter(posts.parent_person.notnull() & (posts.parent_person != posts.person_id))
    pairs = replies.select("period", "person_id", "parent_person").to_pyarrow().to_pylist()
    graphs: dict[object, nx.Graph[str]] = {}
    for pair in pairs:
        graphs.setdefault(pair["period"], nx.Graph()).add_edge(pair["person_id"], pair["parent_person"])
    expected = {}
    for period, graph in graphs.items():
        ordered: nx.Graph[str] = nx.Graph()
        ordered.add_nodes_from(sorted(graph))  # the sources are sampled from the people in sorted order
        ordered.add_edges_from(graph.edges)
        k = None if len(ordered) <= BETWEENNESS_EXACT_MAX else BETWEENNESS_EXACT_MAX // 3
        scores = nx.betweenness_centrality(ordered, k=k, normalized=True, seed=0)
        expected.update({(period, person): score for person, score in scores.items() if score > 0})
    rows = betweenness_rows(inputs)
    got = {(row["period_start"], row["scope_id"]): row["value"] for row in rows}
    assert len(graphs) > 1 and set(got) == set(expected)
    assert all(got[key] == pytest.approx(value, rel=1e-9) for key, value in expected.items())


@pytest.mark.realdata
def test_one_shared_table_for_both_grains_gives_the_first_version_s_numbers(real_store: Store) -> None:
    # The runner keeps the per-message flags once per run (Inputs.shared) for both grains and the
    # betweenness pairs; each grain must still give what the self-contained queries give.
    shared = Shared(materialise=True)
    try:
        for grain in ("month", "all"):
            plain = roles_inputs(real_store, Window(grain, None, None))
            cached = Inputs(plain.tables, plain.window, plain.facilitators, plain.include_private, shared)
            assert canonical(Roles().compute(cached).to_pyarrow()).equals(canonical(reference_compute(plain).to_pyarrow()))
            assert in_order(betweenness_rows(cached)) == in_order(betweenness_rows(plain))
        assert len(shared.tables) > 0
    finally:
        shared.release()


def in_order(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    return sorted(rows, key=lambda row: (str(row["period_start"]), str(row["scope_id"])))


def test_periods_graphs_number_each_period_s_people_in_sorted_order() -> None:
    when = [datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 2, 1, tzinfo=UTC)]
    pairs = pa.table(
        {
            "period": pa.array([when[1], when[0], when[1], None, when[0]], pa.timestamp("us", tz="UTC")),
            "person_id": ["zoe", "bob", "émile", "ann", "Bob"],
            "parent_person": ["ann", "zoe", "zoe", "bob", "bob"],
        }
    )
    got = [(period, people, [(people[a], people[b]) for a, b in zip(left.tolist(), right.tolist(), strict=True)])
           for period, people, left, right in periods_graphs(pairs)]  # fmt: skip
    # Python's own sort (code points: capitals before lower case, accents after z), per period
    # in order of first appearance, each pair in the order it came.
    assert got == [
        (when[1], ["ann", "zoe", "émile"], [("zoe", "ann"), ("émile", "zoe")]),
        (when[0], ["Bob", "bob", "zoe"], [("bob", "zoe"), ("Bob", "bob")]),
        (None, ["ann", "bob"], [("ann", "bob")]),
    ]
    assert list(periods_graphs(pairs.slice(0, 0))) == []


def random_graph(rng: random.Random, size: int, pairs: int) -> tuple[nx.Graph[int], UndirectedGraph]:
    edges = [(rng.randrange(size), rng.randrange(size)) for _ in range(pairs)]
    graph: nx.Graph[int] = nx.Graph()
    graph.add_nodes_from(range(size))
    graph.add_edges_from((a, b) for a, b in edges if a != b)
    left, right = (np.array(side, dtype=np.int64) for side in zip(*edges, strict=True)) if edges else (np.zeros(0, np.int64),) * 2
    return graph, UndirectedGraph(size, left, right)


@pytest.mark.parametrize("seed", range(12))
def test_numpy_betweenness_equals_networkx_exact_and_sampled(seed: int) -> None:
    rng = random.Random(seed)
    graph, ours = random_graph(rng, rng.randint(3, 80), rng.randint(0, 200))
    for exact_max in (1_000, 12):  # exact, then 4 sampled sources
        k = None if len(graph) <= exact_max else exact_max // 3
        expected = nx.betweenness_centrality(graph, k=k, normalized=True, seed=0)
        got = betweenness(ours, exact_max=exact_max)
        assert got.tolist() == pytest.approx([expected[node] for node in range(len(graph))], rel=1e-9, abs=1e-15, nan_ok=True)


def test_a_path_s_middle_people_carry_the_paths() -> None:
    # 0 - 1 - 2 - 3: of the 3 pairs not involving 1, two pass through 1; normalised by (n-1)(n-2)/2 = 3.
    path = UndirectedGraph(4, np.array([0, 1, 2, 2], dtype=np.int64), np.array([1, 2, 3, 1], dtype=np.int64))
    assert betweenness(path, exact_max=10).tolist() == pytest.approx([0.0, 2 / 3, 2 / 3, 0.0])


def test_roles_without_acts_is_a_config_error(store: Store) -> None:
    inputs = roles_inputs(store, Window("month", None, None))
    tables = {name: table for name, table in inputs.tables.items() if name != "message_acts"}
    with pytest.raises(ConfigError):
        Roles().compute(Inputs(tables, inputs.window, frozenset()))


# The roles query before the rewrite (commit c65274e), verbatim but for names.


def reference_compute(inputs: Inputs) -> ir.Table:
    if "message_acts" not in inputs.tables:
        raise ConfigError("the roles analysis needs dialogue acts: run `villagegreen people roles`, which labels them first")
    posts = _with_acts(inputs)
    evidence = _message_evidence(posts)
    bridged = _spaces_bridged(posts).rename(bridge_period="period", bridge_person="person_id")
    evidence = evidence.left_join(bridged, _same_period(evidence.period, bridged.bridge_period) & (evidence.person_id == bridged.bridge_person))
    evidence = evidence.drop("bridge_period", "bridge_person")
    # Readers who never wrote are people too (observers): an outer join keeps them.
    reads = _reads(inputs).rename(read_period="period", read_person="person_id")
    joined = evidence.outer_join(reads, _same_period(evidence.period, reads.read_period) & (evidence.person_id == reads.read_person))
    per_person = joined.mutate(period=joined.period.fill_null(joined.read_period), person_id=joined.person_id.fill_null(joined.read_person))
    per_person = per_person.drop("read_period", "read_person")
    filled = per_person.mutate(**{name: per_person[name].fill_null(0) for name in _IBIS_METRICS})
    return long_rows(filled, scope_kind="person", scope=filled.person_id, metrics=_IBIS_METRICS)


def _same_period(left: ir.Value, right: ir.Value) -> ir.BooleanValue:
    # Whole-window rows have a NULL period, and NULL never equals NULL in a join.
    return (left == right) | (left.isnull() & right.isnull())


def _with_acts(inputs: Inputs) -> ir.Table:
    """Member messages with act, parent and root authors, and whether others replied."""
    messages = contributions(inputs).filter(lambda t: t.person_id.notnull())
    acts = inputs.tables["message_acts"].select(act_key="message_id", act="act")
    posts = messages.left_join(acts, messages.id == acts.act_key).drop("act_key")
    posts = posts.mutate(period=period_of(posts.sent_at, inputs.window.grain), parent_id=ibis.ifelse(posts.is_root, ibis.null("string"),
                         posts.reply_to_id.fill_null(posts.conversation_id)))  # fmt: skip
    authors = posts.select(author_key=posts.id, parent_person=posts.person_id)
    posts = posts.left_join(authors, posts.parent_id == authors.author_key).drop("author_key")
    roots = posts.filter(posts.is_root).select(root_key=posts.id, root_person=posts.person_id)
    posts = posts.left_join(roots, posts.conversation_id == roots.root_key).drop("root_key")
    # A reply by someone else to each message (replies after the window still show uptake).
    everyone = contributions(inputs, windowed=False).filter(lambda t: t.person_id.notnull())
    everyone = everyone.mutate(parent_key=ibis.ifelse(everyone.id == everyone.conversation_id, ibis.null("string"),
                               everyone.reply_to_id.fill_null(everyone.conversation_id)))  # fmt: skip
    replied = posts.join(everyone.select("parent_key", replier=everyone.person_id), posts.id == everyone.parent_key)
    replied = replied.filter(replied.replier != replied.person_id)
    answered = replied.group_by(answered_key=replied.id).agg(replies_from_others=replied.count())
    thanks = _thanked_messages(inputs, everyone)
    posts = posts.left_join(answered.select("answered_key", "replies_from_others"), posts.id == answered.answered_key).drop("answered_key")
    posts = posts.left_join(thanks, posts.id == thanks.thanked_key).drop("thanked_key")
    validations = _validations(inputs)
    return posts.left_join(validations, posts.id == validations.validated_key).drop("validated_key")


def _thanked_messages(inputs: Inputs, everyone: ir.Table) -> ir.Table:
    acts = inputs.tables["message_acts"]
    appreciation = acts.filter(acts.act == "appreciation").select(thanks_key="message_id")
    thanking = everyone.join(appreciation, everyone.id == appreciation.thanks_key)
    parents = everyone.select(target_key=everyone.id, target_person=everyone.person_id)
    thanking = thanking.join(parents, thanking.parent_key == parents.target_key)
    thanking = thanking.filter(thanking.person_id != thanking.target_person)
    return thanking.group_by(thanked_key=thanking.parent_key).agg(thanked_by_reply=thanking.count())


def _validations(inputs: Inputs) -> ir.Table:
    """Per message: accepted (an accept vote, or the platform's accepted/solved mark in meta), reactions that approve."""
    reactions = inputs.tables["reactions"]
    approving = reactions.filter(~reactions.kind.isin(NOT_VALIDATION))
    per_message = approving.group_by(key=approving.message_id).agg(
        approvals=approving["count"].sum(), accept_votes=(approving.kind == "accept").cast("int64").sum()
    )
    messages = inputs.tables["messages"]
    meta = messages.meta.cast("string").fill_null("")
    marked = messages.select(mark_key=messages.id, marked=meta.contains('"accepted":true') | meta.contains('"accepted_answer":true'))
    joined = marked.left_join(per_message, marked.mark_key == per_message.key)
    return joined.select(
        validated_key=joined.mark_key,
        approvals=joined.approvals.fill_null(0),
        accepted=joined.marked | (joined.accept_votes.fill_null(0) > 0),
    )


def _message_evidence(posts: ir.Table) -> ir.Table:
    is_answer = posts.act == "answer"
    validated = is_answer & (posts.accepted.fill_null(False) | (posts.thanked_by_reply.fill_null(0) > 0) | (posts.approvals.fill_null(0) > 0))
    replied_by_others = posts.replies_from_others.fill_null(0) > 0

    def count(condition: ir.BooleanValue) -> ir.IntegerValue:
        return condition.fill_null(False).cast("int64").sum()

    return posts.group_by(["period", "person_id"]).agg(
        messages=posts.count(),
        questions_asked=count(posts.is_root & (posts.act == "question")),
        follow_ups=count(~posts.is_root & (posts.root_person == posts.person_id)),
        thanks_given=count(posts.act == "appreciation"),
        answers_given=count(is_answer),
        answers_validated=count(validated),
        answers_accepted=count(is_answer & posts.accepted.fill_null(False)),
        challenges=count(posts.act == "challenge"),
        challenges_answered=count((posts.act == "challenge") & replied_by_others),
        conversations_started=count(posts.is_root),
        conversations_joined=count(posts.is_root & replied_by_others),
        discussions_joined=count(posts.is_root & (posts.act != "question") & replied_by_others),
        summaries=count(posts.act == "facilitation"),
    )


def _spaces_bridged(posts: ir.Table) -> ir.Table:
    replies = posts.filter(posts.parent_person.notnull() & (posts.parent_person != posts.person_id))
    given = replies.select("period", "space_id", person_id=replies.person_id).distinct()
    received = replies.select(got_period=replies.period, got_space=replies.space_id, got_person=replies.parent_person).distinct()
    both = given.join(
        received, _same_period(given.period, received.got_period) & (given.space_id == received.got_space) & (given.person_id == received.got_person)
    )
    return both.group_by(["period", "person_id"]).agg(spaces_bridged=both.space_id.nunique())


def _reads(inputs: Inputs) -> ir.Table:
    events = inputs.tables["events"]
    identities = inputs.tables["identities"]
    reads = events.filter(events.kind.isin(READ_EVENTS))
    window = inputs.window
    if window.since is not None:
        reads = reads.filter(reads.occurred_at >= window.since)
    if window.until is not None:
        reads = reads.filter(reads.occurred_at < window.until)
    readers = identities.select(reader_key=identities.id, person_id=identities.person_id)
    joined = reads.join(readers, reads.identity_id == readers.reader_key)
    joined = joined.mutate(period=period_of(joined.occurred_at, window.grain))
    return joined.group_by(["period", "person_id"]).agg(reads=joined.count())
