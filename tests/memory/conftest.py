"""Stores for the memory tests: the shipped demo (a real slice of conlang.stackexchange.com),
imported once per module and copied for tests that write, and its XML parsed independently."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from villagegreen.store import Store
from villagegreen.store.ingest import import_path

DEMO = Path(__file__).resolve().parents[2] / "src" / "villagegreen" / "demo_data" / "conlang"


def xml_rows(name: str) -> list[dict[str, str]]:
    return [dict(row.attrib) for row in ET.parse(DEMO / name).getroot().iter("row")]


@pytest.fixture(scope="session")
def demo_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("memory") / "demo.duckdb"
    with Store.open(path) as store:
        import_path(store, DEMO, platform="stackexchange")
    return path


@pytest.fixture
def demo(demo_file: Path, tmp_path: Path) -> Iterator[Store]:
    """A writable copy of the demo store, fresh for each test."""
    copy = tmp_path / "demo.duckdb"
    shutil.copyfile(demo_file, copy)
    with Store.open(copy) as store:
        yield store


def question_conversation(store: Store, post_id: str) -> str:
    rows = store.con.execute("SELECT conversation_id FROM messages WHERE kind = 'question' AND native_id = ?", [post_id]).fetchall()
    assert rows, f"question {post_id} not imported"
    return str(rows[0][0])
