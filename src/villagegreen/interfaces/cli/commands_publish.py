"""``villagegreen publish story|wrapup|poll|digest ... --to TARGET``: post back where the members are.

Targets are the ``[[targets]]`` of villagegreen.toml (docs/publishing.md). ``--dry-run`` prints
exactly what would be sent and where, and sends nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from villagegreen.interfaces.cli.app import app
from villagegreen.interfaces.cli.options import ConfigOption, DbOption, JsonOption, SinceOption, UntilOption, parse_day
from villagegreen.store import DEFAULT_DB_PATH, Store

if TYPE_CHECKING:
    from villagegreen.publish.items import Item
    from villagegreen.publish.service import PublishReport

console = Console(highlight=False, soft_wrap=True)
ToOption = Annotated[str, typer.Option("--to", help="The target's name in villagegreen.toml ([[targets]]).")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Print exactly what would be sent and where; send nothing.")]
Actor = Annotated[str | None, typer.Option("--actor", help="Who publishes (default: your login name); kept in the audit log.")]
IncludePrivate = Annotated[bool, typer.Option("--include-private", help="Allow a story or wrap-up whose conversation is in a private channel, DM or room.")]
publish_app = typer.Typer(
    name="publish",
    help="Post stories, wrap-up notes, topic polls and digests back to the platforms.\n\n"
    "Example: villagegreen publish story 3 --to intranet --dry-run --db acme.duckdb",
    no_args_is_help=True,
)
app.add_typer(publish_app, name="publish")


def _run(
    db: Path, config: Path | None, to: str, build: Callable[[Store], Item], dry_run: bool, actor: str | None, as_json: bool, include_private: bool = False
) -> None:
    from villagegreen.publish.service import publish
    from villagegreen.publish.targets import find_target

    target = find_target(to, config)
    # A dry run only reads: it may look at a store another process is writing, and never creates one.
    with Store.open(db, read_only=dry_run) as store:
        item = build(store)
        report = publish(store, item, target, dry_run=dry_run, actor=actor, include_private=include_private)
    _print(report, target.kind, as_json)


def _print(report: PublishReport, kind: str, as_json: bool) -> None:
    if as_json:
        print(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
        return
    what = f"{report.item_kind} {report.item_id}"
    if report.status == "dry run":
        print(f"dry run: {what} to {report.target} ({kind}); nothing sent")
        print(report.delivery.show(), end="")
    elif report.status == "already published":
        print(f"{what} is already on {report.target} ({report.note}); nothing sent")
    else:
        where = report.publication.remote_url or report.publication.remote_id if report.publication else None
        print(f"published {what} to {report.target}" + (f": {where}" if where else ""))
        if report.note:
            print(f"note: {report.note}")


@publish_app.command("story")
def publish_story_command(
    story_id: Annotated[int, typer.Argument(help="The story id (from `stories list --state approved`).")],
    to: ToOption,
    db: DbOption = DEFAULT_DB_PATH,
    config: ConfigOption = None,
    dry_run: DryRun = False,
    actor: Actor = None,
    as_json: JsonOption = False,
    include_private: IncludePrivate = False,
) -> None:
    """Publish an approved story; it becomes 'published'. Drafts and stories in review are refused.

    Example: villagegreen publish story 3 --to matrix-general --db acme.duckdb
    """
    from villagegreen.publish.items import story_item

    _run(db, config, to, lambda store: story_item(store, story_id), dry_run, actor, as_json, include_private)


@publish_app.command("wrapup")
def publish_wrapup_command(
    conversation: Annotated[str, typer.Argument(help="The conversation id (from `threads ripe`).")],
    to: ToOption,
    db: DbOption = DEFAULT_DB_PATH,
    config: ConfigOption = None,
    force: Annotated[bool, typer.Option("--force", help="Post even if the conversation is not ripe (wrap up or close).")] = False,
    dry_run: DryRun = False,
    actor: Actor = None,
    as_json: JsonOption = False,
    include_private: IncludePrivate = False,
) -> None:
    """Post a wrap-up note for a conversation that has run its course (counts only; nobody named).

    Example: villagegreen publish wrapup 93f6d327f9eb047d8eb11a45 --to forum --dry-run --db acme.duckdb
    """
    from villagegreen.publish.items import wrapup_item

    _run(db, config, to, lambda store: wrapup_item(store, conversation, force=force), dry_run, actor, as_json, include_private)


@publish_app.command("poll")
def publish_poll_command(
    to: ToOption,
    question: Annotated[str, typer.Option("--question", help="The poll's question.")] = "What should we talk about next?",
    option: Annotated[list[str] | None, typer.Option("--option", help="One option (repeat it); overrides --programme.")] = None,
    programme: Annotated[Path | None, typer.Option("--programme", help="programme.yaml: take the options `villagegreen goals` suggests.")] = None,
    since: SinceOption = None,
    until: UntilOption = None,
    db: DbOption = DEFAULT_DB_PATH,
    config: ConfigOption = None,
    dry_run: DryRun = False,
    actor: Actor = None,
    as_json: JsonOption = False,
) -> None:
    """Post a topic poll, in the platform's own poll form where it has one.

    Example: villagegreen publish poll --to forum --programme programme.yaml --db acme.duckdb --dry-run
    Example: villagegreen publish poll --to slack --option "Onboarding" --option "Tooling"
    """
    from villagegreen.errors import InputError
    from villagegreen.publish.items import poll_item

    def build(store: Store) -> Item:
        if option:
            return poll_item(question, option)
        if programme is None:
            raise InputError("a poll needs options: pass --option (repeat it) or --programme programme.yaml")
        from villagegreen.analyses.embeddings import get_embedder
        from villagegreen.analyses.framework import Window
        from villagegreen.analyses.programme import load_programme
        from villagegreen.analyses.programme_report import build_programme_report

        window = Window("month", parse_day(since, "--since"), parse_day(until, "--until"))
        report = build_programme_report(store, get_embedder("static"), load_programme(programme), window)
        return poll_item(question, [entry["option"] for entry in report.poll])

    _run(db, config, to, build, dry_run, actor, as_json)


@publish_app.command("digest")
def publish_digest_command(
    week: Annotated[str, typer.Argument(help="The ISO week, e.g. 2026-W47.")],
    to: ToOption,
    db: DbOption = DEFAULT_DB_PATH,
    config: ConfigOption = None,
    dry_run: DryRun = False,
    actor: Actor = None,
    as_json: JsonOption = False,
) -> None:
    """Publish the weekly digest.

    Example: villagegreen publish digest 2026-W47 --to newsletter --db acme.duckdb
    """
    from villagegreen.publish.items import digest_item

    _run(db, config, to, lambda store: digest_item(store, week), dry_run, actor, as_json)


@publish_app.command("list")
def publish_list_command(
    db: DbOption = DEFAULT_DB_PATH,
    to: Annotated[str | None, typer.Option("--to", help="Only this target.")] = None,
    as_json: JsonOption = False,
) -> None:
    """What was published where, oldest first.

    Example: villagegreen publish list --db acme.duckdb --to intranet
    """
    from villagegreen.publish.records import list_publications

    with Store.open(db) as store:
        rows = list_publications(store, target=to)
    if as_json:
        print(json.dumps([r.to_dict() for r in rows], indent=2))
        return
    table = Table("published", "item", "target", "where", "by")
    for r in rows:
        table.add_row(f"{r.published_at:%Y-%m-%d %H:%M}", f"{r.item_kind} {r.item_id}", r.target, r.remote_url or r.remote_id or "", r.actor)
    console.print(table)


@publish_app.command("poll-results")
def publish_poll_results_command(
    poll: Annotated[str | None, typer.Argument(help="One poll id (poll-...; see `publish list`); default: every poll posted.")] = None,
    to: Annotated[str | None, typer.Option("--to", help="Only the polls posted to this target.")] = None,
    db: DbOption = DEFAULT_DB_PATH,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Read back how members answered the polls posted to Matrix, Discourse, Slack and Mattermost (nothing is stored).

    Example: villagegreen publish poll-results --to forum --db acme.duckdb
    """
    from villagegreen.publish.poll_results import read_results
    from villagegreen.publish.targets import load_targets

    targets = load_targets(config)
    with Store.open(db, read_only=True) as store:
        results = read_results(store, targets, poll_id=poll, target=to)
    if as_json:
        print(json.dumps([r.to_dict() for r in results], indent=2, ensure_ascii=False))
    else:
        if not results:
            print("no polls published yet" + (f" to {to}" if to else ""))
        for r in results:
            voters = f", {r.voters} voter{'s' if r.voters != 1 else ''}" if r.voters is not None else ""
            print(f"{r.poll_id} on {r.target} ({r.target_kind}{', closed' if r.closed else ''}{voters}): {r.question or ''}".rstrip(": "))
            for option, votes in sorted(r.votes, key=lambda pair: -pair[1]):
                print(f"  {votes:>4}  {option}")
            if r.note:
                print(f"  note: {r.note}")
    if any(r.note and r.note.startswith("not read:") for r in results):
        raise typer.Exit(1)
