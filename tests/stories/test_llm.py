"""The language-model writer: protocol replayed from tests/data/llm, the citation check on crafted
answers, the fallback to the extractive draft, and the CLI against an HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

import villagegreen.interfaces.cli.commands_stories  # noqa: F401 - importing it registers `story`
from villagegreen.errors import ConfigError
from villagegreen.interfaces.cli.app import app
from villagegreen.store import Store
from villagegreen.store.consent import set_consent
from villagegreen.store.ingest import import_path
from villagegreen.stories.llm import WriterSettings, load_settings, request_body, write_story
from villagegreen.stories.llm_check import check, sources, split_sentences
from villagegreen.stories.model import Story, story_from_dict

from .conftest import DEMO

DATA = Path(__file__).resolve().parents[1] / "data" / "llm"
SETTINGS = WriterSettings("http://127.0.0.1:8080/v1", "gemma-3-270m-it", api_key_env="VG_TEST_WRITER_KEY")


def recorded(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / name).read_text(encoding="utf-8"))
    return data


@pytest.fixture
def story() -> Story:
    return story_from_dict(recorded("story.json"))


def replay(exchange: dict[str, Any], seen: list[httpx.Request]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(exchange["response"]["status"], json=exchange["response"]["json"])

    return httpx.MockTransport(handler)


def test_recorded_exchange_replays_and_drops_the_misattributed_and_uncited_sentences(story: Story, monkeypatch: pytest.MonkeyPatch) -> None:
    exchange = recorded("chat_completion_ok.json")
    monkeypatch.setenv("VG_TEST_WRITER_KEY", "sk-test")
    seen: list[httpx.Request] = []
    result = write_story(story, SETTINGS, refused_names={"Dara Quinn"}, transport=replay(exchange, seen))
    (request,) = seen
    assert request.method == "POST" and request.url.path == exchange["request"]["path"]
    assert request.headers["authorization"] == "Bearer sk-test"
    assert json.loads(request.content) == exchange["request"]["json"]  # the protocol has not drifted
    assert result.warning is None
    # The recorded answer has 7 sentences (counted by hand): 5 with a marker that checks out.
    assert result.kept == 5 and len(result.dropped) == 2
    reasons = sorted(d.reason for d in result.dropped)
    assert reasons[0] == "no citation" and "Everyone agreed" in next(d.sentence for d in result.dropped if d.reason == "no citation")
    assert reasons[1].startswith("speaker Ben Okafor did not write")
    texts = [s.text for s in result.story.narrative]
    assert not any("[m" in t for t in texts)  # markers became citations
    chen = next(s for s in result.story.narrative if s.text.startswith("Chen Wu"))
    assert [c.message_id for c in chen.citations] == ["msg-3"] and chen.speaker == "Chen Wu"
    # The marker after the full stop still cites the sentence before it.
    last = result.story.narrative[-1]
    assert last.text.endswith("seedlings.") and [c.message_id for c in last.citations] == ["msg-5"]
    assert result.story.context == story.context and result.story.takeaways == story.takeaways
    assert "2 sentence(s) dropped" in result.story.notes[-1]


def test_request_shows_every_cited_message_once_with_its_marker(story: Story) -> None:
    content = request_body(story, SETTINGS)["messages"][1]["content"]
    markers = sources(story)
    cited = {c.message_id for s in (*story.context[:1], *story.narrative, *story.takeaways, *story.open_points) for c in s.citations}
    assert {m.citation.message_id for m in markers.values()} == cited
    for marker in markers:
        assert f"[{marker}]" in content
    assert markers["m4"].speaker is None  # the member who refused quoting has no name to check against


def test_unauthorized_server_falls_back_to_the_draft_with_one_line(story: Story) -> None:
    result = write_story(story, SETTINGS, transport=replay(recorded("chat_completion_unauthorized.json"), []))
    assert result.story == story
    assert result.warning is not None and "HTTP 401" in result.warning and "\n" not in result.warning


@pytest.mark.parametrize(
    "failure",
    [
        lambda request: (_ for _ in ()).throw(httpx.ConnectError("connection refused", request=request)),
        lambda request: httpx.Response(500, text="boom"),
        lambda request: httpx.Response(200, text="not json"),
        lambda request: httpx.Response(200, json={"choices": []}),
    ],
    ids=["refused", "500", "not-json", "no-choices"],
)
def test_unreachable_or_broken_server_keeps_the_extractive_draft(story: Story, failure: Any) -> None:
    result = write_story(story, SETTINGS, transport=httpx.MockTransport(failure))
    assert result.story == story and result.kept == 0
    assert result.warning is not None and result.warning.endswith("kept the extractive draft")


def answer(content: str) -> httpx.MockTransport:
    return httpx.MockTransport(lambda _request: httpx.Response(200, json={"choices": [{"message": {"role": "assistant", "content": content}}]}))


def test_nothing_surviving_the_check_keeps_the_draft(story: Story) -> None:
    result = write_story(story, SETTINGS, transport=answer("Chen Wu asked the question [m1]. Nobody cited anything."))
    assert result.story == story and len(result.dropped) == 2
    assert result.warning is not None and "none of its 2 sentence(s)" in result.warning


@pytest.mark.parametrize(
    ("sentence", "reason"),
    [
        ("Ben Okafor suggested mulching the beds [m3].", "speaker Ben Okafor"),  # m3 is Chen Wu's
        ("Ben suggested mulching the beds [m3].", "speaker Ben Okafor"),  # a unique first name counts
        ("Ana Silva asked about watering [m9].", "unknown citation m9"),
        ("Ana Silva asked about watering.", "no citation"),
        ("Dara Quinn replied as well [m4].", "names 'Dara Quinn'"),  # refused quoting
        ("dara also answered [m4].", "names 'dara'"),  # a refused first name, any case
        ("Chen Wu said so [m2].", "speaker Chen Wu"),
    ],
)
def test_a_sentence_that_fails_a_check_is_dropped_with_its_reason(story: Story, sentence: str, reason: str) -> None:
    checked = check(sentence, sources(story), {"Dara Quinn"})
    assert not checked.kept
    (dropped,) = checked.dropped
    assert dropped.reason.startswith(reason)


def test_a_refused_name_made_of_common_words_drops_only_the_name_itself(story: Story) -> None:
    checked = check("The group agreed with Chen Wu [m3]. The Doctor said so [m4].", sources(story), {"The Doctor"})
    assert [s.text for s in checked.kept] == ["The group agreed with Chen Wu."]
    assert [d.reason for d in checked.dropped] == ["names 'The Doctor', who asked not to be named"]


def test_sentences_that_check_out_are_kept_with_their_citations(story: Story) -> None:
    markers = sources(story)
    text = (
        "Chen Wu disagreed with Ben Okafor [m3][m2]. A member replied [m4]. The advice was to mulch [m2, m3]. "
        "Ana Silva thanked Chen Wu. [m5]\n- The question stayed open [m1]."
    )
    checked = check(text, markers, {"Dara Quinn"})
    assert not checked.dropped
    assert [s.text for s in checked.kept] == [
        "Chen Wu disagreed with Ben Okafor.", "A member replied.", "The advice was to mulch.", "Ana Silva thanked Chen Wu.", "The question stayed open.",
    ]  # fmt: skip
    assert [[c.message_id for c in s.citations] for s in checked.kept] == [["msg-3", "msg-2"], ["msg-4"], ["msg-2", "msg-3"], ["msg-5"], ["msg-1"]]
    assert [s.speaker for s in checked.kept] == ["Chen Wu", None, None, "Ana Silva", None]


def test_split_sentences_moves_markers_after_the_stop_into_their_sentence() -> None:
    assert split_sentences("One thing. [m1] Two things [m2]. Three! [m3][m4]") == ["One thing [m1].", "Two things [m2].", "Three [m3][m4]!"]


def test_settings_come_from_the_writer_table_and_options_override(tmp_path: Path) -> None:
    config = tmp_path / "villagegreen.toml"
    config.write_text('[writer]\nbase_url = "http://127.0.0.1:11434/v1/"\nmodel = "llama3"\napi_key_env = "MY_KEY"\ntimeout_s = 30\n')
    settings = load_settings(config)
    assert (settings.base_url, settings.model, settings.api_key_env, settings.timeout_s) == ("http://127.0.0.1:11434/v1", "llama3", "MY_KEY", 30.0)
    assert load_settings(config, model="other").model == "other"
    with pytest.raises(ConfigError, match="base URL and a model"):
        load_settings(None)
    with pytest.raises(ConfigError, match="must start with http"):
        load_settings(None, base_url="127.0.0.1:8080", model="m")
    config.write_text("[writer]\nmodel = 3\ntimeout_s = 'soon'\nbase_url = 'http://x'\n")
    with pytest.raises(ConfigError, match="must be numbers"):
        load_settings(config)


class _EchoModel(BaseHTTPRequestHandler):
    """A stand-in chat server: one sentence per note that names its speaker, plus one misattribution."""

    requests: list[dict[str, Any]] = []  # noqa: RUF012 - shared with the test on purpose

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append({"path": self.path, "body": body})
        notes = re.findall(r"^((?:\[m\d+\])+) ([^“\"\]]+?) (?:asked|replied|added|disagreed|gave|thanked|opened)", body["messages"][1]["content"], re.M)
        sentences = [f"{name} took part {refs}." for refs, name in notes if name != "A member"]
        other = next(name for _refs, name in notes if name not in (notes[0][1], "A member"))
        sentences.append(f"{other} opened the thread {notes[0][0]}.")  # the opener is someone else
        reply = {"object": "chat.completion", "choices": [{"index": 0, "message": {"role": "assistant", "content": " ".join(sentences)}}]}
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def local_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EchoModel)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


def test_cli_writer_llm_against_a_local_server_and_fallback(tmp_path: Path, local_server: str) -> None:
    db = tmp_path / "demo.duckdb"
    with Store.open(db) as store:
        import_path(store, DEMO)
        # The conversation with the most people, and one of them who did not open it refuses quoting.
        ((cid,),) = store.con.execute(
            "SELECT m.conversation_id FROM messages m JOIN identities i ON i.id = m.author_id WHERE NOT i.is_bot "
            "GROUP BY 1 ORDER BY count(DISTINCT i.person_id) DESC, 1 LIMIT 1").fetchall()  # fmt: skip
        ((person,),) = store.con.execute(
            "SELECT min(i.person_id) FROM messages m JOIN identities i ON i.id = m.author_id WHERE m.conversation_id = ? "
            "AND i.person_id <> (SELECT i2.person_id FROM messages r JOIN identities i2 ON i2.id = r.author_id WHERE r.id = ?)",
            [cid, cid]).fetchall()  # fmt: skip
        ((refused_name,),) = store.con.execute("SELECT display_name FROM people WHERE id = ?", [person]).fetchall()
        set_consent(store, person, "quoting", "refused", actor="test")
    runner = CliRunner()
    _EchoModel.requests.clear()
    result = runner.invoke(app, ["story", cid, "--db", str(db), "--writer", "llm", "--writer-url", local_server, "--writer-model", "echo"])
    assert result.exit_code == 0, result.output
    (request,) = _EchoModel.requests
    assert request["path"] == "/v1/chat/completions" and request["body"]["model"] == "echo"
    assert refused_name not in json.dumps(request["body"])  # nothing of a refused member leaves the machine
    assert re.search(r"llm writer: kept \d+ sentence\(s\), dropped 1 ", result.output)
    assert "took part" in result.output and "opened the thread" not in result.output
    # The same command with nothing listening: the extractive draft and a one-line warning.
    down = runner.invoke(app, ["story", cid, "--db", str(db), "--writer", "llm", "--writer-url", "http://127.0.0.1:9/v1", "--writer-model", "echo"])
    assert down.exit_code == 0
    assert "warning: llm writer unavailable" in down.output and "took part" not in down.output
    assert "## How the group built its answer" in down.output
