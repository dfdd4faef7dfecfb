"""The Stack Exchange data dump connector, checked against facts counted independently of it."""

from __future__ import annotations

import html
import json
import re
import shutil
import tempfile
import time
import zipfile
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from villagegreen.connectors.base import ReadContext
from villagegreen.connectors.registry import detect
from villagegreen.connectors.stackexchange import StackExchangeConnector
from villagegreen.connectors.stackexchange.mapping import parse_tags, parse_time, vote_kind
from villagegreen.connectors.tree import SourceTree
from villagegreen.errors import InputError
from villagegreen.model import Message, Reaction, Skipped
from villagegreen.store import Store
from villagegreen.store.ingest import import_path
from villagegreen.store.report import ImportReport

EXCERPT = Path(__file__).resolve().parent.parent / "data" / "stackexchange" / "conlang"
REAL = ("conlang", "quantumcomputing")

_ROW = re.compile(r"^\s*<row\b(.*?)/>\s*$")
_ATTR = re.compile(r'(\w+)="([^"]*)"')


def rows(path: Path) -> list[dict[str, str]]:
    """Rows by a line regex: the dumps write one <row/> per line (a different reader from the connector's)."""
    found = []
    for line in path.read_text(encoding="utf-8-sig").splitlines():
        if match := _ROW.match(line):
            found.append({name: html.unescape(value) for name, value in _ATTR.findall(match.group(1))})
    return found


def imp(store: Store, path: Path) -> ImportReport:
    # Names the connector so these tests do not depend on the other built-ins being importable;
    # detection through the registry has its own test.
    return import_path(store, path, connector_class=StackExchangeConnector)


def scalar(store: Store, sql: str, *params: object) -> object:
    return store.con.execute(sql, list(params)).fetchone()[0]  # type: ignore[index]


# -- real data ------------------------------------------------------------------------------


@pytest.mark.realdata
@pytest.mark.parametrize("site", REAL)
def test_real_dump_imports_with_independent_counts(shared_data: Path, store: Store, site: str) -> None:
    folder = shared_data / "stackexchange" / site
    posts = rows(folder / "Posts.xml")
    questions = {p["Id"]: p for p in posts if p["PostTypeId"] == "1"}
    answers = {p["Id"]: p for p in posts if p["PostTypeId"] == "2" and p["ParentId"] in questions}
    kept = questions.keys() | answers.keys()
    comments = [c for c in rows(folder / "Comments.xml") if c["PostId"] in kept]
    votes = [v for v in rows(folder / "Votes.xml") if v["PostId"] in kept]

    report = imp(store, folder)

    assert report.connector == "stackexchange"
    assert report.source_name == f"{site}.stackexchange.com"
    kinds = dict(store.con.execute("SELECT kind, count(*) FROM messages GROUP BY kind").fetchall())
    assert kinds == {"question": len(questions), "answer": len(answers), "comment": len(comments)}
    assert scalar(store, "SELECT count(*) FROM conversations") == len(questions)
    assert scalar(store, "SELECT sum(count) FROM reactions") == len(votes)
    assert scalar(store, "SELECT count(*) FROM reactions WHERE identity_id IS NOT NULL") == sum("UserId" in v for v in votes)
    skipped: Counter[str] = Counter()
    for (kind, _reason), n in report.skipped.items():
        skipped[kind] += n
    assert skipped["vote"] == len(rows(folder / "Votes.xml")) - len(votes)
    assert skipped["post"] == len(posts) - len(kept)

    # Answers per question: the AnswerCount attribute agrees with the ParentId rows (both hold
    # in these dumps), and the store's threads agree with both.
    by_parent = Counter(a["ParentId"] for a in answers.values())
    assert all(int(q.get("AnswerCount", "0")) == by_parent[qid] for qid, q in questions.items())
    stored = dict(
        store.con.execute(
            "SELECT q.native_id, count(a.id) FROM messages q LEFT JOIN messages a ON a.conversation_id = q.id AND a.kind = 'answer' "
            "WHERE q.kind = 'question' GROUP BY q.native_id"
        ).fetchall()
    )
    assert stored == {qid: by_parent[qid] for qid in questions}

    # Each answer's conversation is its question, and it replies to it.
    pairs = store.con.execute(
        "SELECT a.native_id, q.native_id, a.reply_to_id = a.conversation_id FROM messages a JOIN messages q ON q.id = a.conversation_id WHERE a.kind = 'answer'"
    ).fetchall()
    assert {a: (q, same) for a, q, same in pairs} == {aid: (a["ParentId"], True) for aid, a in answers.items()}
    # Each comment replies to the post it is on, in that post's conversation.
    assert scalar(
        store,
        "SELECT count(*) FROM messages c JOIN messages p ON p.id = c.reply_to_id AND p.conversation_id = c.conversation_id WHERE c.kind = 'comment'",
    ) == len(comments)
    accepted = {q["AcceptedAnswerId"] for q in questions.values() if "AcceptedAnswerId" in q}
    stored_accepted = {r[0] for r in store.con.execute("SELECT native_id FROM messages WHERE meta->>'accepted' = 'true'").fetchall()}
    assert stored_accepted == accepted
    first = min(questions.values(), key=lambda q: int(q["Id"]))
    sent_at = scalar(store, "SELECT sent_at FROM messages WHERE kind = 'question' AND native_id = ?", first["Id"])
    assert isinstance(sent_at, datetime)
    assert sent_at.astimezone(UTC).replace(tzinfo=None) == datetime.fromisoformat(first["CreationDate"])


@pytest.mark.realdata
@pytest.mark.parametrize("site", REAL)
def test_reimport_adds_nothing(shared_data: Path, store: Store, site: str) -> None:
    folder = shared_data / "stackexchange" / site
    imp(store, folder)
    before = store.table_counts()
    again = imp(store, folder)
    assert again.rows_added == 0
    assert sum(c.updated for c in again.counts.values()) == 0
    after = store.table_counts()
    assert {k: v for k, v in after.items() if k != "import_runs"} == {k: v for k, v in before.items() if k != "import_runs"}


@pytest.mark.realdata
@pytest.mark.parametrize("site", REAL)
def test_detection_picks_stackexchange(shared_data: Path, site: str) -> None:
    with SourceTree(shared_data / "stackexchange" / site) as tree:
        assert StackExchangeConnector.sniff(tree)
        assert detect(tree).name == "stackexchange"


@pytest.mark.realdata
@pytest.mark.parametrize("other", ["slack/olake/export", "slack/viewer-test/testarchive.zip", "discourse/urho3d/topics", "mail/r-package-devel"])
def test_sniff_rejects_other_platforms(shared_data: Path, other: str) -> None:
    path = shared_data / other
    if not path.exists():
        pytest.skip(f"{path} is absent")
    with SourceTree(path) as tree:
        assert StackExchangeConnector.sniff(tree) is False


# -- the committed excerpt ----------------------------------------------------------------------


def test_excerpt_maps_threads_authors_edits_and_skips(store: Store) -> None:
    report = imp(store, EXCERPT)
    assert report.source_name == "conlang.stackexchange.com"  # named in its ATTRIBUTION.md
    assert scalar(store, "SELECT count(*) FROM messages WHERE kind = 'question'") == 2
    assert scalar(store, "SELECT count(*) FROM messages WHERE kind = 'answer'") == 8
    assert scalar(store, "SELECT name || '/' || kind FROM spaces") == "conlang.stackexchange.com/site"
    title, meta = store.con.execute("SELECT c.title, c.meta FROM conversations c JOIN messages m ON m.id = c.id WHERE m.native_id = '1'").fetchone()  # type: ignore[misc]
    assert title.startswith("Are questions asked in conlangs")
    assert json.loads(meta) == {"accepted_answer_id": "2", "answer_count": 3, "score": 10, "tags": ["discussion", "on-topic"], "view_count": 172}
    assert json.loads(scalar(store, "SELECT meta FROM messages WHERE native_id = '2'"))["accepted"] is True  # type: ignore[arg-type]
    # Edit counts come from PostHistory.xml: post 35 was edited twice, 31 once, 36 never.
    edits = dict(store.con.execute("SELECT native_id, meta->>'edits' FROM messages WHERE native_id IN ('31', '35', '36')").fetchall())
    assert edits == {"31": "1", "35": "2", "36": None}
    # Authors whose accounts were deleted keep the display name the dump gives them.
    deleted = store.con.execute(
        "SELECT i.display_name, i.meta->>'deleted' FROM messages m JOIN identities i ON i.id = m.author_id WHERE m.native_id = '31'"
    ).fetchone()
    assert deleted == ("user23", "true")
    assert scalar(store, "SELECT count(*) FROM messages WHERE author_id IS NOT NULL AND author_id NOT IN (SELECT id FROM identities)") == 0
    reasons = {reason: n for (_kind, reason), n in report.skipped.items()}
    assert reasons["tag wiki posts are not conversations"] == 1
    assert reasons["tag wiki excerpt posts are not conversations"] == 1
    assert reasons["vote on a post that is not in the dump (deleted)"] == 2
    assert scalar(store, "SELECT count(*) FROM raw_items WHERE kind = 'post'") == 10


def test_a_zip_and_a_folder_give_the_same_rows(tmp_path: Path) -> None:
    archive = tmp_path / "conlang.stackexchange.com.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for file in EXCERPT.iterdir():
            zipped.write(file, f"conlang.stackexchange.com/{file.name}")
    with Store.open(tmp_path / "a.duckdb") as first, Store.open(tmp_path / "b.duckdb") as second:
        from_folder = imp(first, EXCERPT)
        from_zip = imp(second, archive)
        assert from_zip.source_id == from_folder.source_id
        assert first.table_counts() == second.table_counts()


def test_on_file_reports_each_file_in_order() -> None:
    seen: list[str] = []
    with SourceTree(EXCERPT) as tree:
        list(StackExchangeConnector().read(tree, ReadContext(source_id="t", on_file=seen.append)))
    assert seen == ["Users.xml", "PostHistory.xml", "Posts.xml", "Comments.xml", "Votes.xml"]


# -- bad input ----------------------------------------------------------------------------------

BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE posts [\n<!ENTITY lol "lol">\n'
    + "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10 if i > 1 else "&lol;" * 10}">\n' for i in range(1, 10))
    + ']>\n<posts>\n  <row Id="1" PostTypeId="1" CreationDate="2020-01-01T00:00:00.000" Body="&lol9;" />\n</posts>\n'
)
EXTERNAL_ENTITY = (
    '<?xml version="1.0"?>\n<!DOCTYPE posts [<!ENTITY secret SYSTEM "file:///etc/passwd">]>\n'
    '<posts>\n  <row Id="1" PostTypeId="1" CreationDate="2020-01-01T00:00:00.000" Body="&secret;" />\n</posts>\n'
)


def dump_with_posts(tmp_path: Path, posts: str | bytes) -> Path:
    folder = tmp_path / "conlang.stackexchange.com"
    shutil.copytree(EXCERPT, folder)
    target = folder / "Posts.xml"
    target.write_bytes(posts.encode() if isinstance(posts, str) else posts)
    return folder


@pytest.mark.parametrize(
    ("name", "make", "expected"),
    [
        ("truncated", lambda: (EXCERPT / "Posts.xml").read_bytes()[:9000], r"Posts\.xml: malformed XML at line \d+, column \d+"),
        ("billion laughs", lambda: BILLION_LAUGHS, "Posts.xml: refusing XML entity declarations"),
        ("external entity", lambda: EXTERNAL_ENTITY, "Posts.xml: refusing XML entity declarations"),
    ],
)
def test_hostile_or_broken_posts_are_one_clear_error_and_change_nothing(store: Store, tmp_path: Path, name: str, make: object, expected: str) -> None:
    imp(store, EXCERPT)
    before = store.table_counts()
    folder = dump_with_posts(tmp_path, make())  # type: ignore[operator]
    started = time.perf_counter()
    with pytest.raises(InputError) as raised:
        imp(store, folder)
    assert time.perf_counter() - started < 5
    message = str(raised.value)
    assert re.search(expected, message), message
    assert "\n" not in message and "Traceback" not in message
    assert store.table_counts() == before


def test_missing_posts_xml_is_an_input_error(tmp_path: Path, store: Store) -> None:
    folder = tmp_path / "dump"
    folder.mkdir()
    shutil.copy(EXCERPT / "Users.xml", folder / "Users.xml")
    with SourceTree(folder) as tree:
        assert StackExchangeConnector.sniff(tree) is False
    with pytest.raises(InputError, match="no Posts.xml found"):
        import_path(store, folder, platform="stackexchange")


def test_wrong_root_element_is_an_input_error(tmp_path: Path, store: Store) -> None:
    folder = dump_with_posts(tmp_path, (EXCERPT / "Posts.xml").read_bytes())
    (folder / "Votes.xml").write_bytes((EXCERPT / "Users.xml").read_bytes())
    with pytest.raises(InputError, match=r"Votes\.xml: expected a <votes> root element, found <users>"):
        imp(store, folder)


def test_one_malformed_row_is_skipped_and_counted(tmp_path: Path, store: Store) -> None:
    text = (EXCERPT / "Posts.xml").read_text(encoding="utf-8-sig")
    broken = text.replace('CreationDate="2018-02-07T03:30:33.890"', 'CreationDate="yesterday"', 1)
    assert broken != text
    report = imp(store, dump_with_posts(tmp_path, broken))
    assert report.skipped[("post", "malformed row: CreationDate 'yesterday' is not an ISO timestamp")] == 1
    assert report.skipped_examples[("post", "malformed row: CreationDate 'yesterday' is not an ISO timestamp")] == "Posts.xml Id=36"
    assert scalar(store, "SELECT count(*) FROM messages WHERE kind = 'answer'") == 7


# -- mapping ------------------------------------------------------------------------------------


def test_vote_kinds_and_small_parsers() -> None:
    assert [vote_kind(n) for n in (1, 2, 3, 5, 8, 9, 10, 16, 99)] == [
        "accept",
        "upvote",
        "downvote",
        "favorite",
        "bounty_start",
        "bounty_close",
        "deletion",
        "approve_edit_suggestion",
        "vote_type_99",
    ]
    assert parse_tags("<discussion><on-topic>") == ["discussion", "on-topic"]
    assert parse_tags("|python|c++|") == ["python", "c++"]
    assert parse_time("2018-02-06T20:19:50.957") == datetime(2018, 2, 6, 20, 19, 50, 957000, tzinfo=UTC)
    assert parse_time("2018-02-06T20:19:50Z").tzinfo is UTC


VOTE = st.tuples(st.integers(1, 5), st.sampled_from([1, 2, 3, 5, 8, 10, 16]), st.none() | st.integers(1, 3))


@settings(max_examples=40, deadline=None)
@given(st.lists(VOTE, max_size=40))
def test_vote_counts_add_up_to_the_rows_mapped(votes: list[tuple[int, int, int | None]]) -> None:
    posts = (
        '<row Id="1" PostTypeId="1" CreationDate="2020-01-01T00:00:00.000" Title="q" Body="&lt;p&gt;q&lt;/p&gt;" OwnerUserId="1" />'
        '<row Id="2" PostTypeId="2" ParentId="1" CreationDate="2020-01-02T00:00:00.000" Body="a" OwnerUserId="2" />'
        '<row Id="3" PostTypeId="5" CreationDate="2020-01-02T00:00:00.000" Body="wiki" />'
    )
    vote_rows = "".join(
        f'<row Id="{i}" PostId="{post}" VoteTypeId="{kind}" CreationDate="2020-02-0{1 + i % 9}T00:00:00.000"' + (f' UserId="{user}"' if user else "") + " />"
        for i, (post, kind, user) in enumerate(votes, start=1)
    )
    with tempfile.TemporaryDirectory() as directory:
        folder = Path(directory)
        (folder / "Posts.xml").write_text(f"<posts>{posts}</posts>")
        (folder / "Votes.xml").write_text(f"<votes>{vote_rows}</votes>")
        with SourceTree(folder) as tree:
            records = list(StackExchangeConnector().read(tree, ReadContext(source_id="t")))
    reactions = [r for r in records if isinstance(r, Reaction)]
    mapped = [v for v in votes if v[0] in (1, 2)]
    assert sum(r.count for r in reactions) == len(mapped)
    assert sum(1 for r in reactions if r.identity_id is not None) == sum(1 for v in mapped if v[2])
    assert len({r.id for r in reactions}) == len(reactions)
    assert sum(isinstance(r, Skipped) and r.kind == "vote" for r in records) == len(votes) - len(mapped)
    assert sum(isinstance(r, Message) for r in records) == 2
