"""Dashboard accounts: users with a role, scrypt password hashes, sessions and a login limit.

- **Users** (table ``users``, migration 10): a name, a role (``facilitator`` may change state,
  ``viewer`` may only read) and ``scrypt$n$r$p$salt$hash`` (hashlib.scrypt, a random 16-byte
  salt per user, base64). The password itself is never stored, logged or printed.
- **Sessions** (table ``sessions``): the browser keeps a random 32-byte token in an HttpOnly,
  SameSite=Strict cookie; the store keeps only its SHA-256 and an expiry
  (:data:`SESSION_HOURS`), so a copy of the store opens no session.
- **Login limit**: :class:`LoginLimiter` refuses a user name after :data:`MAX_FAILURES` wrong
  passwords within :data:`FAILURE_WINDOW_S` seconds (per process), so a password cannot be
  guessed online at speed; it answers 429 with the wait.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import re
import secrets
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from villagegreen.errors import InputError
from villagegreen.store.database import Store

Role = Literal["facilitator", "viewer"]
ROLES: tuple[Role, ...] = ("facilitator", "viewer")
PASSWORD_ENV = "VILLAGEGREEN_NEW_PASSWORD"  # noqa: S105 - the variable's name, not a secret
SESSION_COOKIE = "vg_session"
SESSION_HOURS = 12
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024  # scrypt reads the whole password: bound the work one request can ask for
# scrypt cost: 2^14 x 8 x 1 takes about 50 ms and 16 MiB, the interactive-login figure of the scrypt paper.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
MAX_FAILURES = 5
FAILURE_WINDOW_S = 15 * 60
MAX_TRACKED_NAMES = 10_000
_USERNAME = re.compile(r"[A-Za-z0-9._-]{1,64}")


def hash_password(password: str) -> str:
    """``scrypt$N$r$p$salt$hash`` with a fresh random salt (base64, no padding)."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    return "$".join(("scrypt", str(SCRYPT_N), str(SCRYPT_R), str(SCRYPT_P), _b64(salt), _b64(digest)))


def verify_password(password: str, encoded: str) -> bool:
    """Does ``password`` match ``encoded``? Constant-time comparison; a malformed hash is False."""
    try:
        scheme, n, r, p, salt, expected = encoded.split("$")
        if scheme != "scrypt" or len(password) > MAX_PASSWORD_LENGTH:
            return False
        digest = hashlib.scrypt(password.encode(), salt=_unb64(salt), n=int(n), r=int(r), p=int(p), dklen=32)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(digest, _unb64(expected))


@functools.cache
def _decoy_hash() -> str:
    """Checked against when the user name is unknown, so a wrong name takes as long as a wrong password."""
    return hash_password(secrets.token_urlsafe(16))


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


def check_username(name: str) -> str:
    if not _USERNAME.fullmatch(name):
        raise InputError(f"user name {name!r}: use 1-64 letters, digits, dots, dashes or underscores")
    return name


def check_password(password: str) -> str:
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise InputError(f"the password must have {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters")
    return password


@dataclass(frozen=True, slots=True)
class User:
    username: str
    role: Role
    created_at: datetime
    created_by: str

    def to_dict(self) -> dict[str, Any]:
        return {"username": self.username, "role": self.role, "created_at": self.created_at.isoformat(), "created_by": self.created_by}


def add_user(store: Store, username: str, role: str, password: str, *, actor: str) -> User:
    """A new user; an existing name or a bad role or password is an InputError."""
    check_username(username)
    if role not in ROLES:
        raise InputError(f"role {role!r}: choose facilitator or viewer")
    check_password(password)
    if store.con.execute("SELECT 1 FROM users WHERE username = ?", [username]).fetchall():
        raise InputError(f"user {username!r} exists already; remove it first with `villagegreen users remove {username}`")
    user = User(username, role, datetime.now(UTC), actor)
    store.con.execute("INSERT INTO users VALUES (?, ?, ?, ?, ?)", [username, role, hash_password(password), user.created_at, actor])
    return user


def list_users(store: Store) -> list[User]:
    rows = store.con.execute("SELECT username, role, created_at, created_by FROM users ORDER BY username").fetchall()
    return [User(*row) for row in rows]


def remove_user(store: Store, username: str) -> int:
    """Removes the user and ends their sessions; returns the sessions ended. Unknown name: InputError."""
    if not store.con.execute("SELECT 1 FROM users WHERE username = ?", [username]).fetchall():
        raise InputError(f"no user {username!r}; see `villagegreen users list`")
    with store.transaction():
        ((ended,),) = store.con.execute("SELECT count(*) FROM sessions WHERE username = ?", [username]).fetchall()
        store.con.execute("DELETE FROM sessions WHERE username = ?", [username])
        store.con.execute("DELETE FROM users WHERE username = ?", [username])
    return int(ended)


def count_users(store: Store) -> int:
    ((n,),) = store.con.execute("SELECT count(*) FROM users").fetchall()
    return int(n)


def authenticate(store: Store, username: str, password: str) -> User | None:
    """The user if the password matches, else None (same work whether or not the name exists)."""
    rows = store.con.execute("SELECT username, role, created_at, created_by, password_hash FROM users WHERE username = ?", [username]).fetchall()
    if not rows:
        verify_password(password, _decoy_hash())
        return None
    *fields, encoded = rows[0]
    return User(*fields) if verify_password(password, encoded) else None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(store: Store, username: str, *, hours: float = SESSION_HOURS, now: datetime | None = None) -> str:
    """A new session for ``username``: returns the raw token (for the cookie); stores its hash."""
    moment = now or datetime.now(UTC)
    token = secrets.token_urlsafe(32)
    with store.transaction():
        store.con.execute("DELETE FROM sessions WHERE expires_at <= ?", [moment])  # housekeeping
        store.con.execute("INSERT INTO sessions VALUES (?, ?, ?, ?)", [token_hash(token), username, moment, moment + timedelta(hours=hours)])
    return token


def session_record(store: Store, token: str) -> tuple[str, Role, datetime] | None:
    """(user name, role, expiry) of the session with this token, expired or not; None if unknown."""
    rows = store.con.execute(
        "SELECT u.username, u.role, s.expires_at FROM sessions s JOIN users u ON u.username = s.username WHERE s.token_hash = ?", [token_hash(token)]
    ).fetchall()
    return (rows[0][0], rows[0][1], rows[0][2]) if rows else None


def end_session(store: Store, token: str) -> None:
    store.con.execute("DELETE FROM sessions WHERE token_hash = ?", [token_hash(token)])


class LoginLimiter:
    """At most :data:`MAX_FAILURES` failed logins per user name in a sliding window."""

    def __init__(self, max_failures: int = MAX_FAILURES, window_s: float = FAILURE_WINDOW_S) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def wait_s(self, username: str, *, now: float | None = None) -> float:
        """Seconds until ``username`` may try again (0 when it may now)."""
        moment = time.monotonic() if now is None else now
        with self._lock:
            failures = self._failures[username.lower()]
            while failures and failures[0] <= moment - self.window_s:
                failures.popleft()
            if len(failures) < self.max_failures:
                return 0.0
            return failures[0] + self.window_s - moment

    def failed(self, username: str, *, now: float | None = None) -> None:
        moment = time.monotonic() if now is None else now
        with self._lock:
            if len(self._failures) >= MAX_TRACKED_NAMES:  # a flood of invented names must not grow memory
                stale = [name for name, times in self._failures.items() if not times or times[-1] <= moment - self.window_s]
                for name in stale or list(self._failures)[: MAX_TRACKED_NAMES // 2]:
                    del self._failures[name]
            self._failures[username.lower()].append(moment)

    def succeeded(self, username: str) -> None:
        with self._lock:
            self._failures.pop(username.lower(), None)
