"""Signing in and out: ``GET/POST /login`` and ``POST /logout``.

``POST /login`` takes ``username`` and ``password`` (a user from ``villagegreen users add``) or,
when ``VILLAGEGREEN_DASHBOARD_TOKEN`` is set, ``token``; both with the CSRF token of the form.
Answers: 303 to /overview with the cookie set; 401 for a wrong name, password or token (the
same answer for an unknown name and a wrong password); 429 after too many failures for one
name; 403 without a valid CSRF token.
"""

from __future__ import annotations

import math

from fastapi import FastAPI, Request, Response
from fastapi.responses import RedirectResponse

from villagegreen.errors import StoreError
from villagegreen.interfaces.web import accounts, security
from villagegreen.interfaces.web.app import dashboard, render
from villagegreen.interfaces.web.forms import csrf_ok, read_form


def _login_data(request: Request, *, failed: str = "") -> dict[str, object]:
    board = dashboard(request)
    try:
        users = board.gate.cached("accounts:users", accounts.count_users) > 0
    except StoreError:  # a busy store still shows the form; signing in will say why it fails
        users = True
    return {"failed": failed, "users": users, "token": board.token is not None}


def register_account_routes(app: FastAPI) -> None:
    @app.get("/login", include_in_schema=False)
    def login_page(request: Request) -> Response:
        return render(request, "login.html", _login_data(request), page="login")

    @app.post("/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        board = dashboard(request)
        form = await read_form(request)
        if not csrf_ok(request, form):
            return render(request, "login.html", _login_data(request, failed="The form expired; try again."), status_code=403, page="login")
        secure = request.url.scheme == "https"
        if "token" in form:
            if board.token is None or not security.token_matches(board.token, form.get("token")):
                return render(request, "login.html", _login_data(request, failed="That token is not right."), status_code=401, page="login")
            response = RedirectResponse("/overview", status_code=303)
            response.set_cookie(security.TOKEN_COOKIE, board.token, httponly=True, samesite="strict", path="/", secure=secure)
            return response
        username, password = form.get("username", "").strip(), form.get("password", "")
        wait = board.limiter.wait_s(username)
        if wait > 0:
            message = f"Too many failed attempts for this name; try again in {math.ceil(wait / 60)} minute(s)."
            return render(request, "login.html", _login_data(request, failed=message), status_code=429, page="login")
        user = None
        if username and password:
            with board.gate.reading() as store:
                user = accounts.authenticate(store, username, password)
        if user is None:
            board.limiter.failed(username)
            return render(request, "login.html", _login_data(request, failed="That name and password do not match."), status_code=401, page="login")
        board.limiter.succeeded(username)
        with board.gate.writing() as store:
            token = accounts.start_session(store, user.username)
        response = RedirectResponse("/overview", status_code=303)
        response.set_cookie(accounts.SESSION_COOKIE, token, max_age=accounts.SESSION_HOURS * 3600, httponly=True, samesite="strict", path="/", secure=secure)
        return response

    @app.post("/logout", summary="Sign out (ends this browser's session)", tags=["actions"])
    async def logout(request: Request) -> Response:
        """Form field ``csrf_token``; ends the session and clears its cookies, then redirects to /login."""
        form = await read_form(request)
        if not csrf_ok(request, form):
            return render(request, "login.html", _login_data(request, failed="The form expired; try again."), status_code=403, page="login")
        session = request.cookies.get(accounts.SESSION_COOKIE)
        if session:
            with dashboard(request).gate.writing() as store:
                accounts.end_session(store, session)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(accounts.SESSION_COOKIE, path="/")
        response.delete_cookie(security.TOKEN_COOKIE, path="/")
        return response
