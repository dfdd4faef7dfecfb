"""Roles: role profiles per person and period with their evidence, and role flex as flows.

Everything comes from :func:`villagegreen.analyses.roles_profiles.roles_report`, which applies
the consent policy of the People page (purpose ``analysis``: refusals appear nowhere, named only
with consent or under ``unrecorded = "show"``, everyone else only in the community's counts);
this module adds no consent logic of its own, only shapes the report for the page and charts.

Charts (Vega-Lite, which has no Sankey): the community's dominant roles per period as stacked
bars; flex as a two-column flow diagram (each move from one role to the next period's role is a
line whose width is the number of moves; a horizontal line is people keeping their role) and
the same moves as a from x to matrix.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from villagegreen.analyses.framework import Window
from villagegreen.analyses.roles_profiles import PARTICIPANT, ROLES, roles_report
from villagegreen.config import Config
from villagegreen.errors import InputError
from villagegreen.interfaces.web.app import NotRunYet
from villagegreen.store.database import Store

NAMED_LIMIT = 30
ROLE_ORDER = (*ROLES, PARTICIPANT)
ROLES_COMMAND = "villagegreen people roles --db {db}"
_WIDTH = 420


def roles_data(store: Store, config: Config) -> dict[str, Any]:
    try:
        report = roles_report(store, config.privacy, Window("month"), limit=NAMED_LIMIT).to_dict()
    except InputError as error:
        raise NotRunYet(str(error), ROLES_COMMAND.format(db=store.path)) from None
    flex = report["flex"]
    stayed = sum(f["count"] for f in flex if f["from"] == f["to"])
    moved = sum(f["count"] for f in flex if f["from"] != f["to"])
    return {
        **report,
        "privacy": {"k_anonymity": config.privacy.k_anonymity, "unrecorded": config.privacy.unrecorded},
        "flex_totals": {"moves": stayed + moved, "kept_role": stayed, "changed_role": moved},
        "charts": {"distribution": distribution_chart(report["distribution"]), "flows": flow_chart(flex), "matrix": matrix_chart(flex)},
    }


def _order(roles: set[str]) -> list[str]:
    return [r for r in ROLE_ORDER if r in roles] + sorted(roles - set(ROLE_ORDER))


def distribution_chart(distribution: dict[str, dict[str, int]]) -> dict[str, Any]:
    values = [{"period": period, "role": role, "people": n} for period, counts in distribution.items() for role, n in counts.items()]
    roles = _order({role for counts in distribution.values() for role in counts})
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "title": "Dominant role per person and month (everyone counted, no names)",
        "width": _WIDTH, "height": 220, "data": {"values": values}, "mark": {"type": "bar"},
        "encoding": {
            "x": {"field": "period", "type": "ordinal", "title": "month", "axis": {"labelAngle": -45}},
            "y": {"field": "people", "type": "quantitative", "stack": True, "title": "people"},
            "color": {"field": "role", "type": "nominal", "scale": {"domain": roles}, "title": "role"},
            "tooltip": [{"field": "period"}, {"field": "role"}, {"field": "people", "type": "quantitative"}],
        },
    }  # fmt: skip


def flow_chart(flex: list[dict[str, Any]]) -> dict[str, Any]:
    """Roles on two columns (before a move, after it), one line per (from, to) pair, width by count."""
    roles = _order({f["from"] for f in flex} | {f["to"] for f in flex})
    rank = {role: i for i, role in enumerate(roles)}
    largest = max((f["count"] for f in flex), default=1)
    links = [
        {"from": f["from"], "to": f["to"], "moves": f["count"], "x": 0, "x2": 1, "y": rank[f["from"]], "y2": rank[f["to"]],
         "width": 1 + 17 * f["count"] / largest}
        for f in flex
    ]  # fmt: skip
    out_of: Counter[str] = Counter()
    into: Counter[str] = Counter()
    for f in flex:
        out_of[f["from"]] += f["count"]
        into[f["to"]] += f["count"]
    nodes = [{"role": r, "side": "before", "x": 0, "y": rank[r], "moves": out_of[r], "label": f"{r} ({out_of[r]})"} for r in roles]
    nodes += [{"role": r, "side": "after", "x": 1, "y": rank[r], "moves": into[r], "label": f"{r} ({into[r]})"} for r in roles]
    x = {"type": "quantitative", "axis": None, "scale": {"domain": [-0.45, 1.45]}}
    y = {"type": "quantitative", "axis": None, "scale": {"domain": [len(roles) - 0.5, -0.5]}}
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "title": "Role flex: from one active month's role to the next",
        "width": _WIDTH, "height": max(40 * len(roles), 120),
        "layer": [
            {"data": {"values": links}, "mark": {"type": "rule", "opacity": 0.45, "strokeCap": "round"},
             "encoding": {"x": {"field": "x", **x}, "x2": {"field": "x2"}, "y": {"field": "y", **y}, "y2": {"field": "y2"},
                          "strokeWidth": {"field": "width", "type": "quantitative", "scale": None, "legend": None},
                          "color": {"field": "from", "type": "nominal", "scale": {"domain": roles}, "title": "from role"},
                          "tooltip": [{"field": "from"}, {"field": "to"}, {"field": "moves", "type": "quantitative"}]}},
            {"data": {"values": nodes}, "mark": {"type": "square", "size": 140, "opacity": 1},
             "encoding": {"x": {"field": "x", **x}, "y": {"field": "y", **y}, "color": {"field": "role", "type": "nominal", "scale": {"domain": roles}},
                          "tooltip": [{"field": "role"}, {"field": "side"}, {"field": "moves", "type": "quantitative"}]}},
            {"data": {"values": nodes}, "mark": {"type": "text", "dx": 0, "dy": -12, "fontSize": 11},
             "encoding": {"x": {"field": "x", **x}, "y": {"field": "y", **y}, "text": {"field": "label"}}},
        ],
    }  # fmt: skip


def matrix_chart(flex: list[dict[str, Any]]) -> dict[str, Any]:
    roles = _order({f["from"] for f in flex} | {f["to"] for f in flex})
    values = [{"from": f["from"], "to": f["to"], "moves": f["count"]} for f in flex]
    axis = {"type": "nominal", "scale": {"domain": roles}}
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "title": "Moves between roles (rows: from, columns: to)",
        "width": 40 * max(len(roles), 3), "height": 40 * max(len(roles), 3), "data": {"values": values},
        "encoding": {"x": {"field": "to", **axis, "title": "to"}, "y": {"field": "from", **axis, "title": "from"}},
        "layer": [
            {"mark": "rect", "encoding": {"color": {"field": "moves", "type": "quantitative", "title": "moves"},
                                          "tooltip": [{"field": "from"}, {"field": "to"}, {"field": "moves", "type": "quantitative"}]}},
            {"mark": {"type": "text", "fontSize": 11}, "encoding": {"text": {"field": "moves", "type": "quantitative"}}},
        ],
    }  # fmt: skip
