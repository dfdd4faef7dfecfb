"""A store with the shipped demo data (conlang.stackexchange.com) and one approved story, copied
fresh for each test (importing takes seconds; copying the file does not), and a target config."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from villagegreen.store import Store
from villagegreen.store.ingest import import_path
from villagegreen.stories.desk import save_story, set_state
from villagegreen.stories.draft import draft_story

DEMO = Path(__file__).resolve().parents[2] / "src" / "villagegreen" / "demo_data" / "conlang"
TOKEN_ENV = "VG_TEST_PUBLISH_TOKEN"
TOKEN = "xoxb-test-only-secret-1234567890"  # a made-up secret: tests check it never appears in output


@dataclass(frozen=True)
class Desk:
    """The store file, an approved story, a draft story and the conversation of the approved one."""

    db: Path
    approved: int
    draft: int
    conversation: str


def conversation_of(store: Store, question_id: str) -> str:
    ((cid,),) = store.con.execute("SELECT id FROM messages WHERE native_id = ? AND kind = 'question'", [question_id]).fetchall()
    return str(cid)


@pytest.fixture(scope="session")
def desk_template(tmp_path_factory: pytest.TempPathFactory) -> Desk:
    db = tmp_path_factory.mktemp("publish") / "template.duckdb"
    with Store.open(db) as store:
        import_path(store, DEMO)
        cid = conversation_of(store, "1")
        approved = save_story(store, draft_story(store, cid), actor="ana")
        set_state(store, approved.id, "approved", actor="ana")
        ((other,),) = store.con.execute("SELECT min(native_id) FROM messages WHERE kind = 'question' AND native_id <> '1'").fetchall()
        draft = save_story(store, draft_story(store, conversation_of(store, other)), actor="ana")
    return Desk(db, approved.id, draft.id, cid)


@pytest.fixture
def desk(desk_template: Desk, tmp_path: Path) -> Desk:
    db = tmp_path / "store.duckdb"
    shutil.copy(desk_template.db, db)
    return Desk(db, desk_template.approved, desk_template.draft, desk_template.conversation)


@pytest.fixture
def opened(desk: Desk) -> Iterator[Store]:
    with Store.open(desk.db) as store:
        yield store


def write_config(path: Path, *targets: dict[str, object]) -> Path:
    """villagegreen.toml with these [[targets]] (plain TOML written by hand, not by our code)."""
    lines = []
    for target in targets:
        lines.append("[[targets]]")
        for key, value in target.items():
            if isinstance(value, bool):
                lines.append(f"{key} = {'true' if value else 'false'}")
            elif isinstance(value, int):
                lines.append(f"{key} = {value}")
            elif isinstance(value, list):
                lines.append(f"{key} = [{', '.join(repr(str(v)).replace(chr(39), chr(34)) for v in value)}]")
            else:
                lines.append(f'{key} = "{value}"')
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
