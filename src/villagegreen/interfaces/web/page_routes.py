"""One way to add a page: ``/name`` renders a template and ``/name.json`` returns the same data.

Every route module (routes.py, routes_insights.py, routes_editorial.py) registers its pages here,
so a page and its twin can never disagree. Page data is cached per store state:
:func:`cached_by_path` for pages whose URL names all their data, :func:`cached_as` for pages
whose query string matters. A write through the dashboard moves the store gate's write count,
so even the editor's desk shows a change the moment it is made; :func:`read_now` reads
uncached (the answers to a POST).

A cached page keeps its JSON body and its rendered HTML too (:class:`CachedPage`): at a million
messages the data of /threads/ripe is a thousand rows, and serialising or rendering it again
for every request cost more CPU than everything else the request did. The HTML is kept per
signed-in user, rendered with a placeholder where the viewer's CSRF token goes; each response
puts the viewer's own token in its place (a byte replace, not a render). Keyed by the token,
as before, a client that keeps no cookies (wrk, curl, a script) got a new token and so a new
rendering on every request.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.concurrency import run_in_threadpool

from villagegreen.interfaces.web.app import clean, dashboard, render
from villagegreen.interfaces.web.figures import NotAnalysed, NotFound
from villagegreen.store.database import Store

Builder = Callable[[Request, Store], dict[str, Any]]


# Rendered where a viewer's CSRF token goes, then replaced by it: random per process (so no page
# text can contain it by chance or design), hexadecimal like a real token (HTML escaping leaves
# both as they are) and of the same length.
_TOKEN_PLACEHOLDER = secrets.token_hex(32)


class CachedPage:
    """A page's data, with its JSON body and its HTML per signed-in user made at most once each."""

    HTML_VIEWERS = 16  # rendered copies kept per page (one per user and template); beyond that, start again

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self._json: bytes | None = None
        self._html: dict[tuple[Any, ...], tuple[bytes, ...]] = {}
        self._lock = threading.Lock()

    def json_response(self) -> Response:
        if self._json is None:
            self._json = bytes(JSONResponse(self.data).body)  # the same bytes JSONResponse sends
        return Response(self._json, media_type="application/json")

    def ready_response(self, request: Request, template: str, page: str, *, as_json: bool) -> Response | None:
        """The response from bytes made before, or None when they must be made first (serialising
        or rendering a large page takes milliseconds: not on the event loop)."""
        if as_json:
            return None if self._json is None else self.json_response()
        with self._lock:
            parts = self._html.get((template, page, getattr(request.state, "user", None)))
        return None if parts is None else self._with_token(parts, request)

    def html_response(self, request: Request, template: str, page: str) -> Response:
        user = getattr(request.state, "user", None)
        viewer = (template, page, user)
        with self._lock:
            parts = self._html.get(viewer)
        if parts is None:
            token = request.state.csrf_token
            request.state.csrf_token = _TOKEN_PLACEHOLDER
            try:
                rendered = bytes(render(request, template, self.data, page=page).body)
            finally:
                request.state.csrf_token = token
            parts = tuple(rendered.split(_TOKEN_PLACEHOLDER.encode()))
            with self._lock:
                if len(self._html) >= self.HTML_VIEWERS:
                    self._html.clear()
                self._html[viewer] = parts
        return self._with_token(parts, request)

    @staticmethod
    def _with_token(parts: tuple[bytes, ...], request: Request) -> Response:
        return HTMLResponse(parts[0] if len(parts) == 1 else str(request.state.csrf_token).encode().join(parts))


DataFor = Callable[[Request], dict[str, Any] | CachedPage]


def add_page(app: FastAPI, path: str, template: str, page: str, data_for: DataFor, summary: str, description: str = "") -> None:
    """Register ``path`` (HTML, highlighted as ``page`` in the navigation) and ``path.json`` (in the OpenAPI description)."""

    def handler(as_json: bool) -> Callable[[Request], Awaitable[Response]]:
        def respond(request: Request) -> Response:
            data = data_for(request)
            if isinstance(data, CachedPage):
                return data.json_response() if as_json else data.html_response(request, template, page)
            return JSONResponse(data) if as_json else render(request, template, data, page=page)

        async def respond_kept_or_build(request: Request) -> Response:
            # A page whose bytes are kept is answered here, on the event loop; handing it to a
            # worker thread and back cost more than the answer. Anything to build goes to one.
            kept = data_for.peek(request) if isinstance(data_for, CachedData) else None
            if kept is not None:
                response = kept.ready_response(request, template, page, as_json=as_json)
                if response is not None:
                    return response
            return await run_in_threadpool(respond, request)

        return respond_kept_or_build

    if "{" not in path:  # built in the background when the server starts (app.py)
        app.state.warm_pages = [*getattr(app.state, "warm_pages", []), (path, data_for)]
    # The .json route first: "/spaces/{space_id}" would otherwise swallow "/spaces/x.json".
    app.add_api_route(f"{path}.json", handler(True), methods=["GET"], summary=f"{summary} (data)", description=description, tags=["pages"])
    app.add_api_route(path, handler(False), methods=["GET"], summary=summary, include_in_schema=False)


class _Refusal:
    """A page's "not analysed" or "not found" answer, kept like a page: it holds until the store
    changes, and finding it out again costs a store opening (a fifth of a second at 1M)."""

    def __init__(self, error: NotAnalysed | NotFound) -> None:
        self.error = error


def _cached(request: Request, key: str, build: Builder) -> CachedPage:
    def page_or_refusal(store: Store) -> CachedPage | _Refusal:
        try:
            return CachedPage(clean(build(request, store)))
        except (NotAnalysed, NotFound) as error:
            return _Refusal(error)

    found = dashboard(request).gate.cached(key, page_or_refusal)
    if isinstance(found, _Refusal):
        raise found.error.with_traceback(None)
    assert isinstance(found, CachedPage)
    return found


class CachedData:
    """A page's data for a request: built by ``build`` and cached per store state under ``key(request)``."""

    def __init__(self, key: Callable[[Request], str], build: Builder) -> None:
        self.key = key
        self.build = build

    def __call__(self, request: Request) -> CachedPage:
        return _cached(request, self.key(request), self.build)

    def peek(self, request: Request) -> CachedPage | None:
        """The page if it is cached for the store as it is now (its refusal is raised), else None."""
        found = dashboard(request).gate.peek(self.key(request))
        if isinstance(found, _Refusal):
            raise found.error.with_traceback(None)
        return found if isinstance(found, CachedPage) else None


def cached_by_path(build: Builder) -> DataFor:
    """Data cached per store state under the URL path (path parameters included; config and token are fixed per app)."""
    return CachedData(lambda request: request.url.path.removesuffix(".json"), build)


def cached_as(key: Callable[[Request], str], build: Builder) -> DataFor:
    """Data cached per store state under ``key(request)``, for pages whose query string matters."""
    return CachedData(key, build)


def warm_pages(app: FastAPI) -> None:
    """Build every page without path parameters once, in registration order, as a first visitor
    would (errors skipped: the visitor will see them). At a million messages the first build of
    /threads/ripe or /expertise takes seconds; done here, visitors find them cached."""
    for path, data_for in getattr(app.state, "warm_pages", []):
        scope = {"type": "http", "method": "GET", "path": path, "raw_path": path.encode(), "query_string": b"", "headers": [], "app": app,
                 "scheme": "http", "server": ("127.0.0.1", 80), "root_path": "", "path_params": {}}  # fmt: skip
        try:
            data_for(Request(scope))
        except Exception:  # noqa: S112 (a page that cannot be built now is built, or explained, on its first visit)
            continue


def read_now(request: Request, build: Callable[[Store], dict[str, Any]]) -> dict[str, Any]:
    """``build(store)`` on a store opened read-only for this request, never cached."""
    with dashboard(request).gate.reading() as store:
        data: dict[str, Any] = clean(build(store))
        return data
