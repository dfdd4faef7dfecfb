"""The raw layer's fast JSON writer says exactly what ``json.dumps`` said before it."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from villagegreen.connectors.slack.raw_json import NonFinite, compact, parse

# Any JSON value without floats: text, any-size integers, nesting (what Slack messages hold).
_SCALARS = st.none() | st.booleans() | st.integers() | st.text()
_JSON = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4), max_leaves=20)


def _reference(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@given(_JSON)
def test_compact_is_byte_identical_to_json_dumps(value: Any) -> None:
    # st.text() includes lone surrogates and integers beyond 64 bits: the json fallback's cases.
    assert compact(value) == _reference(value)


@given(st.recursive(st.floats(allow_nan=False, allow_infinity=False) | _SCALARS, lambda inner: st.lists(inner, max_size=4), max_leaves=10))
def test_floats_read_back_to_the_same_value(value: Any) -> None:
    assert json.loads(compact(value)) == value


def test_nan_and_infinity_are_written_back_as_read_not_as_null() -> None:
    entries = parse(b'[{"score": NaN, "hi": Infinity, "lo": -Infinity, "n": 1}]')
    assert isinstance(entries[0]["score"], NonFinite)
    assert compact(entries[0]) == '{"score":NaN,"hi":Infinity,"lo":-Infinity,"n":1}'


def test_huge_integers_and_lone_surrogates_fall_back_to_json() -> None:
    assert compact({"big": 2**70}) == '{"big":1180591620717411303424}'
    lone = parse(b'["\\ud800 x"]')
    assert lone == ["\ud800 x"]
    assert compact(lone) == _reference(lone)
