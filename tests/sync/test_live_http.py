"""The shared HTTP client of the live connectors, and the per-platform [[sources]] fields.

Responses are injected through httpx's MockTransport; Retry-After follows RFC 9110 section 10.2.3
(seconds, or an HTTP date).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import httpx
import pytest

from tests.sync.test_sync_failure import run_cli
from villagegreen.config import load_config
from villagegreen.connectors.live.http import MAX_WAIT_SECONDS, ApiClient
from villagegreen.errors import ConfigError, TransientError

SECRET = "key_planted_5e1f0a9d"


def client(answers: list[httpx.Response | Exception], waits: list[float]) -> ApiClient:
    def handle(request: httpx.Request) -> httpx.Response:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return ApiClient(
        "https://api.example.org/", label="source t", token_env="T", secret_headers={"X-Key": SECRET},
        transport=httpx.MockTransport(handle), sleep=waits.append,
    )  # fmt: skip


def test_retry_after_as_seconds_or_a_date_and_capped() -> None:
    waits: list[float] = []
    soon = format_datetime(datetime.now(UTC) + timedelta(seconds=20), usegmt=True)
    answers: list[httpx.Response | Exception] = [
        httpx.Response(429, headers={"Retry-After": "2.5"}),
        httpx.Response(429, headers={"Retry-After": soon}),
        httpx.Response(429, headers={"Retry-After": "3600"}),
        httpx.Response(200, json={"ok": True}),
    ]
    assert client(answers, waits).get("/x") == {"ok": True}
    assert waits[0] == 2.5 and 15 < waits[1] <= 20 and waits[2] == MAX_WAIT_SECONDS


def test_network_errors_back_off_then_one_line_without_the_secret() -> None:
    waits: list[float] = []
    answers: list[httpx.Response | Exception] = [httpx.ConnectError(f"boom {SECRET}") for _ in range(6)]
    with pytest.raises(TransientError, match=r"network error \(ConnectError\) on /x, still failing after 5 retries") as caught:
        client(answers, waits).get("/x?key=1")
    assert waits == [1.0, 2.0, 4.0, 8.0, 16.0] and SECRET not in str(caught.value) and "\n" not in str(caught.value)


def test_a_401_names_the_variable_and_a_404_is_transient() -> None:
    with pytest.raises(ConfigError, match="rejected the credentials .* environment variable T$"):
        client([httpx.Response(401)], []).get("/x")
    with pytest.raises(TransientError, match="GET /missing failed with 404"):
        client([httpx.Response(404, json={})], []).get("/missing")
    with pytest.raises(TransientError, match="not JSON"):
        client([httpx.Response(200, text="<html>")], []).get("/x")


def test_the_secret_travels_only_in_its_header() -> None:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=[])

    api = ApiClient("https://api.example.org", label="s", token_env="T", secret_headers={"X-Key": SECRET}, transport=httpx.MockTransport(handle))
    api.get("/x", {"a": "1"})
    assert seen[0].headers["X-Key"] == SECRET and SECRET not in str(seen[0].url)
    assert api.scrub(f"oops {SECRET}") == "oops ***"


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "villagegreen.toml"
    path.write_text(body)
    return path


def test_each_platform_declares_its_fields(tmp_path: Path) -> None:
    config = load_config(
        write(
            tmp_path,
            '[[sources]]\nname = "f"\nplatform = "discourse"\nurl = "https://forum.example.org"\napi_username = "system"\ntoken_env = "K"\n'
            '[[sources]]\nname = "s"\nplatform = "slack"\ntoken_env = "S"\nchannels = ["#general", "C0123"]\nthread_lookback_days = 3\n'
            '[[sources]]\nname = "m"\nplatform = "mattermost"\nurl = "https://chat.example.org"\ntoken_env = "M"\n',
        )
    )
    forum, slack, chat = config.sources
    assert (forum.url, forum.api_username, forum.token_env) == ("https://forum.example.org", "system", "K")
    assert (slack.channels, slack.thread_lookback_days, slack.include_private) == (("#general", "C0123"), 3, False)
    assert (chat.url, chat.channels) == ("https://chat.example.org", ())
    with pytest.raises(ConfigError, match="a discourse source needs api_username"):
        load_config(write(tmp_path, '[[sources]]\nname = "f"\nplatform = "discourse"\nurl = "https://f.example.org"\ntoken_env = "K"\n'))
    with pytest.raises(ConfigError, match="unknown field.*token for slack") as caught:
        load_config(write(tmp_path, '[[sources]]\nname = "s"\nplatform = "slack"\ntoken_env = "S"\ntoken = "xoxb-1-2-secret"\n'))
    assert "xoxb-1-2-secret" not in str(caught.value)
    with pytest.raises(ConfigError, match="url must be a URL"):
        load_config(write(tmp_path, '[[sources]]\nname = "m"\nplatform = "mattermost"\nurl = "chat.example.org"\ntoken_env = "M"\n'))


def test_cli_names_the_missing_variable_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VG_UNSET_KEY", raising=False)
    config = write(
        tmp_path, '[[sources]]\nname = "f"\nplatform = "discourse"\nurl = "https://forum.example.org"\napi_username = "system"\ntoken_env = "VG_UNSET_KEY"\n'
    )
    code, out, err = run_cli(capsys, "sync", "--db", str(tmp_path / "vg.duckdb"), "--config", str(config))
    assert code != 0 and out == "" and len(err.strip().splitlines()) == 1 and "VG_UNSET_KEY is not set" in err


def test_zulip_and_teams_fields(tmp_path: Path) -> None:
    zulip, teams = load_config(
        write(
            tmp_path,
            '[[sources]]\nname = "z"\nplatform = "zulip"\nurl = "https://z.example.org"\nemail = "bot@z.example.org"\ntoken_env = "Z"\n'
            '[[sources]]\nname = "t"\nplatform = "teams"\nteam_id = "team-1"\ntenant_id = "tenant"\nclient_id = "app"\ntoken_env = "T"\n',
        )
    ).sources
    assert (zulip.email, teams.team_id, teams.tenant_id, teams.client_id) == ("bot@z.example.org", "team-1", "tenant", "app")
    with pytest.raises(ConfigError, match="both tenant_id and client_id"):
        load_config(write(tmp_path, '[[sources]]\nname = "t"\nplatform = "teams"\nteam_id = "x"\ntenant_id = "tenant"\ntoken_env = "T"\n'))
    with pytest.raises(ConfigError, match="a zulip source needs email"):
        load_config(write(tmp_path, '[[sources]]\nname = "z"\nplatform = "zulip"\nurl = "https://z.example.org"\nemail = 7\ntoken_env = "Z"\n'))
    with pytest.raises(ConfigError, match="tenant_id must be a non-empty string"):
        load_config(write(tmp_path, '[[sources]]\nname = "t"\nplatform = "teams"\nteam_id = "x"\ntenant_id = 7\nclient_id = "a"\ntoken_env = "T"\n'))
