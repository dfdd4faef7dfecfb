"""The dashboard's routes: each page at ``/name`` and its data at ``/name.json``.

A page handler opens the store read-only, builds the page's data (a plain dict, see the
``pages_*`` modules) and either renders it or returns it as JSON, so the two can never
disagree. The only state-changing route is the merge decision, which needs a CSRF token.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse

from villagegreen.interfaces.web.app import dashboard, render, wants_json
from villagegreen.interfaces.web.forms import csrf_ok, csrf_refused, read_form
from villagegreen.interfaces.web.page_routes import add_page, cached_by_path
from villagegreen.interfaces.web.pages_overview import overview_data
from villagegreen.interfaces.web.pages_people import decide_merge, people_data
from villagegreen.interfaces.web.pages_settings import settings_data
from villagegreen.interfaces.web.pages_spaces import conversation_data, space_data, spaces_data, unanswered_by_space
from villagegreen.interfaces.web.pages_threads import ripe_threads_data
from villagegreen.interfaces.web.routes_editorial import register_editorial_routes
from villagegreen.interfaces.web.routes_insights import register_insight_routes
from villagegreen.store.database import Store


def _unanswered_by_space(request: Request, store: Store) -> Callable[[], dict[str, list[dict[str, Any]]]]:
    """Every space's open questions, found once per store state for all the space pages."""
    return lambda: dashboard(request).gate.cached("spaces:unanswered", unanswered_by_space, store=store)


def register_routes(app: FastAPI) -> None:
    add_page(
        app, "/overview", "overview.html", "overview", cached_by_path(lambda _r, store: overview_data(store)), "Health at a glance, alerts, monthly charts"
    )
    add_page(app, "/spaces", "spaces.html", "spaces", cached_by_path(lambda _r, store: spaces_data(store)), "Per-space health")
    add_page(
        app,
        "/spaces/{space_id}",
        "space.html",
        "spaces",
        cached_by_path(lambda r, store: space_data(store, r.path_params["space_id"], unanswered=_unanswered_by_space(r, store))),
        "One space: health and conversations",
    )
    add_page(
        app, "/conversations/{conversation_id}", "conversation.html", "spaces",
        cached_by_path(lambda r, store: conversation_data(store, r.path_params["conversation_id"])), "One conversation's reply tree",
    )  # fmt: skip
    add_page(
        app,
        "/threads/ripe",
        "ripe.html",
        "threads/ripe",
        cached_by_path(lambda _r, store: ripe_threads_data(store)),
        "Ripe for wrap-up: each conversation's state and action",
    )
    add_page(
        app, "/people", "people.html", "people", cached_by_path(lambda r, store: people_data(store, dashboard(r).config)), "Time and energy; merge suggestions"
    )
    add_page(
        app, "/settings", "settings.html", "settings",
        cached_by_path(lambda r, store: settings_data(store, dashboard(r).config, token_required=dashboard(r).accounts_enabled())),
        "Sources, facilitators, privacy",
    )  # fmt: skip

    register_insight_routes(app)
    register_editorial_routes(app)

    @app.get("/", include_in_schema=False)
    def home() -> Response:
        return RedirectResponse("/overview", status_code=307)

    @app.post("/people/merge-decisions", summary="Accept or reject a merge suggestion", tags=["actions"])
    async def merge_decision(request: Request) -> Response:
        """Form fields: ``action`` (accept|reject), ``identity_a``, ``identity_b``, ``csrf_token``
        (or the ``X-CSRF-Token`` header). Answers an htmx request with the updated table row, a
        JSON request with the decision, and a plain form post with a redirect to /people."""
        form = await read_form(request)
        if not csrf_ok(request, form):
            return csrf_refused()
        with dashboard(request).gate.writing() as store:
            decision = decide_merge(store, form.get("action", ""), form.get("identity_a", ""), form.get("identity_b", "")).to_dict()
        if request.headers.get("hx-request") == "true":
            return render(request, "_merge_decision.html", decision)
        if wants_json(request):
            return JSONResponse(decision)
        return RedirectResponse("/people", status_code=303)
