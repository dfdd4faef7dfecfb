"""A store holding the shipped demo data (a slice of conlang.stackexchange.com), and its XML parsed
independently of the connector, so that tests can check stories against the dump itself."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from villagegreen.store import Store
from villagegreen.store.ingest import import_path

DEMO = Path(__file__).resolve().parents[2] / "src" / "villagegreen" / "demo_data" / "conlang"


@dataclass(frozen=True)
class Dump:
    posts: dict[str, dict[str, str]]
    users: dict[str, str]
    comments: list[dict[str, str]]

    def questions(self) -> list[dict[str, str]]:
        return [p for p in self.posts.values() if p.get("PostTypeId") == "1"]

    def author(self, post: dict[str, str]) -> str | None:
        return self.users.get(post.get("OwnerUserId", ""), post.get("OwnerDisplayName"))


def _rows(name: str) -> list[dict[str, str]]:
    return [dict(row.attrib) for row in ET.parse(DEMO / name).getroot().iter("row")]


@pytest.fixture(scope="session")
def dump() -> Dump:
    posts = {p["Id"]: p for p in _rows("Posts.xml")}
    users = {u["Id"]: u["DisplayName"] for u in _rows("Users.xml")}
    return Dump(posts, users, _rows("Comments.xml"))


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    with Store.open(tmp_path_factory.mktemp("demo") / "demo.duckdb") as store:
        import_path(store, DEMO)
        yield store


def conversation_of(store: Store, question_id: str) -> str:
    """The conversation id of a Stack Exchange question, by its native post id."""
    ((cid,),) = store.con.execute("SELECT id FROM messages WHERE native_id = ? AND kind = 'question'", [question_id]).fetchall()
    return str(cid)
