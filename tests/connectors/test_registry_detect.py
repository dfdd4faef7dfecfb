"""Detection that filters by file names first picks exactly what sniffing every connector picks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from villagegreen.connectors.base import Connector
from villagegreen.connectors.registry import BUILTIN_CONNECTORS, SNIFF_SUFFIXES, detect, registered_connectors
from villagegreen.connectors.tree import SourceTree
from villagegreen.errors import InputError, UnknownFormatError

DATA = Path(__file__).resolve().parent.parent / "data"


def _exhaustive(tree: SourceTree) -> type[Connector] | None:
    # The definition detection had before the filter: every connector, in priority order.
    for connector in sorted(registered_connectors().values(), key=lambda cls: (cls.priority, cls.name)):
        if connector.sniff(tree):
            return connector
    return None


def _filtered(tree: SourceTree) -> type[Connector] | None:
    try:
        return detect(tree)
    except UnknownFormatError:
        return None


def _inputs(root: Path, depth: int) -> list[Path]:
    found = [root]
    if root.is_dir() and depth > 0:
        for child in sorted(root.iterdir()):
            found += _inputs(child, depth - 1)
    return found


def _assert_same_choice(paths: list[Path]) -> int:
    compared = 0
    for path in paths:
        try:
            tree = SourceTree(path)
        except InputError:
            continue
        with tree:
            assert _filtered(tree) is _exhaustive(tree), path
        compared += 1
    return compared


def test_every_builtin_has_a_suffix_rule() -> None:
    assert set(SNIFF_SUFFIXES) == set(BUILTIN_CONNECTORS)
    assert all(suffix.startswith(".") and suffix == suffix.lower() for rule in SNIFF_SUFFIXES.values() for suffix in rule)


def test_fixtures_are_detected_as_by_sniffing_every_connector() -> None:
    # Every fixture file and folder of every platform, and the folders holding several formats.
    assert _assert_same_choice(_inputs(DATA, 4)) > 100


@pytest.mark.realdata
def test_real_and_format_sample_inputs_are_detected_as_by_sniffing_every_connector(shared_data: Path) -> None:
    paths = [dataset for platform in sorted(shared_data.iterdir()) if platform.is_dir() for dataset in sorted(platform.iterdir())]
    paths += _inputs(shared_data / "formats", 3)
    assert _assert_same_choice(paths) > 20


@pytest.mark.parametrize("lone_file", [False, True], ids=["folder", "lone-file"])
def test_a_mail_archive_imports_no_chat_connector(tmp_path: Path, lone_file: bool) -> None:
    (tmp_path / "list.mbox").write_bytes((DATA / "mail" / "standard.mbox").read_bytes())
    target = tmp_path / "list.mbox" if lone_file else tmp_path
    script = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from villagegreen.connectors.registry import detect\n"
        "from villagegreen.connectors.tree import SourceTree\n"
        f"print(detect(SourceTree(Path({str(target)!r}))).name)\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('villagegreen.connectors.'))))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    name, modules = done.stdout.strip().splitlines()
    assert name == "mail"
    loaded = {m.split(".")[2] for m in json.loads(modules)}
    assert not loaded & (set(BUILTIN_CONNECTORS) - {"mail"})
