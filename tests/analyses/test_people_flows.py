"""Health's people measures against a plain-Python count of their definitions.

The engine aggregates messages per person and period before any window function (see
``Health._person_periods``); this oracle walks every message of every person instead, so a
mistake in that shortcut (ties at the first message of a period, history before ``since``, the
community as a scope of its own) shows up as a different number. Random messages among 15
people in two spaces over about 14 months, with gaps long enough to count as reactivation.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest

from tests.analyses.garden import plant_garden
from villagegreen.analyses.framework import Window
from villagegreen.analyses.health import REACTIVATION_DAYS, TOP_N, Health
from villagegreen.analyses.runner import analysis_inputs
from villagegreen.store import Store

T0 = datetime(2025, 1, 3, 9, tzinfo=UTC)
SINCE = datetime(2025, 6, 1, tzinfo=UTC)
METRICS = ("active_people", "new_people", "returning_people", "reactivated_people", "messages", "top10_share")
Key = tuple[datetime | None, str, str, str]


def _fill(store: Store) -> list[tuple[str, str, datetime]]:
    chance = random.Random(7)
    con = store.con
    plant_garden(con, 15, T0)
    written: list[tuple[str, str, datetime]] = []
    for n in range(700):
        author = f"p{min(chance.randrange(15), chance.randrange(15))}"  # a few people write most
        # Clustered days with long silences; whole hours, so the same person often writes twice at one moment.
        at = T0 + timedelta(days=chance.choice([0, 1, 2, 40, 41, 150, 151, 152, 260, 300, 400]) + chance.randrange(25), hours=chance.randrange(3))
        space = chance.choice("ab")
        mid = f"m{n}"
        con.execute("INSERT INTO conversations (id, source_id, space_id, started_at) VALUES (?, 's', ?, ?)", [mid, space, at])
        con.execute(
            "INSERT INTO messages (id, source_id, native_id, space_id, conversation_id, reply_to_id, author_id, sent_at, text, kind, word_count) "
            "VALUES (?, 's', ?, ?, ?, NULL, ?, ?, 'x', 'message', 1)",
            [mid, mid, space, mid, f"i{author[1:]}", at],
        )
        written.append((author, space, at))
    return written


def _month(at: datetime) -> datetime:
    # Stored periods are naive UTC timestamps.
    return datetime(at.year, at.month, 1, tzinfo=UTC).replace(tzinfo=None)


def _oracle(written: list[tuple[str, str, datetime]], grain: str, since: datetime | None) -> dict[Key, float]:
    found: dict[Key, float] = {}
    for kind in ("space", "community"):
        history: dict[tuple[str, str], list[datetime]] = defaultdict(list)
        for person, space, at in written:
            history[(space if kind == "space" else "community", person)].append(at)
        periods: dict[tuple[datetime | None, str], dict[str, list[datetime]]] = defaultdict(lambda: defaultdict(list))
        for (scope, person), times in history.items():
            for at in times:
                if since is None or at >= since:
                    periods[(_month(at) if grain == "month" else None, scope)][person].append(at)
        for (period, scope), people in periods.items():
            counts = sorted((len(times) for times in people.values()), reverse=True)
            new = reactivated = 0
            for person, times in people.items():
                first = min(times)
                everything = history[(scope, person)]
                new += first == min(everything)
                before = [at for at in everything if at < first]
                reactivated += bool(before) and (first - max(before)).total_seconds() >= REACTIVATION_DAYS * 86400
            values = {
                "active_people": len(people), "new_people": new, "returning_people": len(people) - new,
                "reactivated_people": reactivated, "messages": sum(counts), "top10_share": sum(counts[:TOP_N]) / sum(counts),
            }  # fmt: skip
            for metric, value in values.items():
                found[(period, kind, scope, metric)] = float(value)
    return found


@pytest.mark.parametrize("grain", ["month", "all"])
@pytest.mark.parametrize("since", [None, SINCE], ids=["whole history", "window from mid-history"])
def test_people_measures_match_a_count_of_every_message(store: Store, grain: str, since: datetime | None) -> None:
    written = _fill(store)
    inputs = analysis_inputs(store, Window(grain, since), frozenset())  # type: ignore[arg-type]
    rows = Health().compute(inputs).to_pyarrow().to_pylist()
    engine = {(r["period_start"], r["scope_kind"], r["scope_id"], r["metric"]): r["value"] for r in rows if r["metric"] in METRICS}
    oracle = _oracle(written, grain, since)
    assert oracle.keys() == engine.keys()
    if grain == "month" or since is not None:  # the data exercises both (one whole-history period has only newcomers)
        assert any(key[3] == "reactivated_people" and value > 0 for key, value in oracle.items())
        assert any(key[3] == "returning_people" and value > 0 for key, value in oracle.items())
    assert all(engine[key] == pytest.approx(oracle[key], abs=1e-12) for key in oracle)
