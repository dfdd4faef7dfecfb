"""The disentanglement benchmark's reading of the Kummerfeld et al. (2019) layout and its scoring.

The tiny log below is invented, in the corpus' layout (``[HH:MM] <nick> text``,
``=== system``); the real-data test runs the script on the dev split.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import pytest

from tests.benchmarks.scripts import load_script

DEV = "eval/irc-disentanglement/dev"

LOG = """[23:58] <ash> how do I mount a usb drive?
=== birch [~b@example.org] has joined #ubuntu
[23:59] <cedar> ash: mount /dev/sdb1 /mnt
[00:01] * ash waves
[00:02] <birch> is grub able to boot windows by default?
"""
# Lines 2-4 are scored (the first link source is 2); 0 and 1 are context.
GOLD = "0 2 -\n2 3 -\n4 4 -\n"


def load() -> ModuleType:
    return load_script("disentangle")


@pytest.fixture
def split(tmp_path: Path) -> Path:
    (tmp_path / "day.ascii.txt").write_text(LOG)
    (tmp_path / "day.annotation.txt").write_text(GOLD)
    return tmp_path


def test_log_lines_are_numbered_timed_across_midnight_and_typed(split: Path) -> None:
    bench = load()
    lines = bench.parse_log(LOG)
    assert [line.author for line in lines] == ["ash", "birch", "cedar", "ash", "birch"]
    assert [line.system for line in lines] == [False, True, False, False, False]
    assert lines[3].text == "waves"
    # 23:58 -> 00:02 is four minutes, not a day backwards.
    assert (lines[4].time - lines[0].time).total_seconds() == 4 * 60


def test_a_method_that_returns_gold_scores_perfectly(split: Path) -> None:
    bench = load()
    samples = bench.read_split(split)
    gold_parents = {str(i): str(i) for i in range(5)} | {"2": "0", "3": "2"}
    metrics = bench.evaluate(samples, lambda _lines: gold_parents)
    assert metrics["conversation_f1"] == metrics["link_f1"] == metrics["one_to_one"] == 100.0
    # Starting a conversation at the action line instead: one of three links wrong, and the
    # one multi-message conversation ({2, 3}) is no longer matched.
    wrong = gold_parents | {"3": "3"}
    metrics = bench.evaluate(samples, lambda _lines: wrong)
    assert metrics["link_precision"] == pytest.approx(66.67)
    assert metrics["conversation_recall"] == 0.0


def test_json_output_maps_each_method_to_its_metrics(split: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert load().main(["--data", str(split), "--json"]) == 0
    results = json.loads(capsys.readouterr().out)
    assert set(results) == {"villagegreen", "time_gap"}
    for metrics in results.values():
        assert {"link_f1", "conversation_f1", "vi", "one_to_one", "seconds"} <= set(metrics)


def test_a_folder_without_annotations_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="annotation"):
        load().read_split(tmp_path)


@pytest.mark.realdata
def test_dev_split_beats_the_time_gap_baseline_and_the_published_heuristic(shared_data: Path) -> None:
    bench = load()
    samples = bench.read_split(shared_data / DEV)
    # The corpus README: 10 dev files of 1,250 lines each.
    assert len(samples) == 10 and sum(len(s.lines) for s in samples) == 12_500
    ours = bench.evaluate(samples, bench.METHODS["villagegreen"])
    baseline = bench.evaluate(samples, bench.METHODS["time_gap"])
    assert ours["conversation_f1"] > baseline["conversation_f1"]
    # The published time/mention heuristic reaches 8.9 (test split); the issue asks for a wide margin.
    assert ours["conversation_f1"] > 2 * 8.9
