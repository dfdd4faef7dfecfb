"""Topic-shift segmentation: the measures by hand, planted shifts, and the DialSeg711 benchmark."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.analyses.test_topics_community import THEMES
from villagegreen.analyses.embeddings import StaticEmbedder
from villagegreen.analyses.topics_segmentation import even_segments, pk, segment, windowdiff

REPO = Path(__file__).resolve().parents[2]


def test_pk_and_windowdiff_by_hand() -> None:
    # Labels 000111 against 000000 with k = 2: probes at 0..3, the two straddling the boundary are wrong.
    assert pk([3, 3], [6]) == 0.5
    assert windowdiff([3, 3], [6]) == 0.5
    assert pk([3, 3], [3, 3]) == 0.0 == windowdiff([4, 4, 4], [4, 4, 4])
    # A boundary one message late (000111 against 000011, k = 2): probes 1 (ref differs, hyp
    # same) and 3 (ref same, hyp differs) are wrong for Pk, and the same two for WindowDiff.
    assert pk([3, 3], [4, 2]) == 0.5
    assert windowdiff([3, 3], [4, 2]) == 0.5


def test_even_segments() -> None:
    assert even_segments(10, 3) == [3, 4, 3]
    assert even_segments(5, 9) == [1, 1, 1, 1, 1]
    assert sum(even_segments(27, 5)) == 27


def test_planted_subject_changes_are_found() -> None:
    # Three blocks of eight messages, each block about one invented theme.
    messages = [f"Let's talk about {phrase} and why {phrase} matters." for theme in ("baking", "football", "gardening") for phrase in THEMES[theme]]
    found = segment(StaticEmbedder().encode(messages))
    assert sum(found) == 24
    assert pk([8, 8, 8], found) <= 0.15
    assert segment(StaticEmbedder().encode(["one", "two"])) == [2]


def test_the_benchmark_reads_any_set_in_the_same_layout(tmp_path: Path) -> None:
    blocks = [[f"Question about {p}?" for p in THEMES[t]] for t in ("baking", "gardening")]
    data = [{"utterances": blocks[0] + blocks[1], "segments": [8, 8], "extra": "ignored"}, {"utterances": ["x"], "segments": [2]}]
    path = tmp_path / "set.json"
    path.write_text(json.dumps(data))
    out = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "segmentation.py"), "--data", str(path), "--json"], capture_output=True, text=True, check=True
    )
    scores = json.loads(out.stdout)
    assert set(scores) == {"villagegreen", "even"} and set(scores["even"]) == {"pk", "windowdiff"}


@pytest.mark.realdata
def test_dialseg711_beats_the_even_baseline(shared_data: Path) -> None:
    data = shared_data / "eval" / "dialogue-segmentation" / "dialseg_711.json"
    out = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "segmentation.py"), "--data", str(data), "--json"], capture_output=True, text=True, check=True
    )
    scores = json.loads(out.stdout)
    print(scores)
    assert scores["villagegreen"]["pk"] < 0.40  # inside the published TextTiling range 0.40-0.47 or better
    assert scores["villagegreen"]["pk"] < scores["even"]["pk"] - 0.05
    assert scores["villagegreen"]["windowdiff"] < scores["even"]["windowdiff"]
