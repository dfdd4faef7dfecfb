"""Tone arcs on invented threads whose outcome is known by construction."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fakes import JsonListConnector
from villagegreen.analyses.embeddings import StaticEmbedder
from villagegreen.analyses.framework import Window
from villagegreen.analyses.topics_corpus import load_corpus
from villagegreen.analyses.topics_tone import classify, is_proposal, proposal_sentence, tone_arcs
from villagegreen.store import Store
from villagegreen.store.ingest import import_path

T0 = 1_700_000_000
THREADS = {
    "constructive": [
        "The CRM is useless, logging a call takes ten minutes and I hate it.",
        "Agreed, it is frustrating and slow.",
        "What if we kept a shared template for call notes? That could save a lot of time.",
        "Great idea, happy to try it, thanks!",
    ],
    "still-negative": [
        "The CRM is useless and the export is broken again.",
        "We could ask IT to look at the export.",
        "They never answer, it is a terrible waste of time.",
        "Awful. Nothing ever gets fixed and I am fed up.",
    ],
    "no-proposal": [
        "This new expense tool is awful, it lost my receipts, terrible.",
        "Same here, it is a nightmare.",
        "I hate it too, a complete waste of time.",
    ],
    "not-a-complaint": ["How do you prepare for a first sales call?", "I read their website first.", "Good tip, thanks."],
}


def test_classify_by_construction() -> None:
    assert classify(["fine", "ok"], [0.0, 0.0]) is None  # too short
    assert classify(["Lovely day", "yes", "we could walk"], [0.8, 0.5, 0.4]) is None  # not a complaint
    assert classify(["useless tool, annoying", "what if we change it", "great, thanks"], [-0.7, 0.1, 0.8]) == "turned constructive"
    assert classify(["useless tool, annoying", "what if we change it", "still awful"], [-0.7, 0.1, -0.7]) == "proposals, still negative"
    assert classify(["useless tool, annoying", "yes awful", "terrible"], [-0.7, -0.5, -0.6]) == "stayed negative"
    assert classify(["useless tool, annoying", "fixed in 2.1", "works now"], [-0.7, 0.0, 0.6]) == "mood lifted, no proposal"


def test_proposal_cues_and_quote() -> None:
    assert is_proposal("Maybe we should meet on Fridays") and is_proposal("How about a shared sheet?")
    assert not is_proposal("The meeting was on Friday.")
    assert proposal_sentence("It broke again. What if we kept a template? Anyway.").startswith("What if we kept a template?")


def test_tone_arcs_on_invented_threads(tmp_path: Path) -> None:
    items = []
    for n, (name, texts) in enumerate(THREADS.items()):
        for i, text in enumerate(texts):
            item = {"id": f"{name}-{i}", "user": ["ann", "bo", "cy", "dee"][i], "t": T0 + n * 86400 + i * 600, "text": text}
            if i:
                item["parent"] = f"{name}-0"
            items.append(item)
    path = tmp_path / "t.jsonlist"
    path.write_text(json.dumps(items))
    with Store.open(tmp_path / "s.duckdb") as store:
        import_path(store, path, connector_class=JsonListConnector)
        corpus = load_corpus(store, StaticEmbedder(), Window("month"))
        native = dict(store.con.execute("SELECT id, native_id FROM messages").fetchall())
    report = tone_arcs(corpus, "all")
    outcomes = {native[arc.conversation_id].rsplit("-", 1)[0]: arc.outcome for arc in report.complaints}
    assert outcomes == {"constructive": "turned constructive", "still-negative": "proposals, still negative", "no-proposal": "stayed negative"}
    constructive = next(arc for arc in report.complaints if arc.outcome == "turned constructive")
    assert constructive.proposal.startswith("What if we kept a shared template")
    assert report.to_dict()["outcomes"]["stayed negative"] == 1
    assert len(constructive.arc) == 4 and constructive.arc[0] < 0 < constructive.arc[-1]


@pytest.mark.realdata
def test_tone_arcs_run_on_a_real_mailing_list(shared_data: Path, tmp_path: Path) -> None:
    one_quarter = shared_data / "mail" / "r-package-devel" / "2015q3.txt"
    with Store.open(tmp_path / "s.duckdb") as store:
        import_path(store, one_quarter)
        corpus = load_corpus(store, StaticEmbedder(), Window("month"))
    report = tone_arcs(corpus, "all")
    print(report.to_dict()["outcomes"], "of", report.conversations)
    assert report.conversations > 50
    for arc in report.complaints:
        assert arc.arc[0] <= -0.3 and len(arc.arc) >= 3
        assert (arc.outcome == "turned constructive") <= bool(arc.proposal)
