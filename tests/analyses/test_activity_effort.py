"""effort_index is bit-reproducible: it does not depend on the order the engine adds messages in.

A floating-point sum depends on the order of its terms, and DuckDB's parallel aggregation
adds rows in a different order from one run to the next: effort_index used to differ in its
last bit between two runs on the same store (about 0.4% of the rows at 100k messages). Here
the same community is imported twice, once in the reverse order, so every sum sees its terms
in another order; the stored values must be identical to the bit, and equal to an exactly
rounded sum (math.fsum) of log2(1 + words) up to the documented rounding.
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from typing import Any

import pytest

from tests.fakes import JsonListConnector
from villagegreen.analyses.results import latest_run, metric_values
from villagegreen.analyses.runner import run_analyses
from villagegreen.config import Config
from villagegreen.store import Store
from villagegreen.store.ingest import import_path

T0 = 1_700_000_000
PEOPLE = ("ann", "bo", "cy")
MESSAGES = 3000


def community() -> list[dict[str, Any]]:
    """3,000 root messages of 0-80 words by three people, all within one week."""
    pick = random.Random(7)
    items = []
    for n in range(MESSAGES):
        text = " ".join(pick.choice(("alpha", "beta", "gamma", "delta")) for _ in range(pick.randint(0, 80)))
        items.append({"id": f"m{n}", "user": PEOPLE[n % 3], "t": T0 + n * 60, "text": text or " "})
    return items


def effort_by_scope(folder: Path, items: list[dict[str, Any]]) -> dict[tuple[str, str], float]:
    """(scope kind, scope id) -> effort_index of the whole window, after importing ``items`` in their order."""
    path = folder / "community.jsonlist"
    path.write_text(json.dumps(items))
    with Store.open(folder / "store.duckdb") as store:
        import_path(store, path, connector_class=JsonListConnector)
        run_analyses(store, Config(), names=("activity",))
        run = latest_run(store, "activity", "all")
        assert run is not None
        people = dict(store.con.execute("SELECT i.native_id, i.person_id FROM identities i").fetchall())
        out: dict[tuple[str, str], float] = {}
        for kind in ("person", "community"):
            for scope_id, metrics in metric_values(store, run, kind).items():
                value = metrics["effort_index"][None]
                assert value is not None
                name = next((native for native, person in people.items() if person == scope_id), scope_id)
                out[(kind, name)] = value
        return out


@pytest.fixture(scope="module")
def both_orders(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[tuple[str, str], float], dict[tuple[str, str], float]]:
    items = community()
    forward = effort_by_scope(tmp_path_factory.mktemp("forward"), items)
    backward = effort_by_scope(tmp_path_factory.mktemp("backward"), list(reversed(items)))
    return forward, backward


def test_effort_index_is_identical_to_the_bit_whatever_the_order(both_orders: tuple[dict[tuple[str, str], float], ...]) -> None:
    forward, backward = both_orders
    assert set(forward) == set(backward) == {("person", p) for p in PEOPLE} | {("community", "community")}
    assert {key: value.hex() for key, value in forward.items()} == {key: value.hex() for key, value in backward.items()}


def test_effort_index_is_the_exact_sum_up_to_the_rounding(both_orders: tuple[dict[tuple[str, str], float], ...]) -> None:
    forward, _ = both_orders
    items = community()
    # Counted here with Python's split, independently of the store's word counts; no reactions.
    terms = {p: [math.log2(1 + len(i["text"].split())) for i in items if i["user"] == p] for p in PEOPLE}
    expected = {("person", p): math.fsum(t) for p, t in terms.items()}
    expected[("community", "community")] = math.fsum(t for values in terms.values() for t in values)
    for key, value in expected.items():
        # At most half a billionth per message from rounding each term (activity.py).
        assert forward[key] == pytest.approx(value, abs=MESSAGES * 0.5e-9 + 1e-12, rel=0)
