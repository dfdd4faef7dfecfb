"""The Matrix client's retries and error mapping, and the [[sources]] config, without a server.

Responses are injected through httpx's MockTransport; their shapes follow the client-server
spec ("Rate limiting": 429 with ``retry_after_ms``; "Standard error response": ``errcode``).
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from villagegreen.config import load_config
from villagegreen.connectors.matrix.client import MatrixClient
from villagegreen.errors import ConfigError, TransientError

TOKEN = "syt_secret_never_shown_42"


def client_for(answers: list[httpx.Response], waits: list[float], seen: list[httpx.Request]) -> MatrixClient:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers.pop(0)

    return MatrixClient("https://matrix.example.org/", TOKEN, label="source t", transport=httpx.MockTransport(handle), sleep=waits.append)


def test_429_waits_as_long_as_the_server_says_then_succeeds() -> None:
    waits: list[float] = []
    seen: list[httpx.Request] = []
    answers = [
        httpx.Response(429, json={"errcode": "M_LIMIT_EXCEEDED", "retry_after_ms": 1500}),
        httpx.Response(429, headers={"Retry-After": "3"}, json={"errcode": "M_LIMIT_EXCEEDED"}),
        httpx.Response(200, json={"user_id": "@a:example.org"}),
    ]
    assert client_for(answers, waits, seen).whoami() == "@a:example.org"
    assert waits == [1.5, 3.0] and len(seen) == 3
    assert all(r.headers["Authorization"] == f"Bearer {TOKEN}" and TOKEN not in str(r.url) for r in seen)


def test_5xx_backs_off_then_gives_a_transient_error() -> None:
    waits: list[float] = []
    answers = [httpx.Response(502) for _ in range(6)]
    with pytest.raises(TransientError, match="server error 502 on /_matrix/client/v3/joined_rooms, still failing after 5 retries") as caught:
        client_for(answers, waits, []).joined_rooms()
    assert waits == [1.0, 2.0, 4.0, 8.0, 16.0] and TOKEN not in str(caught.value)


def test_a_500_mid_run_is_retried() -> None:
    waits: list[float] = []
    answers = [httpx.Response(500), httpx.Response(200, json={"joined_rooms": ["!r:example.org", 7]})]
    assert client_for(answers, waits, []).joined_rooms() == ["!r:example.org"] and waits == [1.0]


@pytest.mark.parametrize("answer", [httpx.Response(401, json={"errcode": "M_UNKNOWN_TOKEN"}), httpx.Response(403, json={"errcode": "M_MISSING_TOKEN"})])
def test_a_rejected_token_is_a_config_error_without_the_token(answer: httpx.Response) -> None:
    with pytest.raises(ConfigError, match="rejected the credentials") as caught:
        client_for([answer], [], []).whoami()
    assert TOKEN not in str(caught.value) and "\n" not in str(caught.value)


def test_history_pages_back_until_a_known_event() -> None:
    pages = [
        httpx.Response(200, json={"chunk": [{"event_id": "$3"}, {"event_id": "$2"}], "end": "t2"}),
        httpx.Response(200, json={"chunk": [{"event_id": "$1"}, {"event_id": "$0"}], "end": "t3"}),
    ]
    seen: list[httpx.Request] = []
    events = list(client_for(pages, [], seen).history("!r:x", "t1", {"$0"}, page_size=2))
    assert [e["event_id"] for e in events] == ["$3", "$2", "$1"]
    assert [r.url.params["from"] for r in seen] == ["t1", "t2"]


def test_sources_config(tmp_path: Path) -> None:
    path = tmp_path / "villagegreen.toml"
    path.write_text('[[sources]]\nname = "c"\nplatform = "matrix"\nhomeserver = "https://m.example.org"\ntoken_env = "T"\nrooms = "joined"\n')
    (source,) = load_config(path).sources
    assert (source.name, source.rooms, source.token_env, source.include_private) == ("c", (), "T", False)
    path.write_text(path.read_text() + 'token = "syt_x"\n')
    with pytest.raises(ConfigError, match="unknown .*token") as caught:
        load_config(path)
    assert "syt_x" not in str(caught.value)
    path.write_text('[[sources]]\nname = "c"\nplatform = "irc"\nhomeserver = "https://m"\ntoken_env = "T"\n')
    with pytest.raises(ConfigError, match="platform must be one of matrix, discourse, slack, mattermost"):
        load_config(path)
    path.write_text('[[sources]]\nname = "c"\nplatform = "slack"\nhomeserver = "https://m"\ntoken_env = "T"\n')
    with pytest.raises(ConfigError, match="unknown field.* homeserver for slack"):
        load_config(path)
