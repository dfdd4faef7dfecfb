"""``ApiClient``: the one HTTP client every live connector calls its platform through.

- ``transport`` is injectable (tests pass ``httpx.MockTransport``; nothing patches globals);
  ``sleep`` is injectable too, so a test can see how long a rate limit made it wait.
- 429: waits ``Retry-After`` (seconds, or an HTTP date), or what ``retry_after`` says (a
  callback for platforms that put it in the body, e.g. Matrix's ``retry_after_ms``), capped at
  ``MAX_WAIT_SECONDS``; 5xx and network errors: exponential backoff 1, 2, 4, ... s. After
  ``max_retries`` retries it raises :class:`~villagegreen.errors.TransientError`.
- A rejected credential (``is_rejected`` decides; default 401) is a
  :class:`~villagegreen.errors.ConfigError` that says which environment variable to fix.
- Secrets travel only in headers given as ``secret_headers`` (``secrets`` names more values to
  keep out of messages, e.g. the API key inside a Basic credential). Every message this module raises is built from the route and status
  only, and :meth:`ApiClient.scrub` removes any secret that still slipped in.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from villagegreen.errors import ConfigError, TransientError

MAX_RETRIES = 5
# Never wait longer than this for one rate-limit pause, whatever the server asks.
MAX_WAIT_SECONDS = 60.0
Params = Mapping[str, str | list[str]]


def _rejected_401(response: httpx.Response, _body: Any) -> bool:
    return response.status_code == 401


class ApiClient:
    """Calls one service as one account; a context manager that closes its connections."""

    def __init__(
        self,
        base_url: str,
        *,
        label: str,
        token_env: str,
        secret_headers: Mapping[str, str] | None = None,
        secrets: tuple[str, ...] = (),
        headers: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] | None = None,
        max_retries: int = MAX_RETRIES,
        timeout: float = 30.0,
        is_rejected: Callable[[httpx.Response, Any], bool] = _rejected_401,
        retry_after: Callable[[httpx.Response, Any], float | None] = lambda _r, _b: None,
    ) -> None:
        self.label = label
        self.token_env = token_env
        # Longest first, so a header value that embeds a key is scrubbed whole.
        self._secrets = sorted({v for v in (*(secret_headers or {}).values(), *secrets) if v}, key=len, reverse=True)
        self._sleep = sleep or time.sleep
        self._max_retries = max_retries
        self._is_rejected = is_rejected
        self._retry_after = retry_after
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={**(headers or {}), **(secret_headers or {})},
            transport=transport,
            timeout=timeout,
        )

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def scrub(self, text: str) -> str:
        """``text`` with every secret this client holds replaced by ``***``."""
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def get(self, path: str, params: Params | None = None, *, optional: bool = False) -> Any:
        """GET ``path`` and return its JSON body (any JSON value); ``optional``: None on 403 or 404."""
        return self.request("GET", path, params=params, optional=optional)

    def request(self, method: str, path: str, *, params: Params | None = None, data: Mapping[str, str] | None = None, optional: bool = False) -> Any:
        route = path.split("?")[0]
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._http.request(method, path, params=params, data=data)
            except httpx.TransportError as error:
                # The exception text names the URL; keep only its class.
                self._retry_or_raise(attempt, f"network error ({type(error).__name__}) on {route}", 2.0 ** (attempt - 1))
                continue
            body = _json(response)
            if self._is_rejected(response, body):
                raise ConfigError(
                    self.scrub(
                        f"{self.label}: the server rejected the credentials ({response.status_code} on {route}); "
                        f"put a valid token in the environment variable {self.token_env or 'named by token_env'}"
                    )
                )
            if response.status_code == 429:
                wait = self._retry_after(response, body)
                self._retry_or_raise(attempt, f"rate limited (429) on {route}", wait if wait is not None else retry_after_header(response))
            elif response.status_code >= 500:
                self._retry_or_raise(attempt, f"server error {response.status_code} on {route}", 2.0 ** (attempt - 1))
            elif optional and response.status_code in (403, 404):
                return None
            elif response.status_code >= 400:
                raise TransientError(self.scrub(f"{self.label}: {method} {route} failed with {response.status_code}; check the source's settings"))
            elif body is _NOT_JSON:
                raise TransientError(self.scrub(f"{self.label}: {route} answered {response.status_code} with a body that is not JSON; is the URL right?"))
            else:
                return body

    def _retry_or_raise(self, attempt: int, what: str, wait: float) -> None:
        if attempt > self._max_retries:
            raise TransientError(self.scrub(f"{self.label}: {what}, still failing after {self._max_retries} retries; run sync again later"))
        self._sleep(min(max(wait, 0.0), MAX_WAIT_SECONDS))


_NOT_JSON: Any = object()


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return _NOT_JSON


def retry_after_header(response: httpx.Response, default: float = 1.0) -> float:
    """Seconds from ``Retry-After``: a number of seconds or an HTTP date (RFC 9110 10.2.3)."""
    header = response.headers.get("Retry-After", "").strip()
    if not header:
        return default
    try:
        return float(header)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return default
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)
