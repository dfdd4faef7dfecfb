"""benchmarks/peer_perceval.py on a tiny synthetic mbox, with a stand-in for Perceval.

Perceval (GPL) is never installed for the tests: a fake ``perceval.backends.core.mbox.MBox``
on PYTHONPATH counts the messages of each file with the standard library's ``mailbox``, which
is all the benchmark asks of the peer. Timings are never asserted.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.benchmarks.scripts import load_script

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "peer_perceval.py"
FAKE_MBOX = """
import mailbox, os
class MBox:
    def __init__(self, uri, dirpath):
        self.dirpath = dirpath
    def fetch(self):
        for root, _, files in os.walk(self.dirpath):
            for name in sorted(files):
                yield from ({"Message-ID": m["Message-ID"]} for m in mailbox.mbox(os.path.join(root, name)))
"""


def load() -> ModuleType:
    return load_script("peer_perceval")


@pytest.fixture
def fake_perceval(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    package = tmp_path / "fake" / "perceval" / "backends" / "core"
    package.mkdir(parents=True)
    for folder in (package, package.parent, package.parent.parent):
        (folder / "__init__.py").write_text("")
    (package / "mbox.py").write_text(FAKE_MBOX)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "fake"))
    return Path(sys.executable)


def test_both_tools_count_every_generated_message_and_the_ratio_is_of_their_rates(
    tmp_path: Path, fake_perceval: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    work = tmp_path / "work"
    argv = ["--sizes", "40", "--real", "", "--perceval-python", str(fake_perceval), "--work", str(work), "--json"]
    assert load().main(argv) == 0
    (result,) = json.loads(capsys.readouterr().out)["results"]
    assert result["archive"] == "synthetic mbox 40"
    # The generator was asked for 40 messages; both sides must have read all of them.
    assert result["perceval"]["messages"] == result["villagegreen"]["messages"] == 40
    for side in ("perceval", "villagegreen"):
        assert {"seconds", "cpu_s", "peak_rss_mb", "messages_per_s"} <= set(result[side])
        assert result[side]["peak_rss_mb"] > 0
    assert result["rate_ratio"] == pytest.approx(result["villagegreen"]["messages_per_s"] / result["perceval"]["messages_per_s"], abs=0.001)


def test_without_a_perceval_environment_it_says_how_to_give_one(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="--perceval-python"):
        load().main(["--sizes", "10", "--real", "", "--work", str(tmp_path)])


def test_a_baseline_source_imports_the_same_archive_in_the_same_run(tmp_path: Path, fake_perceval: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The checkout's own src/ stands in for an older copy; the fake perceval stays importable.
    baseline = SCRIPT.parents[1] / "src"
    argv = ["--sizes", "30", "--real", "", "--perceval-python", str(fake_perceval), "--work", str(tmp_path / "w"), "--baseline-src", str(baseline), "--json"]
    assert load().main(argv) == 0
    (result,) = json.loads(capsys.readouterr().out)["results"]
    assert result["villagegreen_baseline"]["messages"] == result["villagegreen"]["messages"] == 30
    assert result["speedup_cpu"] == pytest.approx(result["villagegreen_baseline"]["cpu_s"] / result["villagegreen"]["cpu_s"], abs=0.001)


def test_a_given_source_is_the_one_measured(tmp_path: Path, fake_perceval: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = SCRIPT.parents[1] / "src"
    argv = ["--sizes", "30", "--real", "", "--perceval-python", str(fake_perceval), "--work", str(tmp_path / "w"), "--src", str(source), "--json"]
    assert load().main(argv) == 0
    (result,) = json.loads(capsys.readouterr().out)["results"]
    assert result["villagegreen"]["messages"] == result["perceval"]["messages"] == 30
    assert "villagegreen_baseline" not in result
