"""The dashboard application: ``create_app(db)`` returns a FastAPI app serving the pages,
their ``.json`` twins, the vendored static files and ``/openapi.json``.

Swagger UI and ReDoc are switched off: FastAPI loads them from a CDN, and the dashboard makes
no external request of any kind. The OpenAPI description itself is served at
``/openapi.json``.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from villagegreen import __version__
from villagegreen.config import Config
from villagegreen.errors import InputError, StoreError
from villagegreen.interfaces.web import security
from villagegreen.interfaces.web.figures import NotAnalysed, NotFound, analyse_command
from villagegreen.interfaces.web.store_access import StoreGate

HERE = Path(__file__).resolve().parent
STATIC_PREFIX = "/static"
_OPEN_PATHS = ("/login",)  # reachable without the access token


@dataclass(frozen=True, slots=True)
class Dashboard:
    """What every request handler needs; kept on ``app.state.dashboard``."""

    gate: StoreGate
    config: Config
    token: str | None
    signer: security.CsrfSigner
    templates: Jinja2Templates


def create_app(db: Path, config: Config | None = None, *, token: str | None = None) -> FastAPI:
    """The dashboard over the store at ``db`` (opened read-only per request, writable only for
    a merge decision). With ``token`` every request must present it; without, only loopback
    host names are answered (see :mod:`villagegreen.interfaces.web.security`)."""
    from villagegreen.interfaces.web.routes import register_routes  # routes need Dashboard from here

    environment = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True, undefined=StrictUndefined)
    app = FastAPI(
        title="Village Green dashboard",
        version=__version__,
        description="Every page has a `.json` twin returning the data the page shows.",
        docs_url=None,
        redoc_url=None,
    )
    app.state.dashboard = Dashboard(StoreGate(db), config or Config(), token, security.CsrfSigner(), Jinja2Templates(env=environment))
    app.mount(STATIC_PREFIX, StaticFiles(directory=HERE / "static"), name="static")
    app.middleware("http")(_guard)
    _register_error_pages(app)
    register_routes(app)
    return app


def dashboard(request: Request) -> Dashboard:
    value: Dashboard = request.app.state.dashboard
    return value


def wants_json(request: Request) -> bool:
    path = request.url.path
    return path.endswith(".json") or "application/json" in request.headers.get("accept", "")


def clean(value: Any) -> Any:
    """JSON has no NaN or infinity: such figures become null (shown as "n/a")."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    return value


def render(request: Request, template: str, data: dict[str, Any], *, status_code: int = 200, page: str = "") -> Response:
    board = dashboard(request)
    context = {"data": data, "page": page, "csrf_token": request.state.csrf_token, "db": str(board.gate.path), "token_required": board.token is not None}
    return board.templates.TemplateResponse(request, template, context, status_code=status_code)


async def _guard(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    board = dashboard(request)
    path = request.url.path
    if board.token is None and not security.host_allowed(request.headers.get("host")):
        return PlainTextResponse("this dashboard answers only on 127.0.0.1/localhost", status_code=421)
    if board.token is not None and not path.startswith(STATIC_PREFIX) and path not in _OPEN_PATHS:
        given = request.cookies.get(security.TOKEN_COOKIE)
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            given = header[7:].strip()
        if not security.token_matches(board.token, given):
            if wants_json(request) or request.method != "GET":
                return JSONResponse({"error": "access token required (Authorization: Bearer TOKEN)"}, status_code=401)
            return RedirectResponse("/login", status_code=303)
    if request.method not in ("GET", "HEAD", "OPTIONS") and not security.same_origin(request.headers.get("origin"), request.headers.get("host")):
        return PlainTextResponse("cross-origin request refused", status_code=403)
    session = request.cookies.get(security.CSRF_COOKIE)
    new_session = session is None or len(session) < 32
    if new_session:
        session = security.CsrfSigner.new_session()
    assert session is not None
    request.state.csrf_session = session
    request.state.csrf_token = board.signer.token_for(session)
    response = await call_next(request)
    for name, value in security.SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if not path.startswith(STATIC_PREFIX):
        # Pages show what people said: no shared or disk cache may keep them.
        response.headers.setdefault("cache-control", "no-store")
    if new_session:
        response.set_cookie(security.CSRF_COOKIE, session, httponly=True, samesite="strict", path="/")
    return response


def _register_error_pages(app: FastAPI) -> None:
    def not_analysed(request: Request, error: Exception) -> Response:
        command = analyse_command(str(dashboard(request).gate.path))
        data = {"status": "not_analysed", "message": f"{error}", "command": command}
        if wants_json(request):
            return JSONResponse(data, status_code=409)
        return render(request, "not_analysed.html", data)

    def problem(status: int, kind: str) -> Callable[[Request, Exception], Response]:
        def handler(request: Request, error: Exception) -> Response:
            data = {"status": kind, "message": str(error)}
            if wants_json(request):
                return JSONResponse(data, status_code=status)
            return render(request, "problem.html", data, status_code=status)

        return handler

    app.add_exception_handler(NotAnalysed, not_analysed)
    app.add_exception_handler(NotFound, problem(404, "not_found"))
    # The store is missing, busy (an import or analyze holds it) or needs a migration.
    app.add_exception_handler(StoreError, problem(503, "store_unavailable"))
    app.add_exception_handler(InputError, problem(400, "bad_request"))
