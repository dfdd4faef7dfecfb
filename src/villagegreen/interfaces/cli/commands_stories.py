"""Commands that narrate: ``threads ripe`` (has a conversation run its course?), ``story``, ``stories``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from villagegreen.errors import InputError
from villagegreen.interfaces.cli.app import app
from villagegreen.interfaces.cli.options import ConfigOption, DbOption, JsonOption
from villagegreen.store import DEFAULT_DB_PATH, Store

if TYPE_CHECKING:
    from villagegreen.analyses.lifecycle_report import RipenessReport
    from villagegreen.stories.model import Story

# Analyses and stories (numpy, the embedder) are imported inside each command: every CLI call
# imports this module, and `villagegreen --help` should not pay for them.

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)
FormatOption = Annotated[str, typer.Option("--format", help="md, html or json.")]
Actor = Annotated[str | None, typer.Option("--actor", help="Who did it (default: your login name).")]
Note = Annotated[str | None, typer.Option("--note", help="Why: kept with the version.")]
stories_app = typer.Typer(
    name="stories",
    help="The editor's desk: saved story drafts, their versions and approval.\n\nExample: villagegreen stories list --db acme.duckdb",
    no_args_is_help=True,
)
app.add_typer(stories_app, name="stories")
threads_app = typer.Typer(
    name="threads",
    help="Conversations: which have run their course and what to do about them.\n\nExample: villagegreen threads ripe --db acme.duckdb",
    no_args_is_help=True,
)
app.add_typer(threads_app, name="threads")
_FORMATS = ("md", "html", "json")


@threads_app.command("ripe")
def threads_ripe_command(
    db: DbOption = DEFAULT_DB_PATH,
    space: Annotated[str | None, typer.Option("--space", help="One space: its id or its name.")] = None,
    no_embeddings: Annotated[bool, typer.Option("--no-embeddings", help="Skip the novelty and drift signals (no embedder needed).")] = False,
    limit: Annotated[int, typer.Option("--limit", help="Rows shown in the table (JSON has them all).")] = 30,
    as_json: JsonOption = False,
) -> None:
    """Has each conversation run its course? A state, a suggested action and the reason.

    States: nudge (unanswered), wrap_up (write the story), split, close, keep_going.
    Example: villagegreen threads ripe --db acme.duckdb --space "category 10"
    """
    from villagegreen.analyses.lifecycle_report import ripeness

    embedder = None
    if not no_embeddings:
        from villagegreen.analyses.embeddings import get_embedder

        embedder = get_embedder("static")
    with Store.open(db) as store:
        report = ripeness(store, space=space, embedder=embedder)
    if as_json:
        print(json.dumps(report.to_dict(), indent=2, default=str))
    else:
        _print_ripeness(report, limit)


def _print_ripeness(report: RipenessReport, limit: int) -> None:
    counts = ", ".join(f"{n} {state.replace('_', ' ')}" for state, n in report.counts.items())
    console.print(f"[bold]{len(report.threads)} conversations[/] as of {report.as_of:%Y-%m-%d}: {counts}")
    table = Table("state", "conversation", "space", "reason")
    table.add_column("id", no_wrap=True, min_width=24)  # copied into `villagegreen story ID`: never cut
    for r in report.threads[:limit]:
        table.add_row(r.state.replace("_", " "), r.title[:60], r.space[:30], r.reason, r.conversation_id)
    console.print(table)


@app.command("story")
def story_command(
    conversations: Annotated[
        list[str],
        typer.Argument(help="One conversation id (from `threads ripe --json`), or several of one source for one story of them all.", metavar="CONVERSATION"),
    ],
    db: DbOption = DEFAULT_DB_PATH,
    fmt: FormatOption = "md",
    related: Annotated[
        int | None,
        typer.Option("--related", help="Add up to K (1-10) conversations of the first one's space found similar by the memory search.", metavar="K"),
    ] = None,
    include_private: Annotated[
        bool, typer.Option("--include-private", help="Allow conversations of private spaces in a story of several (and in --related).")
    ] = False,
    save: Annotated[bool, typer.Option("--save", help="Keep the draft on the editor's desk (a new version if one is open).")] = False,
    actor: Actor = None,
    writer: Annotated[
        str, typer.Option("--writer", help="extractive (offline, the default) or llm (an OpenAI-compatible server rewrites the narrative).")
    ] = "extractive",
    writer_url: Annotated[
        str | None,
        typer.Option("--writer-url", help="The server's base URL, e.g. http://127.0.0.1:8080/v1 (else base_url in villagegreen.toml's writer table)."),
    ] = None,
    writer_model: Annotated[str | None, typer.Option("--writer-model", help="The model name the server expects (else model in the writer table).")] = None,
    writer_key_env: Annotated[str | None, typer.Option("--writer-key-env", help="NAME of the environment variable holding the API key.")] = None,
    config: ConfigOption = None,
) -> None:
    """Draft the attributed story of a conversation (or of several), every statement cited to its messages.

    Several ids (one source; the first is the primary) or --related K make one story that
    follows time across them, saying why each was included.
    People who refused 'quoting' consent are neither named nor quoted. With --writer llm a
    language model rewrites the narrative; sentences whose citations do not check out are dropped,
    and the extractive draft is kept (with a warning) when the server fails.
    Example: villagegreen story 93f6d327f9eb047d8eb11a45 --db acme.duckdb --format html
    Example: villagegreen story 93f6d327f9eb047d8eb11a45 --db acme.duckdb --save
    Example: villagegreen story 93f6d327f9eb047d8eb11a45 2e46225804248874cd528996 --db acme.duckdb
    Example: villagegreen story 93f6d327f9eb047d8eb11a45 --related 2 --db acme.duckdb --save
    Example: villagegreen story 93f6d327f9eb047d8eb11a45 --writer llm --writer-url http://127.0.0.1:8080/v1 --writer-model gemma
    """
    _check_format(fmt)
    if writer not in ("extractive", "llm"):
        raise InputError(f"--writer {writer!r} is not one of extractive, llm")
    from villagegreen.stories.draft import refused_names
    from villagegreen.stories.render import render

    with Store.open(db) as store:
        story = _draft(store, conversations, related, include_private)
        if writer == "llm":
            from villagegreen.config import load_config
            from villagegreen.stories.llm import load_settings, write_story

            settings = load_settings(load_config(config).path, base_url=writer_url, model=writer_model, api_key_env=writer_key_env)
            result = write_story(story, settings, refused_names=refused_names(store, *story.conversation_ids()))
            if result.warning:
                err_console.print(f"warning: {result.warning}", markup=False, soft_wrap=True)
            else:
                dropped = len(result.dropped)
                err_console.print(f"llm writer: kept {result.kept} sentence(s), dropped {dropped} whose citations did not check out", soft_wrap=True)
            story = result.story
        if save:
            from villagegreen.stories.desk import save_story

            record = save_story(store, story, actor=actor)
            err_console.print(f"saved as story {record.id} ({record.state}, version {record.versions})")
    print(render(story, fmt), end="")


def _draft(store: Store, conversations: list[str], related: int | None, include_private: bool) -> Story:
    from villagegreen.stories.combined import draft_combined
    from villagegreen.stories.draft import draft_story

    reasons: dict[str, str] = {}
    if related is not None:
        from villagegreen.stories.related import related_conversations

        found = [r for r in related_conversations(store, conversations[0], related, include_private=include_private) if r.conversation_id not in conversations]
        if not found:
            err_console.print("warning: no related conversation found; drafting without", soft_wrap=True)
        reasons = {r.conversation_id: r.reason for r in found}
    ids = list(dict.fromkeys([*conversations, *reasons]))
    if len(ids) == 1:
        return draft_story(store, ids[0])
    return draft_combined(store, ids, reasons=reasons, include_private=include_private)


def _check_format(fmt: str) -> None:
    if fmt not in _FORMATS:
        raise InputError(f"--format {fmt!r} is not one of {', '.join(_FORMATS)}")


@stories_app.command("list")
def stories_list_command(
    db: DbOption = DEFAULT_DB_PATH,
    state: Annotated[str | None, typer.Option("--state", help="Only stories in this state: draft, in_review, approved, published.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Stories on the editor's desk, newest change first.

    Example: villagegreen stories list --db acme.duckdb --state draft
    """
    from villagegreen.stories.desk import list_stories

    with Store.open(db) as store:
        records = list_stories(store, state)
    if as_json:
        print(json.dumps([r.to_dict() for r in records], indent=2))
        return
    table = Table("id", "state", "versions", "updated", "title")
    for r in records:
        table.add_row(str(r.id), r.state, str(r.versions), f"{r.updated_at:%Y-%m-%d %H:%M}", r.title[:70])
    console.print(table)


@stories_app.command("show")
def stories_show_command(
    story_id: Annotated[int, typer.Argument(help="The story id (from `stories list`).")],
    db: DbOption = DEFAULT_DB_PATH,
    fmt: FormatOption = "md",
) -> None:
    """The latest version of a saved story.

    Example: villagegreen stories show 3 --db acme.duckdb --format html
    """
    _check_format(fmt)
    from villagegreen.stories.desk import latest_story
    from villagegreen.stories.render import render

    with Store.open(db) as store:
        print(render(latest_story(store, story_id), fmt), end="")


def _move(db: Path, story_id: int, state: str, actor: str | None, note: str | None) -> None:
    from villagegreen.stories.desk import set_state

    with Store.open(db) as store:
        record = set_state(store, story_id, state, actor=actor, note=note)
    console.print(f"story {record.id} is now {record.state} (version {record.versions})")


@stories_app.command("review")
def stories_review_command(
    story_id: Annotated[int, typer.Argument(help="The story id.")], db: DbOption = DEFAULT_DB_PATH, actor: Actor = None, note: Note = None
) -> None:
    """Send a draft to review.

    Example: villagegreen stories review 3 --db acme.duckdb --note "please check the takeaways"
    """
    _move(db, story_id, "in_review", actor, note)


@stories_app.command("approve")
def stories_approve_command(
    story_id: Annotated[int, typer.Argument(help="The story id.")], db: DbOption = DEFAULT_DB_PATH, actor: Actor = None, note: Note = None
) -> None:
    """Approve a story, after checking nobody who refused quoting is named or quoted in it.

    Example: villagegreen stories approve 3 --db acme.duckdb --actor ana
    """
    _move(db, story_id, "approved", actor, note)
