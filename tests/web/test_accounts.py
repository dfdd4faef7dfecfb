"""Dashboard accounts: scrypt hashes, sessions, roles, the login limit and the bind rule."""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

import villagegreen.interfaces.cli.commands_users  # noqa: F401  (importing it registers `users`)
from tests.web.conftest import client_for, writable_copy
from villagegreen.errors import ConfigError, InputError
from villagegreen.interfaces.cli.app import app as cli_app
from villagegreen.interfaces.web import accounts
from villagegreen.interfaces.web.security import check_bind, same_origin, users_in_store
from villagegreen.store import Store

FACILITATOR, VIEWER = "fay", "vic"
PASSWORDS = {FACILITATOR: "correct horse battery", VIEWER: "viewer staple 12345"}
TOKEN = "a-long-enough-test-token-0123456789"


@pytest.fixture
def users_db(demo_db: Path, tmp_path: Path) -> Path:
    db = writable_copy(demo_db, tmp_path)
    with Store.open(db) as store:
        accounts.add_user(store, FACILITATOR, "facilitator", PASSWORDS[FACILITATOR], actor="test")
        accounts.add_user(store, VIEWER, "viewer", PASSWORDS[VIEWER], actor="test")
    return db


def _csrf(client: TestClient, path: str = "/login") -> str:
    match = re.search(r'name="csrf_token" value="([0-9a-f]+)"', client.get(path).text)
    assert match is not None
    return match.group(1)


def _login(client: TestClient, username: str, password: str) -> int:
    return client.post("/login", data={"username": username, "password": password, "csrf_token": _csrf(client)}, follow_redirects=False).status_code


def _b64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


def test_password_hash_is_salted_scrypt_and_verifies() -> None:
    first, second = accounts.hash_password("a fine password"), accounts.hash_password("a fine password")
    assert first != second  # a fresh salt each time
    scheme, n, r, p, salt, digest = first.split("$")
    assert scheme == "scrypt" and len(_b64(salt)) == 16
    # Recomputed here from the stored parameters: the stored digest is plain hashlib.scrypt.
    assert hashlib.scrypt(b"a fine password", salt=_b64(salt), n=int(n), r=int(r), p=int(p), dklen=32) == _b64(digest)
    assert accounts.verify_password("a fine password", first) and not accounts.verify_password("a fine passwore", first)
    assert not accounts.verify_password("a fine password", "md5$abc") and not accounts.verify_password("x", "garbage")


def test_users_cli_adds_lists_and_removes_without_echoing_the_password(demo_db: Path, tmp_path: Path) -> None:
    db = writable_copy(demo_db, tmp_path)
    runner = CliRunner()
    secret = "a-cli-password-for-tests"
    added = runner.invoke(cli_app, ["users", "add", "maria", "--role", "facilitator", "--db", str(db)], env={"VILLAGEGREEN_NEW_PASSWORD": secret})
    assert added.exit_code == 0, added.output
    assert secret not in added.output
    listed = runner.invoke(cli_app, ["users", "list", "--db", str(db), "--json"])
    assert '"username": "maria"' in listed.output and '"role": "facilitator"' in listed.output and secret not in listed.output
    prompted = runner.invoke(cli_app, ["users", "add", "vera", "--db", str(db)], input="prompted password\nprompted password\n", env={})
    assert prompted.exit_code == 0, prompted.output
    with duckdb.connect(str(db), read_only=True) as con:
        rows = dict(con.execute("SELECT username, role FROM users").fetchall())
        stored = [h for (h,) in con.execute("SELECT password_hash FROM users").fetchall()]
    assert rows == {"maria": "facilitator", "vera": "viewer"}
    assert all(h.startswith("scrypt$") for h in stored)
    assert secret.encode() not in db.read_bytes()
    twice = runner.invoke(cli_app, ["users", "add", "maria", "--db", str(db)], env={"VILLAGEGREEN_NEW_PASSWORD": secret})
    assert twice.exit_code != 0
    removed = runner.invoke(cli_app, ["users", "remove", "maria", "--db", str(db)])
    assert removed.exit_code == 0 and users_in_store(db) == 1


def test_bad_user_input_is_refused() -> None:
    with pytest.raises(InputError, match="user name"):
        accounts.check_username("bad name!")
    with pytest.raises(InputError, match="10 to"):
        accounts.check_password("short")


def test_login_sets_a_strict_cookie_and_stores_only_its_hash(users_db: Path) -> None:
    client = client_for(users_db, base_url="http://dashboard.example")
    assert client.get("/overview", follow_redirects=False).headers["location"] == "/login"
    assert client.get("/overview.json").status_code == 401
    assert _login(client, FACILITATOR, "wrong password!!") == 401
    assert _login(client, "nobody", "wrong password!!") == 401
    response = client.post("/login", data={"username": FACILITATOR, "password": PASSWORDS[FACILITATOR], "csrf_token": _csrf(client)}, follow_redirects=False)
    assert response.status_code == 303
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith(f"{accounts.SESSION_COOKIE}="))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Max-Age=" in cookie
    token = cookie.split(";")[0].split("=", 1)[1]
    assert len(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))) == 32
    with duckdb.connect(str(users_db), read_only=True) as con:
        hashes = [h for (h,) in con.execute("SELECT token_hash FROM sessions").fetchall()]
    assert hashes == [hashlib.sha256(token.encode()).hexdigest()]
    assert token.encode() not in users_db.read_bytes()
    assert client.get("/overview.json").status_code == 200


def test_viewer_reads_but_may_not_post(users_db: Path) -> None:
    client = client_for(users_db, base_url="http://dashboard.example")
    assert _login(client, VIEWER, PASSWORDS[VIEWER]) == 303
    assert client.get("/settings/consent").status_code == 200
    assert 'id="consent-form"' not in client.get("/settings/consent").text
    ((person,),) = duckdb.connect(str(users_db), read_only=True).execute("SELECT id FROM people LIMIT 1").fetchall()
    form = {"person": person, "purpose": "analysis", "status": "granted", "csrf_token": _csrf(client, "/login")}  # a valid token
    assert client.post("/settings/consent", data=form).status_code == 403
    assert client.post("/people/merge-decisions", data={**form, "action": "reject"}).status_code == 403
    with duckdb.connect(str(users_db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM consent").fetchall() == [(0,)]


def test_facilitator_may_post_and_is_the_actor(users_db: Path) -> None:
    client = client_for(users_db, base_url="http://dashboard.example")
    assert _login(client, FACILITATOR, PASSWORDS[FACILITATOR]) == 303
    ((person,),) = duckdb.connect(str(users_db), read_only=True).execute("SELECT id FROM people LIMIT 1").fetchall()
    form = {"person": person, "purpose": "analysis", "status": "granted", "csrf_token": _csrf(client, "/settings/consent")}
    answer = client.post("/settings/consent", data=form, headers={"Accept": "application/json"})
    assert answer.status_code == 200 and answer.json()["actor"] == f"dashboard:{FACILITATOR}"
    with duckdb.connect(str(users_db), read_only=True) as con:
        assert con.execute("SELECT person_id, status, actor FROM consent").fetchall() == [(person, "granted", f"dashboard:{FACILITATOR}")]


def test_expired_session_is_refused_and_logout_ends_it(users_db: Path) -> None:
    client = client_for(users_db, base_url="http://dashboard.example")
    assert _login(client, FACILITATOR, PASSWORDS[FACILITATOR]) == 303
    assert client.get("/overview.json").status_code == 200
    with duckdb.connect(str(users_db)) as con:
        con.execute("UPDATE sessions SET expires_at = ?", [datetime.now(UTC) - timedelta(seconds=1)])
    assert client.get("/overview.json").status_code == 401
    assert _login(client, FACILITATOR, PASSWORDS[FACILITATOR]) == 303
    assert client.get("/overview.json").status_code == 200
    assert client.post("/logout", data={"csrf_token": _csrf(client)}, follow_redirects=False).status_code == 303
    with duckdb.connect(str(users_db), read_only=True) as con:
        live = con.execute("SELECT count(*) FROM sessions WHERE expires_at > now()").fetchall()
    assert live == [(0,)]
    assert client.get("/overview.json").status_code == 401


def test_login_attempts_are_limited_per_user_name(users_db: Path) -> None:
    client = client_for(users_db, base_url="http://dashboard.example")
    for _ in range(accounts.MAX_FAILURES):
        assert _login(client, VIEWER, "not the password") == 401
    assert _login(client, VIEWER, PASSWORDS[VIEWER]) == 429  # even the right password waits
    assert _login(client, FACILITATOR, PASSWORDS[FACILITATOR]) == 303  # other names are not affected
    limiter = accounts.LoginLimiter(max_failures=2, window_s=60)
    limiter.failed("a", now=0.0)
    limiter.failed("a", now=1.0)
    assert limiter.wait_s("a", now=2.0) == pytest.approx(58.0) and limiter.wait_s("A", now=61.0) == 0.0


def test_token_still_opens_the_dashboard_when_users_exist(users_db: Path) -> None:
    client = client_for(users_db, token=TOKEN, base_url="http://dashboard.example")
    assert client.get("/overview.json").status_code == 401
    assert client.get("/overview.json", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert client.post("/login", data={"token": TOKEN, "csrf_token": _csrf(client)}, follow_redirects=False).status_code == 303
    assert client.get("/overview").status_code == 200


def test_bind_beyond_loopback_needs_users_or_a_token(demo_db: Path, users_db: Path) -> None:
    assert users_in_store(demo_db) == 0 and users_in_store(users_db) == 2
    with pytest.raises(ConfigError, match="villagegreen users add"):
        check_bind("0.0.0.0", None, users=users_in_store(demo_db))
    check_bind("0.0.0.0", None, users=users_in_store(users_db))
    check_bind("0.0.0.0", TOKEN, users=0)
    check_bind("127.0.0.1", None, users=0)
    # With users, even loopback asks to sign in (the store holds who may see it).
    assert client_for(users_db).get("/overview.json").status_code == 401
    assert client_for(demo_db).get("/overview.json").status_code == 200


def test_null_origin_passes_only_when_the_browser_says_same_origin() -> None:
    # Chromium sends `Origin: null` for our own form posts under Referrer-Policy: no-referrer.
    assert same_origin("null", "127.0.0.1:8765", "same-origin")
    assert not same_origin("null", "127.0.0.1:8765", "cross-site") and not same_origin("null", "127.0.0.1:8765", None)
    assert same_origin("http://127.0.0.1:8765", "127.0.0.1:8765") and not same_origin("http://evil.example", "127.0.0.1:8765", "same-origin")
