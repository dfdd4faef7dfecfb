"""The dashboard's defences: where it may listen, who may use it, and what a browser may do.

- **Bind address.** On a loopback address (127.0.0.1, ::1, localhost) the dashboard runs
  without login, as a personal tool. Any other address exposes people's conversations to a
  network, so :func:`check_bind` refuses it unless the store has users (``villagegreen users
  add``, see accounts.py) or an access token is configured (``VILLAGEGREEN_DASHBOARD_TOKEN``,
  at least :data:`MIN_TOKEN_LENGTH` characters).
- **Sign-in.** When the store has users or a token is configured, every request needs a
  session (``/login`` with name and password), or the token (``Authorization: Bearer TOKEN``,
  or the ``vg_token`` cookie that ``/login`` sets), whatever the address. Viewers may read;
  every state-changing request needs a facilitator (403 otherwise).
- **Host header.** Without sign-in only loopback host names are answered, so a web page on
  another site cannot reach the dashboard through DNS rebinding.
- **CSRF.** Every state-changing request (POST) carries a token derived from a random per-browser
  cookie and a per-process secret (HMAC); a request from another origin is refused too.
- **Headers.** A Content-Security-Policy with no inline script, no eval and no external origin,
  and the usual hardening headers, on every response.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

from starlette.responses import Response

from villagegreen.errors import ConfigError
from villagegreen.store.database import Store

TOKEN_ENV = "VILLAGEGREEN_DASHBOARD_TOKEN"  # noqa: S105 - the variable's name, not a secret
MIN_TOKEN_LENGTH = 16
TOKEN_COOKIE = "vg_token"  # noqa: S105 - the cookie's name
CSRF_COOKIE = "vg_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
}


def token_from_environment() -> str | None:
    """The configured access token, or None; a token too short to resist guessing is an error."""
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        return None
    if len(token) < MIN_TOKEN_LENGTH:
        raise ConfigError(
            f"{TOKEN_ENV} is {len(token)} characters; use at least {MIN_TOKEN_LENGTH} (e.g. `python -c 'import secrets; print(secrets.token_urlsafe())'`)"
        )
    return token


def is_loopback(host: str) -> bool:
    if host.strip("[]") in LOOPBACK_NAMES or host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None, *, users: int = 0) -> None:
    """Refuse to listen beyond loopback unless users exist in the store (``villagegreen users
    add``) or an access token is set; one line saying what to do."""
    if token is None and users == 0 and not is_loopback(host):
        raise ConfigError(
            f"refusing to serve on {host}: beyond 127.0.0.1 the dashboard needs sign-in; add a user with "
            f"`villagegreen users add NAME --role facilitator`, or set {TOKEN_ENV} (at least {MIN_TOKEN_LENGTH} characters), or use --host 127.0.0.1"
        )


def users_in_store(db: Path) -> int:
    """How many dashboard users the store at ``db`` has (0 when it has no users table yet)."""
    with Store.open(db, read_only=True) as store:
        ((n,),) = store.con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'users'").fetchall()
        if not n:
            return 0
        ((count,),) = store.con.execute("SELECT count(*) FROM users").fetchall()
    return int(count)


def host_allowed(host_header: str | None) -> bool:
    """Is the request's Host header a loopback name (port ignored)?"""
    if not host_header:
        return False
    host = urlsplit(f"//{host_header}").hostname or ""
    return is_loopback(host)


def token_matches(expected: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(expected.encode(), given.encode())


class CsrfSigner:
    """CSRF tokens: HMAC of the browser's random ``vg_csrf`` cookie under a per-process secret.

    A page from another site can make the browser send the cookie (it is SameSite=Strict, so
    modern browsers will not) but cannot read the token printed in our pages, so it cannot
    forge the form field.
    """

    def __init__(self, secret: bytes | None = None) -> None:
        self._secret = secret or secrets.token_bytes(32)

    @staticmethod
    def new_session() -> str:
        return secrets.token_urlsafe(32)

    def token_for(self, session: str) -> str:
        return hmac.new(self._secret, session.encode(), hashlib.sha256).hexdigest()

    def valid(self, session: str | None, token: str | None) -> bool:
        if not session or not token:
            return False
        return hmac.compare_digest(self.token_for(session), token)


def csrf_cookie(session: str) -> str:
    """The Set-Cookie value for a new browser's CSRF session: HttpOnly, SameSite=Strict, path /."""
    carrier = Response()
    carrier.set_cookie(CSRF_COOKIE, session, httponly=True, samesite="strict", path="/")
    return carrier.headers["set-cookie"]


def same_origin(origin: str | None, host_header: str | None, fetch_site: str | None = None) -> bool:
    """True when the request has no Origin header (same-origin form posts from old browsers,
    scripts) or its Origin names the host the request was sent to.

    Under ``Referrer-Policy: no-referrer`` a browser sends ``Origin: null`` even for a form on
    our own page, so a null origin passes only when the browser also says, in
    ``Sec-Fetch-Site``, that the request comes from this same origin (browsers set that header
    themselves; a page cannot forge it).
    """
    if origin is None:
        return True
    if origin == "null":
        return fetch_site == "same-origin"
    if not host_header:
        return False
    return urlsplit(origin).netloc == host_header
