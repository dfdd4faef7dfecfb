"""The stories benchmark: its reading of the ConvoSumm email layout, its scoring, and a short real run.

The thread below is invented, in the corpus' layout (``Name: "…"   Email: "…"   To: …   Subject:
"…"`` then the body, line breaks flattened to three spaces, messages separated by ``</s>``).
"""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import pytest

from tests.benchmarks.scripts import load_script

SPLIT = "eval/convosumm-email"

THREAD = (
    'Name: "Silva, Ana"   Email: "ana@example.org"   To: list@example.org   Subject: "Watering seedlings"   '
    "Hello all,      How often should I water tomato seedlings in a heatwave? They wilt by noon.      "
    "Kind regards,   Ana   </s>"
    'Name: "Ben Okafor"   Email: "ben@example.org"   To: "Silva, Ana"<ana@example.org>   Subject: "Re: Watering seedlings"   '
    "Hi Ana,   >How often should I water tomato seedlings   Water deeply every morning and mulch the beds so the soil keeps its moisture.   "
    "</s>"
    'Name: "CHEN,WU (Garden Team)"   Email: "chen@example.org"   To: list@example.org   Subject: "RE: Watering seedlings"   '
    "I don't think daily watering is wise in clay soil, it drowns young roots.   -- Chen"
)
TARGET = "Ana asks how often to water tomato seedlings. Ben replies that she should water every morning and mulch. Chen disagrees."


def load() -> ModuleType:
    return load_script("stories")


def test_thread_layout_is_read_into_senders_bodies_and_reply_parents() -> None:
    bench = load()
    emails = bench.parse_thread(THREAD)
    assert [e.name for e in emails] == ["Ana Silva", "Ben Okafor", "Wu Chen"]  # "Last, First" turned, department dropped
    assert "How often should I water tomato seedlings in a heatwave?" in emails[0].body
    assert ">How often" not in emails[1].body  # the quoted line is somebody else's words
    thread = bench.to_thread(emails)
    assert thread.title == "Watering seedlings"
    assert [m.reply_to_id for m in thread.messages] == [None, "m1", "m1"]
    assert [m.person_id for m in thread.messages] == ["ana@example.org", "ben@example.org", "chen@example.org"]
    summary = bench.villagegreen_summary(emails)
    assert summary.startswith("Ana Silva asked") and "Ben Okafor" in summary and "Wu Chen" in summary
    assert "Hello all" not in summary and "Kind regards" not in summary


def test_lead_and_lexrank_take_sentences_of_the_thread() -> None:
    bench = load()
    emails = bench.parse_thread(THREAD)
    lead = bench.lead_summary(emails)
    assert lead.startswith("How often should I water")
    ranks = bench.lexrank_scores(["a b c", "a b d", "x y z"])
    assert abs(ranks.sum() - 1) < 1e-9 and ranks[0] > ranks[2] and ranks[1] > ranks[2]  # the connected pair is central
    assert set(bench.lexrank_summary(emails).split()) <= set(" ".join(bench.thread_sentences(emails)).split())


def test_scores_are_rouge_f_measures_times_100(tmp_path: Path) -> None:
    bench = load()
    samples = [(bench.parse_thread(THREAD), TARGET)]
    bench.SUMMARISERS["echo"] = lambda _emails: TARGET
    try:
        perfect = bench.evaluate(samples, ("echo", "lead4"))
    finally:
        del bench.SUMMARISERS["echo"]
    assert perfect["echo"] == {"rouge1": 100.0, "rouge2": 100.0, "rougeL": 100.0}
    assert 0 < perfect["lead4"]["rouge1"] < 100


@pytest.mark.realdata
def test_benchmark_json_on_five_real_threads(shared_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bench = load()
    assert bench.main(["--data", str(shared_data / SPLIT), "--json", "--limit", "5"]) == 0
    results = json.loads(capsys.readouterr().out)
    assert set(results) == {"villagegreen", "lead4", "lexrank"}
    for scores in results.values():
        assert set(scores) == {"rouge1", "rouge2", "rougeL"}
        assert all(0 < value < 100 for value in scores.values())
        assert scores["rouge1"] >= scores["rougeL"] >= scores["rouge2"]  # a unigram match is needed for any bigram or LCS
    assert len({json.dumps(scores, sort_keys=True) for scores in results.values()}) == 3  # three different summaries
