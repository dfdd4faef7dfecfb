"""Reading the dashboard's form posts and checking their CSRF token, for every route module."""

from __future__ import annotations

from urllib.parse import parse_qs

from fastapi import Request
from fastapi.responses import JSONResponse

from villagegreen.interfaces.web import security
from villagegreen.interfaces.web.app import dashboard

MAX_FORM_BYTES = 16_384  # merge, consent, sign-in and state forms carry a few ids and a token


async def read_form(request: Request, *, max_bytes: int = MAX_FORM_BYTES) -> dict[str, str]:
    """An urlencoded form body (first value of each field); other, oversized or undecodable bodies read as empty."""
    body = await request.body()
    if len(body) > max_bytes or not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return {}
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError:
        return {}
    return {name: values[0] for name, values in fields.items()}


def csrf_ok(request: Request, form: dict[str, str]) -> bool:
    """Does the request carry a CSRF token (header or form field) signed for the cookie it came with?"""
    token = request.headers.get(security.CSRF_HEADER) or form.get(security.CSRF_FIELD)
    # The cookie must have come with the request: a token minted for a cookie set just now
    # (request.state) proves nothing.
    return dashboard(request).signer.valid(request.cookies.get(security.CSRF_COOKIE), token)


def csrf_refused() -> JSONResponse:
    """The answer to a state-changing request without a valid CSRF token."""
    return JSONResponse({"error": "missing or invalid CSRF token; reload the page and try again"}, status_code=403)
