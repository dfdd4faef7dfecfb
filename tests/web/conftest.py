"""Dashboard fixtures: real stores, a live server on 127.0.0.1, and Debian's Chromium.

- ``demo_db``: the shipped Conlang Stack Exchange dump (real data), imported and analysed.
- ``hostile_db``: the demo plus a Telegram group export written here whose messages, author
  names and group name carry script and HTML payloads, imported through the real connector.
- ``chromium``: Playwright driving /usr/bin/chromium (never ``playwright install``). Missing
  Chromium skips the browser tests locally, saying so, and fails them in CI
  (VILLAGEGREEN_REQUIRE_BROWSER or VILLAGEGREEN_REQUIRE_REALDATA set).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient

from villagegreen.analyses.runner import run_analyses
from villagegreen.config import Config, PrivacyConfig
from villagegreen.interfaces.demo import run_demo
from villagegreen.interfaces.web import create_app
from villagegreen.store import Store
from villagegreen.store.ingest import import_path

# Debian's Chromium; VILLAGEGREEN_CHROMIUM points elsewhere (and lets a test of the skip path name a missing one).
CHROMIUM = Path(os.environ.get("VILLAGEGREEN_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]  # fmt: skip
BASE_URL = "http://127.0.0.1"
SCREENSHOTS = Path(os.environ.get("VILLAGEGREEN_SCREENSHOTS", Path(__file__).resolve().parents[2] / "out" / "screenshots"))

SCRIPT_NAME = "<script>window.pwned=1</script> Mallory"
IMG_NAME = '<img src=x onerror="window.pwned=2"> Mallory'
SCRIPT_TEXT = "Look: <script>window.pwned=3</script> and <b>bold</b>"
IMG_TEXT = '<img src=x onerror="window.pwned=4;document.title=\'pwned\'"> <svg onload="window.pwned=5"></svg>'
GROUP_NAME = "<i>Makers</i><script>window.pwned=6</script>"
TWIN_NAME = "Avery Quill"  # two accounts with one full name: a merge suggestion


def hostile_export() -> dict[str, Any]:
    """A Telegram public group export (format: Telegram Desktop's JSON export, as in
    tests/data/telegram) whose content is hostile; invented, no real people."""

    def message(native: int, minute: int, author: str, author_id: str, text: str, reply_to: int | None = None) -> dict[str, Any]:
        item: dict[str, Any] = {
            "id": native, "type": "message", "date": f"2024-05-01T10:{minute:02d}:00", "date_unixtime": str(1714557600 + 60 * minute),
            "from": author, "from_id": author_id, "text": text, "text_entities": [{"type": "plain", "text": text}],
        }  # fmt: skip
        if reply_to is not None:
            item["reply_to_message_id"] = reply_to
        return item

    return {
        "name": GROUP_NAME,
        "type": "public_supergroup",
        "id": 1300000077,
        "messages": [
            message(1, 1, SCRIPT_NAME, "user9001", SCRIPT_TEXT),
            message(2, 2, IMG_NAME, "user9002", IMG_TEXT, reply_to=1),
            message(3, 3, TWIN_NAME, "user9003", "Does anyone have the soldering notes?"),
            message(4, 4, TWIN_NAME, "user9004", "Here they are, on the shelf.", reply_to=3),
            message(5, 5, SCRIPT_NAME, "user9001", "And a reply to the reply.", reply_to=2),
            # A second account under the hostile name: the merge suggestions table shows it too.
            message(6, 6, SCRIPT_NAME, "user9005", "Same name, other account.", reply_to=4),
        ],
    }


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    run_demo(db)
    return db


@pytest.fixture(scope="session")
def hostile_db(demo_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hostile")
    export = folder / "export" / "result.json"
    export.parent.mkdir()
    export.write_text(json.dumps(hostile_export()), encoding="utf-8")
    db = folder / "hostile.duckdb"
    shutil.copyfile(demo_db, db)
    with Store.open(db) as store:
        import_path(store, export.parent, platform="telegram")
        run_analyses(store, Config())
    return db


def writable_copy(db: Path, folder: Path) -> Path:
    copy = folder / f"copy-{db.name}"
    shutil.copyfile(db, copy)
    return copy


SHOW_NAMES = Config(privacy=PrivacyConfig(unrecorded="show"))


def client_for(db: Path, config: Config | None = None, *, token: str | None = None, base_url: str = BASE_URL) -> TestClient:
    return TestClient(create_app(db, config, token=token), base_url=base_url)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def live_server(db: Path, config: Config | None = None) -> Iterator[str]:
    """The dashboard on 127.0.0.1 and a free port, in a thread, for the browser."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(db, config), host="127.0.0.1", port=port, log_level="warning", ws="none", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the dashboard server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def browser_required() -> bool:
    return bool(os.environ.get("VILLAGEGREEN_REQUIRE_BROWSER") or os.environ.get("VILLAGEGREEN_REQUIRE_REALDATA"))


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} not found; install Debian's Chromium: apt-get install -y --no-install-recommends chromium"
        if browser_required():
            pytest.fail(f"browser tests required in CI but {message}")
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    """A fresh browser context and page (1280×900, 30 s timeouts) for one test."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    opened.set_default_timeout(30_000)
    try:
        yield opened
    finally:
        context.close()
