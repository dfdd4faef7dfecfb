"""The dashboard application: ``create_app(db)`` returns a FastAPI app serving the pages,
their ``.json`` twins, the vendored static files and ``/openapi.json``.

Swagger UI and ReDoc are switched off: FastAPI loads them from a CDN, and the dashboard makes
no external request of any kind. The OpenAPI description itself is served at
``/openapi.json``.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from villagegreen import __version__
from villagegreen.config import Config
from villagegreen.errors import InputError, StoreError
from villagegreen.interfaces.web import accounts, security
from villagegreen.interfaces.web.figures import NotAnalysed, NotFound, analyse_command
from villagegreen.interfaces.web.store_access import StoreGate
from villagegreen.store.audit import default_actor

HERE = Path(__file__).resolve().parent
STATIC_PREFIX = "/static"
_OPEN_PATHS = ("/login",)  # reachable without signing in
# State-changing requests any signed-in user may make (ending their own session).
_ANYONE_MAY_POST = ("/login", "/logout")


class NotRunYet(NotAnalysed):
    """A page's analysis has not run; unlike plain NotAnalysed, it names its own command."""

    def __init__(self, message: str, command: str) -> None:
        super().__init__(message)
        self.command = command


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is making a request: a user, the token holder, or the local user on loopback."""

    name: str
    role: accounts.Role
    via: str  # "session" | "token" | "loopback"


@dataclass(frozen=True, slots=True)
class Dashboard:
    """What every request handler needs; kept on ``app.state.dashboard``."""

    gate: StoreGate
    config: Config
    token: str | None
    signer: security.CsrfSigner
    templates: Jinja2Templates
    limiter: accounts.LoginLimiter
    programme: Path | None = None  # goals and key messages for the Topics page
    # Who a loopback request acts as; looked up once (without $USER, a passwd read per request).
    local_actor: str = field(default_factory=default_actor)

    def accounts_enabled(self) -> bool:
        """Must requests sign in? When a token is set or the store has users (cached per store state)."""
        return self.token is not None or self.gate.cached("accounts:users", accounts.count_users) > 0


def create_app(db: Path, config: Config | None = None, *, token: str | None = None, programme: Path | None = None, warm: bool | None = None) -> FastAPI:
    """The dashboard over the store at ``db`` (opened read-only per request, writable only for
    a decision: merge, consent, sign-in). With ``token``, or users in the store, every request
    must sign in; otherwise only loopback host names are answered (see
    :mod:`villagegreen.interfaces.web.security`). ``programme`` (default: the file named by
    ``VILLAGEGREEN_PROGRAMME``) gives the Topics page the programme's goals.

    ``warm`` (default: unless ``VILLAGEGREEN_DASHBOARD_WARM=0``): when the server starts, a
    background thread builds every page without path parameters once, so the first visitors
    of a large store find them cached (see page_routes.warm_pages)."""
    from villagegreen.interfaces.web.accounts_routes import register_account_routes
    from villagegreen.interfaces.web.page_routes import warm_pages
    from villagegreen.interfaces.web.routes import register_routes  # routes need Dashboard from here

    if warm is None:
        warm = os.environ.get("VILLAGEGREEN_DASHBOARD_WARM", "1").strip() != "0"

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if warm:
            threading.Thread(target=warm_pages, args=(app,), name="villagegreen-warm", daemon=True).start()
        yield

    environment = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True, undefined=StrictUndefined)
    app = FastAPI(
        title="Village Green dashboard",
        version=__version__,
        description="Every page has a `.json` twin returning the data the page shows.",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    if programme is None and os.environ.get("VILLAGEGREEN_PROGRAMME"):
        programme = Path(os.environ["VILLAGEGREEN_PROGRAMME"])
    board = Dashboard(StoreGate(db), config or Config(), token, security.CsrfSigner(), Jinja2Templates(env=environment), accounts.LoginLimiter(), programme)
    app.state.dashboard = board
    app.mount(STATIC_PREFIX, StaticFiles(directory=HERE / "static"), name="static")
    app.add_middleware(_Guard)
    _register_error_pages(app)
    # Before register_routes: these /login handlers take precedence over the token-only ones there.
    register_account_routes(app)
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
    user: Principal | None = getattr(request.state, "user", None)
    context = {
        "data": data, "page": page, "csrf_token": request.state.csrf_token, "db": str(board.gate.path), "token_required": board.token is not None,
        "user": None if user is None else {"name": user.name, "role": user.role, "via": user.via},
    }  # fmt: skip
    return board.templates.TemplateResponse(request, template, context, status_code=status_code)


def current_user(request: Request) -> Principal | None:
    """Who signed in for this request (None on open paths such as /login)."""
    user: Principal | None = getattr(request.state, "user", None)
    return user


def acting_user(request: Request) -> str:
    """The audit actor for a change made through the dashboard: ``dashboard:<user name>`` (on an
    open loopback dashboard, the local login name)."""
    user = current_user(request)
    return f"dashboard:{user.name if user is not None else default_actor()}"


def may_change_state(request: Request) -> bool:
    user = current_user(request)
    return user is not None and user.role == "facilitator"


def _signed_in(request: Request, board: Dashboard) -> Principal | None:
    header = request.headers.get("authorization", "")
    given = header[7:].strip() if header.lower().startswith("bearer ") else request.cookies.get(security.TOKEN_COOKIE)
    if board.token is not None and security.token_matches(board.token, given):
        return Principal("token", "facilitator", "token")
    session = request.cookies.get(accounts.SESSION_COOKIE)
    if not session or len(session) > 128:
        return None
    # Cached per store state (any login or logout writes the store); expiry is checked now.
    record = board.gate.cached(f"accounts:session:{accounts.token_hash(session)}", lambda store: accounts.session_record(store, session))
    if record is None or record[2] <= datetime.now(UTC):
        return None
    return Principal(record[0], record[1], "session")


def _authorise(request: Request, board: Dashboard) -> Response | None:
    """Sets ``request.state.user``; returns the refusal when the request may not go on."""
    path = request.url.path
    try:
        required = board.accounts_enabled()
    except StoreError:
        # Users unknown while the store is busy or missing: only a loopback request may go on (its page will say the store is unavailable).
        required = not security.host_allowed(request.headers.get("host"))
        if required:
            return PlainTextResponse("store unavailable; try again in a moment", status_code=503)
    if not required:
        if not security.host_allowed(request.headers.get("host")):
            return PlainTextResponse("this dashboard answers only on 127.0.0.1/localhost", status_code=421)
        request.state.user = Principal(board.local_actor, "facilitator", "loopback")
        return None
    if path.startswith(STATIC_PREFIX) or path in _OPEN_PATHS:
        request.state.user = None
        return None
    try:
        request.state.user = _signed_in(request, board)
    except StoreError:
        return PlainTextResponse("store unavailable; try again in a moment", status_code=503)
    if request.state.user is None:
        if wants_json(request) or request.method != "GET":
            return JSONResponse({"error": "sign in first (POST /login), or send the access token (Authorization: Bearer TOKEN)"}, status_code=401)
        return RedirectResponse("/login", status_code=303)
    if request.method not in ("GET", "HEAD", "OPTIONS") and path not in _ANYONE_MAY_POST and not may_change_state(request):
        return JSONResponse({"error": "viewers may read but not change anything; ask a facilitator"}, status_code=403)
    return None


class _Guard:
    """Sign-in, host and origin checks, the CSRF cookie and the security headers, for every request.

    A plain ASGI middleware: ``app.middleware("http")`` (Starlette's BaseHTTPMiddleware) runs the
    page in a second task and streams its response through a memory channel, which cost about a
    fifth of the CPU of serving a cached page."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        board = dashboard(request)
        path = request.url.path
        refusal = _authorise(request, board)
        if refusal is not None:
            for name, value in security.SECURITY_HEADERS.items():
                refusal.headers.setdefault(name, value)
            await refusal(scope, receive, send)
            return
        if request.method not in ("GET", "HEAD", "OPTIONS") and not security.same_origin(
            request.headers.get("origin"), request.headers.get("host"), request.headers.get("sec-fetch-site")
        ):
            await PlainTextResponse("cross-origin request refused", status_code=403)(scope, receive, send)
            return
        session = request.cookies.get(security.CSRF_COOKIE)
        new_session = session is None or len(session) < 32
        if new_session:
            session = security.CsrfSigner.new_session()
        assert session is not None
        request.state.csrf_session = session
        request.state.csrf_token = board.signer.token_for(session)
        cookie = security.csrf_cookie(session) if new_session else None
        static = path.startswith(STATIC_PREFIX)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in security.SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                if not static:
                    # Pages show what people said: no shared or disk cache may keep them.
                    headers.setdefault("cache-control", "no-store")
                if cookie is not None:
                    headers.append("set-cookie", cookie)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _register_error_pages(app: FastAPI) -> None:
    def not_analysed(request: Request, error: Exception) -> Response:
        command = error.command if isinstance(error, NotRunYet) else analyse_command(str(dashboard(request).gate.path))
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
