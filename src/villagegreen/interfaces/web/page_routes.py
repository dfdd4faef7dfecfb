"""One way to add a page: ``/name`` renders a template and ``/name.json`` returns the same data.

Every route module (routes.py, routes_insights.py, routes_editorial.py) registers its pages here,
so a page and its twin can never disagree. How the data is read is the caller's choice:
:func:`cached_by_path` for pages whose URL names all their data, :func:`read_fresh` for pages
that must show a change the moment it is made (the editor's desk).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from villagegreen.interfaces.web.app import clean, dashboard, render
from villagegreen.store.database import Store

DataFor = Callable[[Request], dict[str, Any]]
Builder = Callable[[Request, Store], dict[str, Any]]


def add_page(app: FastAPI, path: str, template: str, page: str, data_for: DataFor, summary: str, description: str = "") -> None:
    """Register ``path`` (HTML, highlighted as ``page`` in the navigation) and ``path.json`` (in the OpenAPI description)."""

    def handler(as_json: bool) -> Callable[[Request], Response]:
        def respond(request: Request) -> Response:
            data = data_for(request)
            return JSONResponse(data) if as_json else render(request, template, data, page=page)

        return respond

    # The .json route first: "/spaces/{space_id}" would otherwise swallow "/spaces/x.json".
    app.add_api_route(f"{path}.json", handler(True), methods=["GET"], summary=f"{summary} (data)", description=description, tags=["pages"])
    app.add_api_route(path, handler(False), methods=["GET"], summary=summary, include_in_schema=False)


def cached_by_path(build: Builder) -> DataFor:
    """Data cached per store state under the URL path (path parameters included; config and token are fixed per app)."""
    return lambda request: dashboard(request).gate.cached(request.url.path.removesuffix(".json"), lambda store: clean(build(request, store)))


def cached_as(key: Callable[[Request], str], build: Builder) -> DataFor:
    """Data cached per store state under ``key(request)``, for pages whose query string matters."""
    return lambda request: dashboard(request).gate.cached(key(request), lambda store: clean(build(request, store)))


def read_now(request: Request, build: Callable[[Store], dict[str, Any]]) -> dict[str, Any]:
    """``build(store)`` on a store opened read-only for this request, never cached."""
    with dashboard(request).gate.reading() as store:
        data: dict[str, Any] = clean(build(store))
        return data


def read_fresh(build: Builder) -> DataFor:
    """Data read from the store on every request, never cached."""
    return lambda request: read_now(request, lambda store: build(request, store))
