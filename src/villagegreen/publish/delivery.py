"""What a publisher sends, and the HTTP client that sends it with retries and no secret leaked.

A :class:`Delivery` is prepared without touching the network, so ``--dry-run`` prints exactly
it: where (method and URL, SMTP server and envelope, or folder), the headers (a secret shown as
``***``), and the body byte for byte. Sending fills the secret in at the last moment.

:class:`Http` retries 429 and 5xx answers and connection failures :data:`MAX_ATTEMPTS` times in
all, waiting what ``Retry-After`` says (seconds or an HTTP date; Matrix's ``retry_after_ms``
too), else 1, 2, 4 s; a wait over :data:`LONGEST_WAIT` s is not sat out but reported.
Every error message has the secret replaced by ``***``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from villagegreen.errors import ConfigError, InputError, TransientError

SECRET = "{secret}"  # noqa: S105 - the placeholder a secret replaces at send time, not a secret
MAX_ATTEMPTS = 4
LONGEST_WAIT = 120.0
TIMEOUT = 30.0


@dataclass(frozen=True, slots=True)
class Delivery:
    where: str
    body: str
    headers: dict[str, str] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)  # the static site: relative path -> content
    method: str = "POST"
    url: str = ""

    def show(self) -> str:
        """The dry-run text: where, headers (secrets masked), then the body or each file."""
        lines = [self.where]
        lines += [f"{name}: {value.replace(SECRET, '***')}" for name, value in self.headers.items()]
        lines.append("")
        if self.files:
            for path, content in self.files.items():
                lines += [f"--- {path} ({len(content.encode())} bytes)", content.rstrip("\n"), ""]
        else:
            lines.append(self.body)
        return "\n".join(lines).rstrip("\n") + "\n"

    def to_dict(self) -> dict[str, Any]:
        return {"where": self.where, "headers": {k: v.replace(SECRET, "***") for k, v in self.headers.items()},
                "body": self.body, "files": self.files}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Remote:
    """The platform's id for what was posted, and a link to it where the platform has one."""

    remote_id: str | None
    url: str | None
    note: str | None = None  # something the facilitator should know (a recipient refused)


def check_length(text: str, limit: int, target_name: str, unit: str = "characters") -> None:
    """Refuse before sending what the platform would refuse or cut (its documented default limit)."""
    size = len(text.encode()) if unit == "bytes" else len(text)
    if size > limit:
        raise InputError(f"target {target_name!r} accepts at most {limit:,} {unit} per post and this is {size:,}; publish it to a site or by e-mail")


def json_body(payload: dict[str, Any]) -> str:
    return json.dumps(payload, ensure_ascii=False, indent=1)


def _wait_for(response: httpx.Response, attempt: int) -> float:
    header = response.headers.get("Retry-After")
    if header:
        try:
            return max(0.0, float(header))
        except ValueError:
            try:
                return max(0.0, (parsedate_to_datetime(header) - datetime.now(UTC)).total_seconds())
            except (TypeError, ValueError):
                pass
    try:
        millis = response.json().get("retry_after_ms")
        if isinstance(millis, int | float):
            return float(millis) / 1000
    except (ValueError, AttributeError):
        pass
    return float(2**attempt)


class Http:
    """One client per publish run; ``transport`` (tests) and ``sleep`` can be replaced."""

    def __init__(self, transport: httpx.BaseTransport | None = None, sleep: Callable[[float], None] = time.sleep) -> None:
        self.client = httpx.Client(transport=transport, timeout=TIMEOUT)
        self.sleep = sleep
        self.requests = 0

    def close(self) -> None:
        self.client.close()

    def send(self, delivery: Delivery, secret: str, *, what: str, url: str | None = None, extra_headers: dict[str, str] | None = None) -> httpx.Response:
        """Send ``delivery`` (its URL, or ``url``) with the secret filled in; the answer, or one-line error."""
        target_url = (url or delivery.url).replace(SECRET, secret)
        headers = {name: value.replace(SECRET, secret) for name, value in delivery.headers.items()} | (extra_headers or {})
        content = delivery.body.encode() if delivery.method != "GET" else None
        for attempt in range(MAX_ATTEMPTS):
            self.requests += 1
            try:
                response = self.client.request(delivery.method, target_url, headers=headers, content=content)
            except httpx.TransportError as error:
                if attempt + 1 == MAX_ATTEMPTS:
                    raise TransientError(_scrub(f"{what}: cannot reach the server ({type(error).__name__}); check the URL and retry", secret)) from None
                self.sleep(float(2**attempt))
                continue
            if response.status_code == 429 or response.status_code >= 500:
                wait = _wait_for(response, attempt)
                if attempt + 1 == MAX_ATTEMPTS or wait > LONGEST_WAIT:
                    raise TransientError(f"{what}: HTTP {response.status_code} after {attempt + 1} attempt(s); nothing was recorded, retry later")
                self.sleep(wait)
                continue
            if response.status_code in (401, 403):
                raise ConfigError(f"{what}: HTTP {response.status_code}, the server refused the credentials; check the token and its scopes")
            if response.status_code >= 400:
                raise InputError(_scrub(f"{what}: HTTP {response.status_code} {_reason(response)}; check the target's settings", secret))
            return response
        raise AssertionError("unreachable")  # pragma: no cover


def answer(response: httpx.Response, what: str, *keys: str) -> dict[str, Any]:
    """The JSON object the platform answered, with ``keys`` present; anything else is one line.

    The request was accepted (2xx), so the post may exist: the message says to look before retrying.
    """
    try:
        data = response.json()
    except ValueError:
        data = None
    if not isinstance(data, dict) or any(key not in data for key in keys):
        raise InputError(f"{what}: HTTP {response.status_code} but not the expected answer (wanted {', '.join(keys)}); "
                         "check the target's URL, and whether it was posted, before retrying")  # fmt: skip
    return data


def _reason(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.text[:200].strip()
    if isinstance(data, dict):
        for key in ("error", "errors", "msg", "message"):
            if data.get(key):
                return str(data[key])[:200]
    return ""


def _scrub(text: str, secret: str) -> str:
    return text.replace(secret, "***") if secret else text
