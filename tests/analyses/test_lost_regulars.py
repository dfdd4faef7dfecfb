"""Health's lost regulars and newcomer retention against a plain-Python walk over every message.

The engine joins per-person period rows (``Health._lost_and_retained``); this oracle applies
the definition directly: for each period P with activity in a scope, the people
with REGULAR_MIN_POSTS+ messages in the periods p with P - REGULAR_LOOKBACK_DAYS <= p < P
(period starts, as the engine compares them) who wrote nothing in P. Months of 28 to 31 days
and weeks both exercise the edge of the 90-day lookback (13 weeks are 91 days).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest

from tests.analyses.test_people_flows import SINCE, _fill
from villagegreen.analyses.framework import Window
from villagegreen.analyses.health import REGULAR_LOOKBACK_DAYS, REGULAR_MIN_POSTS, Health
from villagegreen.analyses.runner import analysis_inputs
from villagegreen.store import Store

Key = tuple[datetime, str, str, str]


def _period(at: datetime, grain: str) -> datetime:
    """The period's start as the engine stores it: a naive UTC timestamp (weeks start on Monday)."""
    utc = at.astimezone(UTC)
    start = datetime(utc.year, utc.month, 1, tzinfo=UTC) if grain == "month" else datetime(utc.year, utc.month, utc.day, tzinfo=UTC)
    if grain == "week":
        start -= timedelta(days=start.weekday())
    return start.replace(tzinfo=None)


def _next(period: datetime, grain: str) -> datetime:
    if grain == "week":
        return period + timedelta(days=7)
    return datetime(period.year + period.month // 12, period.month % 12 + 1, 1, tzinfo=UTC).replace(tzinfo=None)


def _oracle(written: list[tuple[str, str, datetime]], grain: str, since: datetime | None) -> dict[Key, float]:
    found: dict[Key, float] = {}
    for kind in ("space", "community"):
        # (scope, period) -> person -> messages, in the window only (as the engine counts them).
        counts: dict[tuple[str, datetime], dict[str, int]] = defaultdict(lambda: defaultdict(int))
        first_ever: dict[tuple[str, str], datetime] = {}
        for person, space, at in written:
            scope = space if kind == "space" else "community"
            first_ever[(scope, person)] = min(first_ever.get((scope, person), at), at)
            if since is None or at >= since:
                counts[(scope, _period(at, grain))][person] += 1
        last = max(period for _, period in counts)
        for (scope, period), present in counts.items():
            regulars: dict[str, int] = defaultdict(int)
            for (other_scope, earlier), people in counts.items():
                if other_scope == scope and period - timedelta(days=REGULAR_LOOKBACK_DAYS) <= earlier < period:
                    for person, n in people.items():
                        regulars[person] += n
            lost = [p for p, n in regulars.items() if n >= REGULAR_MIN_POSTS and p not in present]
            found[(period, kind, scope, "lost_regulars")] = float(len(lost))
            newcomers = [p for p in present if _period(first_ever[(scope, p)], grain) == period]
            if newcomers and period < last:
                stayed = counts.get((scope, _next(period, grain)), {})
                found[(period, kind, scope, "retention_next_period")] = sum(p in stayed for p in newcomers) / len(newcomers)
    return found


@pytest.mark.parametrize("grain", ["month", "week"])
@pytest.mark.parametrize("since", [None, SINCE], ids=["whole history", "window from mid-history"])
def test_lost_regulars_and_retention_match_the_definition(store: Store, grain: str, since: datetime | None) -> None:
    written = _fill(store)
    inputs = analysis_inputs(store, Window(grain, since), frozenset())  # type: ignore[arg-type]
    rows = Health().compute(inputs).to_pyarrow().to_pylist()
    metrics = ("lost_regulars", "retention_next_period")
    engine = {(r["period_start"], r["scope_kind"], r["scope_id"], r["metric"]): r["value"] for r in rows if r["metric"] in metrics}
    oracle = _oracle(written, grain, since)
    assert oracle.keys() == engine.keys()
    assert sum(value for key, value in oracle.items() if key[3] == "lost_regulars") > 0  # the data has lost regulars to find
    assert all(engine[key] == pytest.approx(oracle[key], abs=1e-12) for key in oracle)
