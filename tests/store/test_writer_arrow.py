"""The writer's fast timestamp conversion gives the values pyarrow's own zoned conversion gives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from villagegreen.store.staging import _column

ZONED = pa.timestamp("us", tz="UTC")

# Hypothesis takes naive bounds (and naive values stand for UTC in the store).
EARLIEST, LATEST = datetime(1, 1, 2, tzinfo=UTC).replace(tzinfo=None), datetime(9999, 12, 30, tzinfo=UTC).replace(tzinfo=None)
offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(lambda minutes: timezone(timedelta(minutes=minutes)))
aware = st.datetimes(min_value=EARLIEST, max_value=LATEST, timezones=st.one_of(st.just(UTC), offsets))
naive = st.datetimes(min_value=EARLIEST, max_value=LATEST)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(aware, naive, st.none()), max_size=50))
def test_zoned_timestamps_equal_pyarrow_s_conversion(values: list[datetime | None]) -> None:
    assert _column(values, ZONED).equals(pa.array(values, type=ZONED))


def test_an_offset_is_normalised_to_utc_and_other_types_are_left_alone() -> None:
    tokyo = datetime(2024, 1, 1, 9, 0, tzinfo=timezone(timedelta(hours=9)))
    assert _column([tokyo], ZONED).to_pylist() == [datetime(2024, 1, 1, 0, 0, tzinfo=UTC)]
    assert _column(["a", None], pa.string()).to_pylist() == ["a", None]
    assert _column([LATEST], pa.timestamp("us")).type == pa.timestamp("us")
