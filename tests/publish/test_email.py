"""E-mail against a real SMTP server (aiosmtpd) on 127.0.0.1: the bytes it received are parsed
with the standard library's e-mail parser and checked against the story in the store."""

from __future__ import annotations

import email
import re
import socket
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

import pytest

from tests.cli_support import run_cli
from villagegreen.store import Store

from .conftest import Desk, write_config

aiosmtpd_controller = pytest.importorskip("aiosmtpd.controller")


class Inbox:
    """aiosmtpd handler: keeps every envelope (sender, recipients, raw bytes)."""

    def __init__(self) -> None:
        self.received: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.original_content or envelope.content)))
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = _free_port()
    controller = aiosmtpd_controller.Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def test_story_by_email_is_multipart_text_and_html(desk: Desk, tmp_path: Path, smtp: tuple[Inbox, int], capsys: pytest.CaptureFixture[str]) -> None:
    inbox, port = smtp
    config = write_config(tmp_path / "vg.toml", {"name": "news", "kind": "email", "smtp_host": "127.0.0.1", "smtp_port": port,
                                                 "sender": "stories@example.org", "recipients": ["members@example.org", "editor@example.org"]})  # fmt: skip
    code, out, err = run_cli(capsys, "publish", "story", desk.approved, "--to", "news", "--db", desk.db, "--config", config)
    assert code == 0, err
    assert len(inbox.received) == 1
    sender, recipients, raw = inbox.received[0]
    assert sender == "stories@example.org" and recipients == ["members@example.org", "editor@example.org"]
    message = email.message_from_bytes(raw, policy=default)
    assert isinstance(message, EmailMessage)
    with Store.open(desk.db, read_only=True) as store:
        ((title,),) = store.con.execute("SELECT title FROM stories WHERE id = ?", [desk.approved]).fetchall()
        ((body,),) = store.con.execute("SELECT body FROM story_versions WHERE story_id = ? ORDER BY version DESC LIMIT 1", [desk.approved]).fetchall()
        ((remote_id,),) = store.con.execute("SELECT remote_id FROM publications").fetchall()
    assert message["Subject"] == title and message["To"] == "members@example.org, editor@example.org"
    assert message.get_content_type() == "multipart/alternative"
    parts = [part.get_content_type() for part in message.iter_parts()]
    assert parts == ["text/plain", "text/html"]
    plain, rich = message.get_body(("plain",)), message.get_body(("html",))
    assert plain is not None and rich is not None
    text, markup = plain.get_content(), rich.get_content()
    links = set(re.findall(r'"permalink": "(https://[^"]+)"', body))
    assert links and all(f"({url})" in text for url in links)
    assert all(f'href="{url}"' in markup for url in links)
    assert message["Message-ID"] == remote_id and f"story.{desk.approved}." in remote_id
    assert out.startswith(f"published story {desk.approved} to news")
    # Re-running sends nothing more.
    code, out, _ = run_cli(capsys, "publish", "story", desk.approved, "--to", "news", "--db", desk.db, "--config", config)
    assert code == 0 and "already on news" in out and len(inbox.received) == 1


def test_dry_run_shows_the_message_and_sends_nothing(desk: Desk, tmp_path: Path, smtp: tuple[Inbox, int], capsys: pytest.CaptureFixture[str]) -> None:
    inbox, port = smtp
    config = write_config(tmp_path / "vg.toml", {"name": "news", "kind": "email", "smtp_host": "127.0.0.1", "smtp_port": port,
                                                 "sender": "stories@example.org", "recipients": ["members@example.org"]})  # fmt: skip
    code, out, _ = run_cli(capsys, "publish", "story", desk.approved, "--to", "news", "--db", desk.db, "--config", config, "--dry-run")
    assert code == 0 and inbox.received == []
    assert f"SMTP 127.0.0.1:{port} MAIL FROM:<stories@example.org> RCPT TO:<members@example.org>" in out
    shown = email.message_from_string(out.split("\n", 3)[3], policy=default)  # after the two header lines and a blank
    assert shown.get_content_type() == "multipart/alternative" and shown["From"] == "stories@example.org"


def test_unreachable_server_records_nothing(desk: Desk, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path / "vg.toml", {"name": "news", "kind": "email", "smtp_host": "127.0.0.1", "smtp_port": _free_port(),
                                                 "sender": "stories@example.org", "recipients": ["members@example.org"]})  # fmt: skip
    code, out, err = run_cli(capsys, "publish", "story", desk.approved, "--to", "news", "--db", desk.db, "--config", config)
    assert code == 4 and out == "" and err.count("\n") == 1 and "nothing was recorded" in err
    with Store.open(desk.db, read_only=True) as store:
        assert store.con.execute("SELECT count(*) FROM publications").fetchall() == [(0,)]
        assert store.con.execute("SELECT state FROM stories WHERE id = ?", [desk.approved]).fetchall() == [("approved",)]
