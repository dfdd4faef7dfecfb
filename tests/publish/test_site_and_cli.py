"""The static-site target through the CLI: pages and index written, dry run writes nothing,
unapproved stories refused in one line, a second run posts nothing, the audit log and the
story's state record the publication."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.cli_support import run_cli
from villagegreen.store import Store
from villagegreen.store.audit import entries

from .conftest import Desk, write_config


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.hrefs += [v or "" for k, v in attrs if k == "href"]


def _story_links(db: Path, story_id: int) -> set[str]:
    """The permalinks cited in the stored story body, read straight from the JSON column."""
    with Store.open(db, read_only=True) as store:
        ((body,),) = store.con.execute("SELECT body FROM story_versions WHERE story_id = ? ORDER BY version DESC LIMIT 1", [story_id]).fetchall()
    return set(re.findall(r'"permalink": "(https://[^"]+)"', body))


def test_story_to_site_then_again(desk: Desk, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    site = tmp_path / "site"
    config = write_config(tmp_path / "vg.toml", {"name": "intranet", "kind": "site", "path": str(site)})
    code, out, err = run_cli(capsys, "publish", "story", desk.approved, "--to", "intranet", "--db", desk.db, "--config", config, "--actor", "ben")
    assert code == 0, err
    assert out.startswith(f"published story {desk.approved} to intranet")
    page_md, page_html = site / "story" / f"{desk.approved}.md", site / "story" / f"{desk.approved}.html"
    links = _story_links(desk.db, desk.approved)
    assert links and all(f"]({url})" in page_md.read_text() for url in links)  # citations stay links in Markdown
    parsed = Links()
    parsed.feed(page_html.read_text())
    assert links <= set(parsed.hrefs) and "script" not in parsed.tags
    index = json.loads((site / "index.json").read_text())
    assert [(e["kind"], e["id"]) for e in index] == [("story", str(desk.approved))]
    assert f"(story/{desk.approved}.md)" in (site / "index.md").read_text()
    index_links = Links()
    index_links.feed((site / "index.html").read_text())
    assert index_links.hrefs == [f"story/{desk.approved}.html"]
    with Store.open(desk.db, read_only=True) as store:
        assert store.con.execute("SELECT state FROM stories WHERE id = ?", [desk.approved]).fetchall() == [("published",)]
        rows = store.con.execute("SELECT item_kind, item_id, target, target_kind, actor FROM publications").fetchall()
        assert rows == [("story", str(desk.approved), "intranet", "site", "ben")]
        logged = entries(store, action="publish")
        assert len(logged) == 1 and logged[0].actor == "ben" and logged[0].details["target"] == "intranet"
    before = page_md.stat().st_mtime_ns
    code, out, _ = run_cli(capsys, "publish", "story", desk.approved, "--to", "intranet", "--db", desk.db, "--config", config)
    assert code == 0 and "already on intranet" in out and "nothing sent" in out
    assert page_md.stat().st_mtime_ns == before
    with Store.open(desk.db, read_only=True) as store:
        assert store.con.execute("SELECT count(*) FROM publications").fetchall() == [(1,)]
        assert len(entries(store, action="publish")) == 1


def test_dry_run_prints_what_and_where_and_writes_nothing(desk: Desk, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    site = tmp_path / "site"
    config = write_config(tmp_path / "vg.toml", {"name": "intranet", "kind": "site", "path": str(site)})
    code, out, err = run_cli(capsys, "publish", "story", desk.approved, "--to", "intranet", "--db", desk.db, "--config", config, "--dry-run")
    assert code == 0, err
    assert out.splitlines()[0] == f"dry run: story {desk.approved} to intranet (site); nothing sent"
    assert f"under {site}" in out and f"--- story/{desk.approved}.md" in out and "--- index.html" in out
    assert not site.exists()
    with Store.open(desk.db, read_only=True) as store:
        assert store.con.execute("SELECT count(*) FROM publications").fetchall() == [(0,)]
        assert store.con.execute("SELECT state FROM stories WHERE id = ?", [desk.approved]).fetchall() == [("approved",)]


def test_unapproved_story_is_refused_in_one_line(desk: Desk, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    site = tmp_path / "site"
    config = write_config(tmp_path / "vg.toml", {"name": "intranet", "kind": "site", "path": str(site)})
    for extra in ((), ("--dry-run",)):
        code, out, err = run_cli(capsys, "publish", "story", desk.draft, "--to", "intranet", "--db", desk.db, "--config", config, *extra)
        assert code == 2 and out == ""
        assert err.count("\n") == 1 and f"story {desk.draft} is draft, not approved" in err
    assert not site.exists()


def test_unknown_target_and_missing_config(desk: Desk, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path / "vg.toml", {"name": "intranet", "kind": "site", "path": str(tmp_path / "s")})
    code, _, err = run_cli(capsys, "publish", "story", desk.approved, "--to", "nowhere", "--db", desk.db, "--config", config)
    assert code == 2 and "no publishing target 'nowhere' (configured: intranet)" in err


def test_a_published_story_goes_to_a_second_target_and_the_list_shows_both(desk: Desk, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path / "vg.toml", {"name": "a", "kind": "site", "path": str(tmp_path / "a")},
                          {"name": "b", "kind": "site", "path": str(tmp_path / "b")})  # fmt: skip
    for target in ("a", "b"):
        code, out, err = run_cli(capsys, "publish", "story", desk.approved, "--to", target, "--db", desk.db, "--config", config)
        assert code == 0 and out.startswith("published"), err
    code, out, _ = run_cli(capsys, "publish", "list", "--db", desk.db, "--json")
    assert code == 0 and sorted(r["target"] for r in json.loads(out)) == ["a", "b"]
    assert (tmp_path / "b" / "story" / f"{desk.approved}.md").read_text() == (tmp_path / "a" / "story" / f"{desk.approved}.md").read_text()


def test_help_texts_have_examples(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("story", "wrapup", "poll", "digest", "list"):
        code, out, _ = run_cli(capsys, "publish", command, "--help")
        assert code == 0 and "Example: villagegreen publish" in " ".join(out.split())


def test_a_crash_before_the_state_change_is_repaired_by_the_next_run(desk: Desk, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path / "vg.toml", {"name": "intranet", "kind": "site", "path": str(tmp_path / "site")})
    run_cli(capsys, "publish", "story", desk.approved, "--to", "intranet", "--db", desk.db, "--config", config)
    with Store.open(desk.db) as store:  # as if the process died after recording, before the state change
        store.con.execute("UPDATE stories SET state = 'approved' WHERE id = ?", [desk.approved])
    code, out, _ = run_cli(capsys, "publish", "story", desk.approved, "--to", "intranet", "--db", desk.db, "--config", config)
    assert code == 0 and "already on intranet" in out
    with Store.open(desk.db, read_only=True) as store:
        assert store.con.execute("SELECT state FROM stories WHERE id = ?", [desk.approved]).fetchall() == [("published",)]
        assert store.con.execute("SELECT count(*) FROM publications").fetchall() == [(1,)]


@pytest.mark.slow
def test_poll_options_come_from_the_programme_report(desk: Desk, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from villagegreen.analyses.embeddings import get_embedder
    from villagegreen.analyses.framework import Window
    from villagegreen.analyses.programme import load_programme
    from villagegreen.analyses.programme_report import build_programme_report

    programme = Path(__file__).resolve().parents[2] / "examples" / "programme.yaml"
    config = write_config(tmp_path / "vg.toml", {"name": "forum", "kind": "discourse", "url": "https://forum.example.org", "username": "bot",
                                                 "token_env": "VG_UNSET_TOKEN"})  # fmt: skip
    code, out, err = run_cli(capsys, "publish", "poll", "--to", "forum", "--programme", programme, "--db", desk.db, "--config", config, "--dry-run")
    assert code == 0, err
    raw = json.loads(out.split("\n\n", 1)[1])["raw"]
    shown = re.findall(r"^\* (.+)$", raw.split("[poll", 1)[1], re.MULTILINE)
    with Store.open(desk.db, read_only=True) as store:
        report = build_programme_report(store, get_embedder("static"), load_programme(programme), Window("month", None, None))
    assert shown == [entry["option"] for entry in report.poll] and 2 <= len(shown) <= 5
