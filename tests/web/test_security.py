"""The dashboard's defences over HTTP: headers, host check, token, CSRF, escaping, bind refusal."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import httpx
import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from tests.web.conftest import IMG_NAME, IMG_TEXT, SCRIPT_NAME, SCRIPT_TEXT, SHOW_NAMES, TWIN_NAME, client_for, free_port, writable_copy
from villagegreen.errors import ConfigError
from villagegreen.interfaces.web import create_app
from villagegreen.interfaces.web.security import CSRF_COOKIE, check_bind

TOKEN = "a-long-enough-test-token-0123456789"
STATIC = Path(__file__).resolve().parents[2] / "src" / "villagegreen" / "interfaces" / "web" / "static"


@pytest.mark.parametrize("path", ["/overview", "/overview.json", "/static/vendor/htmx.min.js", "/nope"])
def test_security_headers_on_every_response(demo_db: Path, path: str) -> None:
    response = client_for(demo_db).get(path)
    csp = response.headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'self'" and directives["script-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp and "http" not in csp and "*" not in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"


def test_foreign_host_header_is_refused_without_token(demo_db: Path) -> None:
    # A DNS-rebinding page reaches 127.0.0.1 under its own host name.
    assert client_for(demo_db, base_url="http://evil.example").get("/overview.json").status_code == 421
    assert client_for(demo_db, base_url="http://localhost:8765").get("/overview.json").status_code == 200


def test_token_is_required_when_configured(demo_db: Path) -> None:
    client = client_for(demo_db, token=TOKEN, base_url="http://dashboard.example")
    assert client.get("/overview.json").status_code == 401
    page = client.get("/overview", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/login"
    assert client.get("/overview.json", headers={"Authorization": "Bearer wrong-token-wrong-token"}).status_code == 401
    assert client.get("/overview.json", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    login = client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([0-9a-f]+)"', login.text)
    assert csrf is not None
    refused = client.post("/login", data={"csrf_token": csrf.group(1), "token": "not-the-token-at-all"}, follow_redirects=False)
    assert refused.status_code == 401
    accepted = client.post("/login", data={"csrf_token": csrf.group(1), "token": TOKEN}, follow_redirects=False)
    assert accepted.status_code == 303
    assert client.get("/overview").status_code == 200  # the cookie from /login now opens pages


def test_bind_beyond_loopback_needs_a_token() -> None:
    for host in ("127.0.0.1", "localhost", "::1", "127.0.0.2"):
        check_bind(host, None)
    for host in ("0.0.0.0", "192.168.1.10", "::", "example.org"):
        with pytest.raises(ConfigError, match="VILLAGEGREEN_DASHBOARD_TOKEN"):
            check_bind(host, None)
        check_bind(host, TOKEN)


def _serve(db: Path, *args: str, token: str | None = None) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != "VILLAGEGREEN_DASHBOARD_TOKEN"}
    if token:
        env["VILLAGEGREEN_DASHBOARD_TOKEN"] = token
    command = [sys.executable, "-c", "from villagegreen.interfaces.cli import main; main()", "serve", "--db", str(db), *args]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_serve_refuses_a_public_address_without_token(demo_db: Path) -> None:
    process = _serve(demo_db, "--host", "0.0.0.0", "--port", str(free_port()))
    _, err = process.communicate(timeout=60)
    assert process.returncode == 2
    assert err.strip().startswith("error: refusing to serve on 0.0.0.0") and len(err.strip().splitlines()) == 1
    short = _serve(demo_db, "--host", "0.0.0.0", token="short")
    _, err = short.communicate(timeout=60)
    assert short.returncode == 2 and "use at least 16" in err


def test_serve_answers_on_loopback(demo_db: Path) -> None:
    port = free_port()
    process = _serve(demo_db, "--port", str(port))
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/settings.json", timeout=5)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.communicate()[1]
                assert time.monotonic() < deadline, "serve did not answer within 60 s"
                time.sleep(0.3)
        assert response.status_code == 200 and response.json()["sources"][0]["connector"] == "stackexchange"
        assert "server" not in response.headers
    finally:
        process.terminate()
        process.communicate(timeout=30)


def _twin_suggestion(client: TestClient) -> dict[str, str]:
    suggestions = client.get("/people.json").json()["merge_suggestions"]["suggestions"]
    (twin,) = [s for s in suggestions if s["names"] == [TWIN_NAME, TWIN_NAME]]
    return dict(twin)


def _csrf(client: TestClient) -> str:
    html = client.get("/people").text
    match = re.search(r'name="csrf_token" value="([0-9a-f]+)"', html)
    assert match is not None
    return match.group(1)


def _rejections(db: Path) -> list[tuple[str, str, str]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return [tuple(r) for r in con.execute("SELECT identity_a, identity_b, actor FROM people_merge_rejections").fetchall()]


def test_every_post_needs_a_csrf_token(hostile_db: Path, tmp_path: Path) -> None:
    db = writable_copy(hostile_db, tmp_path)
    client = client_for(db)
    twin = _twin_suggestion(client)
    form = {"action": "reject", "identity_a": twin["identity_a"], "identity_b": twin["identity_b"]}
    post_routes = [r.path for r in create_app(db).routes if isinstance(r, APIRoute) and "POST" in (r.methods or set())]
    assert "/people/merge-decisions" in post_routes
    for path in post_routes:
        assert client.post(path, data=form).status_code == 403, f"{path} accepted a POST without CSRF token"
    assert client.post("/people/merge-decisions", data={**form, "csrf_token": "0" * 64}).status_code == 403
    token = _csrf(client)
    other = client_for(db)  # another browser: its own cookie, so this token is not valid for it
    other.get("/people")
    assert other.post("/people/merge-decisions", data={**form, "csrf_token": token}).status_code == 403
    foreign = client.post("/people/merge-decisions", data={**form, "csrf_token": token}, headers={"Origin": "http://evil.example"})
    assert foreign.status_code == 403
    assert _rejections(db) == []
    done = client.post("/people/merge-decisions", data={**form, "csrf_token": token}, headers={"Accept": "application/json"})
    assert done.status_code == 200 and done.json()["action"] == "rejected"
    assert [(a, b) for a, b, _ in _rejections(db)] == [tuple(sorted((twin["identity_a"], twin["identity_b"])))]
    assert _rejections(db)[0][2].startswith("dashboard:")
    assert not any(s["names"] == [TWIN_NAME, TWIN_NAME] for s in client.get("/people.json").json()["merge_suggestions"]["suggestions"])


def test_accepting_a_suggestion_merges_the_people(hostile_db: Path, tmp_path: Path) -> None:
    db = writable_copy(hostile_db, tmp_path)
    client = client_for(db)
    twin = _twin_suggestion(client)
    form = {"action": "accept", "identity_a": twin["identity_a"], "identity_b": twin["identity_b"], "csrf_token": _csrf(client)}
    response = client.post("/people/merge-decisions", data=form, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/people"
    with duckdb.connect(str(db), read_only=True) as con:
        people = {p for (p,) in con.execute("SELECT person_id FROM identities WHERE id IN (?, ?)", [twin["identity_a"], twin["identity_b"]]).fetchall()}
        log = con.execute("SELECT kind, actor FROM people_merges").fetchall()
    assert len(people) == 1
    assert len(log) == 1 and log[0][0] == "merge" and log[0][1].startswith("dashboard:")


def test_csrf_cookie_is_http_only_and_strict(demo_db: Path) -> None:
    cookie = client_for(demo_db).get("/overview").headers["set-cookie"]
    assert cookie.startswith(f"{CSRF_COOKIE}=") and "HttpOnly" in cookie and "SameSite=strict" in cookie


def _escaped(raw: str) -> str:
    for char, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&#34;"), ("'", "&#39;")):
        raw = raw.replace(char, entity)
    return raw


def test_user_content_is_escaped_in_html(hostile_db: Path) -> None:
    client = client_for(hostile_db, SHOW_NAMES)
    spaces = client.get("/spaces.json").json()["spaces"]
    (space,) = [s for s in spaces if s["source"] != "conlang.stackexchange.com"]
    (conversation,) = [c for c in client.get(f"/spaces/{space['id']}.json").json()["conversations"] if "pwned=3" in c["title"]]
    pages = ["/spaces", f"/spaces/{space['id']}", f"/conversations/{conversation['id']}", "/people", "/overview"]
    seen_escaped = set()
    for path in pages:
        html = client.get(path).text
        assert "<script>window.pwned" not in html and "<img src=x" not in html and "<svg onload" not in html, path
        for raw in (SCRIPT_TEXT, IMG_TEXT, SCRIPT_NAME, IMG_NAME):
            if _escaped(raw) in html:
                seen_escaped.add(raw)
    assert seen_escaped == {SCRIPT_TEXT, IMG_TEXT, SCRIPT_NAME, IMG_NAME}
    data = client.get(f"/conversations/{conversation['id']}.json")
    assert data.headers["content-type"] == "application/json"
    assert {m["text"] for m in data.json()["messages"]} >= {SCRIPT_TEXT, IMG_TEXT}


def test_vendored_files_match_their_record() -> None:
    record = (STATIC / "VENDORED.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| (vendor/\S+) \|.*\| ([0-9a-f]{64}) \|$", record, flags=re.MULTILINE)
    assert len(rows) == 5
    for name, digest in rows:
        assert hashlib.sha256((STATIC / name).read_bytes()).hexdigest() == digest, name
    assert sorted(p.name for p in (STATIC / "vendor").glob("*.js")) == sorted(Path(n).name for n, _ in rows)
