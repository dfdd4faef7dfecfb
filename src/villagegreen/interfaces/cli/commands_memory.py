"""Commands for the community's memory: ``stories edit``, ``digest`` and ``search``."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from villagegreen.errors import InputError
from villagegreen.interfaces.cli.app import app
from villagegreen.interfaces.cli.commands_stories import Actor, Note, stories_app
from villagegreen.interfaces.cli.options import DbOption, JsonOption
from villagegreen.store import DEFAULT_DB_PATH, Store

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)
_DIGEST_FORMATS = ("md", "html", "json")


def _edit_in_editor(text: str) -> str:
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
    if not editor:
        raise InputError("no editor: set $EDITOR (e.g. export EDITOR=nano) or pass the edited Markdown with --file story.md")
    with tempfile.TemporaryDirectory(prefix="villagegreen-story-") as folder:
        path = Path(folder) / "story.md"
        path.write_text(text, encoding="utf-8")
        finished = subprocess.run([*shlex.split(editor), str(path)], check=False)
        if finished.returncode != 0:
            raise InputError(f"the editor ({editor}) exited with status {finished.returncode}; nothing saved")
        return path.read_text(encoding="utf-8")


@stories_app.command("edit")
def stories_edit_command(
    story_id: Annotated[int, typer.Argument(help="The story id (from `stories list`).")],
    db: DbOption = DEFAULT_DB_PATH,
    file: Annotated[Path | None, typer.Option("--file", help="The edited Markdown ('-' reads it from standard input); without it, $EDITOR opens.")] = None,
    actor: Actor = None,
    note: Note = None,
    as_json: JsonOption = False,
) -> None:
    """Edit a story's Markdown: a new version, every statement still cited to its messages.

    Keep the shape of `stories show`: '## Context', '## Key takeaways'... with one statement per
    list item, each ending with message ids in brackets, e.g. [2e46225804248874cd528996].
    An approved story goes back to draft; approval re-checks consent on the edited text.
    Example: villagegreen stories edit 3 --db acme.duckdb
    Example: villagegreen stories show 3 > s.md && nano s.md && villagegreen stories edit 3 --file s.md --note "tightened"
    """
    from villagegreen.stories.desk import edit_story, latest_story
    from villagegreen.stories.render import to_markdown

    if file is not None:
        try:
            markdown = sys.stdin.read() if str(file) == "-" else file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise InputError(f"cannot read {file}: {error}") from None
        with Store.open(db) as store:
            result = edit_story(store, story_id, markdown, actor=actor, note=note)
    else:
        with Store.open(db, read_only=True) as store:
            current = to_markdown(latest_story(store, story_id))
        # The store is closed while the editor is open, so imports and the dashboard are not blocked.
        edited = _edit_in_editor(current)
        if edited == current:
            err_console.print("no change; nothing saved")
            return
        with Store.open(db) as store:
            result = edit_story(store, story_id, edited, actor=actor, note=note)
    if as_json:
        print(json.dumps(result.to_dict(), indent=2))
        return
    record = result.record
    console.print(f"story {record.id} saved as version {record.versions} ({record.state})")
    for problem in result.problems:
        err_console.print(f"[yellow]approval will be refused until this is fixed:[/] {escape(problem)}")


@app.command("digest")
def digest_command(
    week: Annotated[str | None, typer.Option("--week", help="ISO week, YYYY-Www (default: the current week, UTC).")] = None,
    db: DbOption = DEFAULT_DB_PATH,
    fmt: Annotated[str, typer.Option("--format", help="md, html (an e-mail-safe fragment) or json.")] = "md",
    output: Annotated[Path | None, typer.Option("--output", help="Write the digest to this file instead of printing it.")] = None,
) -> None:
    """The week's digest: approved stories, threads ripe for wrap-up, unanswered questions with
    who could answer them, and health highlights; readable in an e-mail.

    Example: villagegreen digest --week 2026-W48 --db acme.duckdb --format html --output digest.html
    """
    if fmt not in _DIGEST_FORMATS:
        raise InputError(f"--format {fmt!r} is not one of {', '.join(_DIGEST_FORMATS)}")
    from villagegreen.stories.digest import build_digest, current_week, parse_week

    chosen = week or current_week()
    parse_week(chosen)  # a bad week is refused before the store is opened
    with Store.open(db) as store:  # writable: expert suggestions label dialogue acts not yet labelled
        digest = build_digest(store, chosen)
    text = json.dumps(digest.to_dict(), indent=2, ensure_ascii=False) if fmt == "json" else digest.html() if fmt == "html" else digest.markdown()
    if output is None:
        print(text, end="" if text.endswith("\n") else "\n")
    else:
        output.write_text(text, encoding="utf-8")
        err_console.print(f"wrote {escape(digest.title)} to {output}")


@app.command("search")
def search_command(
    query: Annotated[str, typer.Argument(help="What to look for, in quotes.")],
    db: DbOption = DEFAULT_DB_PATH,
    space: Annotated[str | None, typer.Option("--space", help="One space: its id or its name.")] = None,
    k: Annotated[int, typer.Option("-k", help="How many conversations to show (1-100).")] = 10,
    mode: Annotated[str, typer.Option("--mode", help="hybrid (default), bm25 or embeddings.")] = "hybrid",
    include_private: Annotated[bool, typer.Option("--include-private", help="Search private spaces too.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Search the community's memory: conversations and approved stories, by words (BM25) and
    meaning (embeddings), grouped by conversation with passages in context and links.

    Example: villagegreen search "reset a forgotten password" --db acme.duckdb -k 5
    """
    from villagegreen.stories.memory import MODES, search

    if mode not in MODES:
        raise InputError(f"--mode {mode!r} is not one of {', '.join(MODES)}")
    with Store.open(db, read_only=True) as store:
        report = search(store, query, k=k, space=space, include_private=include_private, mode=mode)
    if as_json:
        print(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
        return
    if not report.results:
        console.print(f"nothing found for {escape(query)!r} in {report.documents} documents")
        return
    for result in report.results:
        story = f" · story {result['story']['id']}" if result["story"] else ""
        console.print(f"[bold]{result['rank']}. {escape(result['title'])}[/]  [dim]{escape(result['space'])} · {(result['started_at'] or '')[:10]}{story}[/]")
        console.print(f"   {escape(result['permalink'] or 'conversation ' + result['conversation_id'])}")
        for passage in result["passages"]:
            console.print(f"   [dim]›[/] {escape(passage['snippet'])}")
