"""Routes for the analysis pages beyond the overview: roles, expertise, topics, consent.

Each page at ``/name`` has its data at ``/name.json`` (listed in ``/openapi.json``); the page
renders exactly that dict. The only state-changing route here is ``POST /settings/consent``
(CSRF token and a facilitator required). Registered by
:func:`villagegreen.interfaces.web.routes.register_routes`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse

from villagegreen.interfaces.web.app import acting_user, dashboard, wants_json
from villagegreen.interfaces.web.forms import csrf_ok, csrf_refused, read_form
from villagegreen.interfaces.web.page_routes import add_page, cached_as
from villagegreen.interfaces.web.pages_consent import change_consent, consent_data
from villagegreen.interfaces.web.pages_expertise import expertise_data
from villagegreen.interfaces.web.pages_roles import roles_data
from villagegreen.interfaces.web.pages_topics import topics_data

Build = Callable[[Request], dict[str, Any]]
MAX_QUERY_CHARS = 2000


def _query(request: Request, name: str) -> str:
    return request.query_params.get(name, "")[:MAX_QUERY_CHARS]


def register_insight_routes(app: FastAPI) -> None:
    """Add the insight pages (and their ``.json`` twins) to ``app``."""
    add_page(
        app, "/roles", "roles.html", "roles",
        cached_as(lambda r: "/roles", lambda r, store: roles_data(store, dashboard(r).config)),
        "Role profiles per period with their evidence; role flex", "Named people only within the consent policy of /people.",
    )  # fmt: skip
    add_page(
        app, "/expertise", "expertise.html", "expertise",
        cached_as(lambda r: f"/expertise?q={_query(r, 'q')}", lambda r, store: expertise_data(store, _query(r, "q"))),
        "Who could answer a question; unanswered questions with suggestions; expert load",
        "Query parameter `q`: the question (up to 2,000 characters). Suggestions carry the past answers behind them.",
    )  # fmt: skip
    add_page(
        app, "/topics", "topics.html", "topics",
        cached_as(lambda r: "/topics", lambda r, store: topics_data(store, dashboard(r).programme)),
        "Emergent topics; goals, gaps and key-message uptake when a programme file is set",
    )  # fmt: skip
    add_page(
        app, "/settings/consent", "consent.html", "settings/consent",
        cached_as(lambda r: f"/settings/consent?find={_query(r, 'find')[:100]}", lambda r, store: consent_data(store, _query(r, "find"))),
        "The consent registry", "Query parameter `find`: people whose name or id matches, to pick one for the form.",
    )  # fmt: skip

    @app.post("/settings/consent", summary="Record a person's consent for one purpose", tags=["actions"])
    async def record_consent(request: Request) -> Response:
        """Form fields: ``person`` (id or unique prefix), ``purpose``, ``status`` (granted|refused),
        ``note`` (optional), ``csrf_token``. Needs a facilitator. Answers JSON with the change and
        its audit entry id for a JSON request, else a redirect to the registry."""

        form = await read_form(request)
        if not csrf_ok(request, form):
            return csrf_refused()
        actor = acting_user(request)
        with dashboard(request).gate.writing() as store:
            change = change_consent(store, form, actor=actor)
        if wants_json(request):
            return JSONResponse(change)
        return RedirectResponse("/settings/consent", status_code=303)
