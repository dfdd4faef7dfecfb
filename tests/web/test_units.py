"""Small pure pieces of the dashboard: the reply tree, figure display, window words, bind checks."""

from __future__ import annotations

from typing import Any

from villagegreen.interfaces.web.figures import direction_text, figure, metric_info, show, window_text
from villagegreen.interfaces.web.pages_spaces import MAX_INDENT, reply_tree
from villagegreen.interfaces.web.security import CsrfSigner, host_allowed, is_loopback, same_origin


def _m(mid: str, parent: str | None) -> dict[str, Any]:
    return {"id": mid, "reply_to_id": parent}


def test_reply_tree_orders_depth_first_with_depths() -> None:
    tree = reply_tree([_m("q", None), _m("a1", "q"), _m("a2", "q"), _m("c1", "a1"), _m("c2", "a2"), _m("c3", "a1")])
    assert [(m["id"], m["depth"]) for m in tree] == [("q", 0), ("a1", 1), ("c1", 2), ("c3", 2), ("a2", 1), ("c2", 2)]


def test_reply_tree_survives_missing_parents_cycles_and_deep_chains() -> None:
    tree = reply_tree([_m("orphan", "deleted"), _m("x", "y"), _m("y", "x"), _m("self", "self")])
    assert sorted(m["id"] for m in tree) == ["orphan", "self", "x", "y"]
    assert {m["id"]: m["depth"] for m in tree}["orphan"] == 0
    chain = [_m("0", None)] + [_m(str(i), str(i - 1)) for i in range(1, 5000)]
    deep = reply_tree(chain)
    assert deep[-1]["depth"] == 4999 and deep[-1]["indent"] == MAX_INDENT


def test_figures_say_their_good_direction() -> None:
    assert figure("reply_coverage_7d", 0.94)["display"] == "94%"
    assert figure("reply_coverage_7d", 0.3)["verdict"] == "attention"
    assert figure("first_reply_median_hours", 2.54)["display"] == "2.5"
    assert direction_text(metric_info("first_reply_median_hours")) == "lower is better"
    assert direction_text(metric_info("top10_share")).startswith("best between")
    assert show("messages", None) == "n/a" and show("messages", 1234.0) == "1,234"


def test_window_words() -> None:
    assert window_text("all:..") == "all time"
    assert window_text("all:2024-01-01..") == "from 2024-01-01"
    assert window_text("month:2024-01-01..2024-07-01") == "2024-01-01 to 2024-07-01 (exclusive)"


def test_loopback_and_origin_rules() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("[::1]") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("10.0.0.1") and not is_loopback("localhost.evil.example")
    assert host_allowed("127.0.0.1:8765") and host_allowed("[::1]:80") and not host_allowed("evil.example:8765") and not host_allowed(None)
    assert same_origin(None, "127.0.0.1:1") and same_origin("http://127.0.0.1:1", "127.0.0.1:1")
    assert not same_origin("http://evil.example", "127.0.0.1:1") and not same_origin("null", "127.0.0.1:1")


def test_csrf_tokens_are_bound_to_their_session() -> None:
    signer = CsrfSigner()
    a, b = signer.new_session(), signer.new_session()
    assert signer.valid(a, signer.token_for(a))
    assert not signer.valid(b, signer.token_for(a)) and not signer.valid(None, signer.token_for(a)) and not signer.valid(a, "")
    assert not CsrfSigner().valid(a, signer.token_for(a))  # a restarted server forgets old tokens
