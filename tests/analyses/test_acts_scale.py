"""The labeller's shortcuts for speed give exactly what the plain regular expressions give.

acts.py skips a regular expression where a cheap test shows it cannot match (no quote marker,
no code marker, a reply too long to be a bare question). Each shortcut is checked here against
the expression it stands for, on invented edge cases, on generated text and on every message
of a real archive.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pytest
from hypothesis import given
from hypothesis import strategies as st

from villagegreen.analyses import acts, acts_store
from villagegreen.analyses.acts_store import _MESSAGES_SQL, _PRESCAN_PARAMETERS, label_rows, label_store
from villagegreen.store import Store
from villagegreen.store.ingest import import_path

EDGE_CASES = [
    "", ">", " > quoted\nmine", "a()", "x::y", "::", "`code`", "```", "see http://x.org", "https://", "f ()", "no code here",
    "Hello, how do you set the flag", "hi " + "word " * 30, "How?", "what now", "a\n> b\n>c\nd", "\u00a0> nbsp quote",
]  # fmt: skip
# Pieces rather than characters, so that markers and openings turn up often.
PIECES = [*"abc xyz:()`>/?\n\t.HhTtPpSs,'", "http", "://", "hello ", "how ", "::", "\u00a0", "\u212a", "thanks", "THX", "i don't think",
          "to sum up", "actually", "disagree", "great job", "ty", "\n> "]  # fmt: skip
TEXT = st.lists(st.sampled_from(PIECES), max_size=40).map("".join)


def agree(text: str) -> None:
    head = text[:600].lower()
    assert acts.own_text(text) == acts._QUOTE_LINE.sub("", text).strip()
    assert acts._has_code_or_link(head) == (acts._CODE_OR_LINK.search(head) is not None)
    code, plain = acts._code(head), acts._CODE.search(head)
    assert (code and (code.span(), code.group(0))) == (plain and (plain.span(), plain.group(0)))
    words = len(text.split())
    opening = acts._GREETING.sub("", text.lower(), count=1)
    assert acts._asks(text, words) == ("?" in text or (words <= 25 and acts._QUESTION_OPENING.match(opening) is not None))


@pytest.mark.parametrize("text", EDGE_CASES)
def test_shortcuts_agree_on_edge_cases(text: str) -> None:
    agree(text)


@given(TEXT)
def test_shortcuts_agree_on_generated_text(text: str) -> None:
    agree(text)


def test_code_markers_cover_every_alternative_of_the_code_patterns() -> None:
    # Each top-level alternative of the two patterns needs a marker the shortcut looks for.
    for pattern in (acts._CODE, acts._CODE_OR_LINK):
        for alternative in re.split(r"\|(?![^(]*\))", pattern.pattern):
            assert "`" in alternative or r"\(\)" in alternative or "::" in alternative or "://" in alternative, alternative


def test_labels_written_in_batches_are_all_written(store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.fakes import JsonListConnector, messages

    path = tmp_path / "c.jsonlist"
    path.write_text(json.dumps(messages(12)))
    import_path(store, path, connector_class=JsonListConnector)
    monkeypatch.setattr(acts_store, "WRITE_BATCH", 5)  # 5 + 5 + 2: reading goes on across the writes
    report = label_store(store)
    ((rows, distinct),) = store.con.execute("SELECT count(*), count(DISTINCT message_id) FROM message_acts").fetchall()
    assert report.labelled == rows == distinct == 12


@pytest.mark.realdata
def test_shortcuts_agree_on_a_real_archive_and_relabelling_is_incremental(shared_data: Path, tmp_path: Path) -> None:
    with Store.open(tmp_path / "qc.duckdb") as store:
        import_path(store, shared_data / "stackexchange" / "quantumcomputing")
        texts = [row[0] or "" for row in store.con.execute("SELECT text FROM messages").fetchall()]
        for text in texts:
            agree(text)
        first = label_store(store)
        assert first.labelled > 1000 and first.kept == 0
        ((one,),) = store.con.execute("SELECT min(message_id) FROM message_acts").fetchall()
        store.con.execute("DELETE FROM message_acts WHERE message_id = ?", [one])
        again = label_store(store)
        assert (again.labelled, again.kept) == (1, first.labelled - 1)
        nothing = label_store(store)
        assert (nothing.labelled, nothing.kept) == (0, first.labelled)


SCAN = duckdb.connect()


def sql_scan(text: str) -> bool:
    ((found,),) = SCAN.execute("SELECT coalesce(regexp_matches(lower(?), ?), true)", [text, *_PRESCAN_PARAMETERS]).fetchall()
    return bool(found)


def lexicon_skip_is_sound(text: str) -> None:
    """Where the SQL scan lets the labeller skip a lexicon, Python's search finds nothing."""
    own = acts.own_text(text)
    view = acts.MessageView(text=text, is_root=False, lexicons_possible=sql_scan(text))
    head = own[:600].lower()
    for name, pattern in acts.PRESCANNED.items():
        found, expected = acts._lexicon(name, head, own, view), pattern.search(head)
        assert (found and found.span()) == (expected and expected.span()), (name, text)


@pytest.mark.parametrize("text", [*EDGE_CASES, "Thanks!", "THANKS a lot", "thanksgiving", "I DISAGREE", "x " * 400 + "thanks", "\u212audos"])
def test_the_sql_scan_only_skips_what_cannot_match(text: str) -> None:
    lexicon_skip_is_sound(text)


@given(TEXT)
def test_the_sql_scan_only_skips_what_cannot_match_generated(text: str) -> None:
    lexicon_skip_is_sound(text)


@pytest.mark.realdata
@pytest.mark.parametrize("dataset", ["stackexchange/quantumcomputing", "slack/haskell-jp"])
def test_labels_are_the_same_with_and_without_the_sql_scan(dataset: str, shared_data: Path, tmp_path: Path) -> None:
    with Store.open(tmp_path / "store.duckdb") as store:
        import_path(store, shared_data / dataset)
        rows = store.con.execute(_MESSAGES_SQL, _PRESCAN_PARAMETERS).fetchall()
    assert sum(1 for row in rows if row[9] is False) > len(rows) // 4  # the scan lets many skip
    scanned = [(item.message_id, item.label) for item in label_rows(rows)]
    plain = [(item.message_id, item.label) for item in label_rows([row[:9] for row in rows])]
    assert scanned == plain
