"""Community-memory search on the shipped real demo store: BM25 against an independent
full-tokenisation implementation, fusion, grouping, private spaces, erasure and stories."""

from __future__ import annotations

import json
import math
import re
from collections import Counter

import pytest

from tests.memory.conftest import question_conversation, xml_rows
from villagegreen.analyses.embedding_store import embed_messages
from villagegreen.analyses.embeddings import get_embedder
from villagegreen.errors import InputError
from villagegreen.interfaces.cli.app import main
from villagegreen.store import Store
from villagegreen.store.erasure import forget_person
from villagegreen.stories.desk import save_story, set_state
from villagegreen.stories.draft import draft_story
from villagegreen.stories.memory import fuse, search, snippet
from villagegreen.stories.memory_bm25 import bm25_rank, query_terms, stem
from villagegreen.stories.memory_documents import DOCS, Scope, documents


def test_s_stemmer_strips_plurals_only() -> None:
    assert [stem(w) for w in ("qubits", "theories", "glosses", "corpus", "goes", "is")] == [
        "qubit",
        "theory",
        "glosse",
        "corpus",
        "goe",
        "is",
    ]  # Harman's rules, applied by hand
    assert query_terms("What are the rules of Klingon grammar?") == ["rule", "klingon", "grammar"]


def _reference_bm25(docs: list[tuple[str, str, int]], query: str) -> dict[str, float]:
    """BM25 written out again, tokenising every document whole (no candidate shortcut)."""

    def words(text: str) -> list[str]:
        return [stem(w) for w in re.findall(r"[^\W_]+", text.lower())]

    terms = query_terms(query)
    tokenised = {doc_id: Counter(words(text)) for doc_id, text, _ in docs}
    avg = sum(chars for _, _, chars in docs) / len(docs)
    df = {t: sum(1 for c in tokenised.values() if c[t]) for t in terms}
    scores = {}
    for doc_id, _, chars in docs:
        score = 0.0
        for t in terms:
            f = tokenised[doc_id][t]
            if f:
                idf = math.log(1 + (len(docs) - df[t] + 0.5) / (df[t] + 0.5))
                score += idf * f * 2.2 / (f + 1.2 * (0.25 + 0.75 * chars / avg))
        if score:
            scores[doc_id] = score
    return scores


@pytest.mark.parametrize("query", ["Klingon tags", "How do languages evolve their grammar?", "constructed scripts and alphabets"])
def test_bm25_matches_a_full_tokenisation(demo: Store, query: str) -> None:
    with documents(demo, Scope()):
        docs = demo.con.execute(f"SELECT doc_id, text, chars FROM {DOCS}").fetchall()
        ranked = bm25_rank(demo, query)
    expected = _reference_bm25(docs, query)
    assert ranked and len(ranked) == len(expected)
    for scored in ranked:
        assert scored.score == pytest.approx(expected[scored.doc_id], rel=1e-9)
    assert [s.doc_id for s in ranked[:10]] == sorted(expected, key=lambda d: (-expected[d], d))[:10]


def test_reciprocal_rank_fusion_by_hand() -> None:
    # a: 1/61 + 1/62; b: 1/62 + 1/61; c: 1/63; d: 1/61 -> a and b tie (then by id), d, c.
    assert fuse([["a", "b", "c"], ["b", "a"], ["d"]]) == ["a", "b", "d", "c"]


def test_a_title_finds_its_own_thread_in_every_mode(demo: Store) -> None:
    titles = {p["Id"]: p["Title"] for p in xml_rows("Posts.xml") if p.get("PostTypeId") == "1"}
    for post_id in ("9", "21", "18"):
        target = question_conversation(demo, post_id)
        for mode in ("bm25", "embeddings", "hybrid"):
            report = search(demo, titles[post_id], mode=mode, k=3)
            assert target in [r["conversation_id"] for r in report.results], (post_id, mode)


def test_results_are_grouped_by_conversation_with_context_and_links(demo: Store) -> None:
    report = search(demo, "klingon", k=5)
    ids = [r["conversation_id"] for r in report.results]
    assert len(ids) == len(set(ids)) == 5
    for result in report.results:
        assert result["permalink"].startswith("https://conlang.stackexchange.com/q/")
        assert result["started_at"] and result["space"]
        assert 1 <= len(result["passages"]) <= 3
        assert len({p["id"] for p in result["passages"]}) == len(result["passages"])
    assert any("klingon" in p["snippet"].lower() for r in report.results for p in r["passages"])


def test_snippet_centres_on_the_query_word() -> None:
    text = "word " * 200 + "the needle is here " + "word " * 200
    piece = snippet(text, ["needle"])
    assert "needle" in piece and piece.startswith("…") and piece.endswith("…") and len(piece) <= 230


def test_private_spaces_are_left_out_unless_asked_for(demo: Store) -> None:
    before = search(demo, "klingon", k=5)
    assert before.results
    demo.con.execute("UPDATE spaces SET private = true")
    assert search(demo, "klingon", k=5).results == []
    assert [r["conversation_id"] for r in search(demo, "klingon", k=5, include_private=True).results] == [r["conversation_id"] for r in before.results]
    with pytest.raises(InputError, match="private"):
        search(demo, "klingon", space=before.results[0]["space_id"])


def test_an_erased_person_is_no_longer_found(demo: Store) -> None:
    # The author of the most messages mentioning Klingon; their words must disappear.
    person, word_count = demo.con.execute(
        "SELECT i.person_id, count(*) FROM messages m JOIN identities i ON i.id = m.author_id "
        "WHERE lower(m.text) LIKE '%klingon%' GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1"
    ).fetchone()  # type: ignore[misc]
    assert word_count >= 1
    theirs = {r[0] for r in demo.con.execute("SELECT m.id FROM messages m JOIN identities i ON i.id = m.author_id WHERE i.person_id = ?", [person]).fetchall()}
    found = {p["id"] for r in search(demo, "klingon", k=20, mode="bm25").results for p in r["passages"]}
    assert found & theirs
    forget_person(demo, person, actor="test")
    after = {p["id"] for r in search(demo, "klingon", k=20, mode="bm25").results for p in r["passages"]}
    assert not after & theirs


def test_vectors_are_reused_from_the_store_and_missing_ones_encoded(demo: Store) -> None:
    cold = search(demo, "alphabet design", mode="embeddings")
    assert cold.encoded_on_the_fly == cold.documents  # nothing embedded yet: everything on the fly
    embed_messages(demo, get_embedder("static"))
    warm = search(demo, "alphabet design", mode="embeddings")
    ((titles,),) = demo.con.execute("SELECT count(*) FROM conversations WHERE trim(coalesce(title, '')) <> ''").fetchall()
    assert warm.encoded_on_the_fly == titles  # only titles: every message vector came from the store
    assert [r["conversation_id"] for r in warm.results] == [r["conversation_id"] for r in cold.results]


def test_only_approved_stories_are_memory(demo: Store) -> None:
    conversation = question_conversation(demo, "9")
    record = save_story(demo, draft_story(demo, conversation), actor="test")
    title_words = "Do we need both the klingon and klingon-language tags"
    assert all(r["story"] is None for r in search(demo, title_words).results)
    set_state(demo, record.id, "approved", actor="test")
    results = search(demo, title_words).results
    hit = next(r for r in results if r["conversation_id"] == conversation)
    assert hit["story"] == {"id": record.id, "title": record.title}


@pytest.mark.parametrize(("kwargs", "message"), [({"query": "  "}, "empty"), ({"query": "x", "k": 0}, "-k 0"), ({"query": "x", "mode": "fuzzy"}, "mode")])
def test_bad_input_is_one_clear_line(demo: Store, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InputError, match=message):
        search(demo, **kwargs)  # type: ignore[arg-type]


def test_cli_search_json_and_text(demo: Store, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(demo.path)
    expected = [r["conversation_id"] for r in search(demo, "klingon tags", k=3).results]
    demo.close()
    main(["search", "klingon tags", "--db", db, "-k", "3", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert [r["conversation_id"] for r in data["results"]] == expected
    main(["search", "klingon tags", "--db", db, "-k", "3"])
    out = capsys.readouterr().out
    assert out.startswith("1. ") and "https://conlang.stackexchange.com/q/" in out
    with pytest.raises(SystemExit):
        main(["search", "klingon", "--db", db, "--mode", "fuzzy"])
    assert "--mode 'fuzzy'" in capsys.readouterr().err
