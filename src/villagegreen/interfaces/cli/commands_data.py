"""Commands that read the store: ``sources``, ``stats``, ``export``, ``migrate``."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from villagegreen.interfaces.cli.app import app
from villagegreen.interfaces.cli.options import DbOption, JsonOption
from villagegreen.store import DEFAULT_DB_PATH, Store
from villagegreen.store.export import export_convokit, export_parquet
from villagegreen.store.overview import SpaceStats, list_sources, space_stats
from villagegreen.store.privacy_pseudonyms import SALT_ENV, Pseudonymiser, resolve_salt

console = Console(highlight=False)

IncludePrivate = Annotated[bool, typer.Option("--include-private", help="Include private channels, DMs and group DMs.")]


@app.command("sources")
def sources_command(db: DbOption = DEFAULT_DB_PATH, as_json: JsonOption = False) -> None:
    """List the communities imported into the store.

    Example: villagegreen sources --db acme.duckdb
    """
    with Store.open(db, read_only=True) as store:
        sources = list_sources(store)
    if as_json:
        print(json.dumps([s.to_dict() for s in sources], indent=2))
        return
    table = Table("name", "connector", "spaces", "messages", "last import", "location")
    for s in sources:
        table.add_row(s.name, s.connector, f"{s.spaces:,}", f"{s.messages:,}", f"{s.last_imported_at:%Y-%m-%d %H:%M}", s.location or "")
    console.print(table)


@app.command("stats")
def stats_command(db: DbOption = DEFAULT_DB_PATH, include_private: IncludePrivate = False, as_json: JsonOption = False) -> None:
    """Per space: messages, people, conversations, date range and the share of replies.

    Example: villagegreen stats --db acme.duckdb --json
    """
    with Store.open(db, read_only=True) as store:
        rows = space_stats(store, include_private=include_private)
    if as_json:
        print(json.dumps([r.to_dict() for r in rows], indent=2))
    else:
        print_stats(rows)


def print_stats(rows: list[SpaceStats]) -> None:
    table = Table("source", "space", "messages", "people", "conversations", "from", "to", "replies")
    for r in rows:
        table.add_row(
            r.source,
            r.space + (" (private)" if r.private else ""),
            f"{r.messages:,}",
            f"{r.people:,}",
            f"{r.conversations:,}",
            f"{r.first_message_at:%Y-%m-%d}" if r.first_message_at else "",
            f"{r.last_message_at:%Y-%m-%d}" if r.last_message_at else "",
            f"{r.reply_share:.0%}",
        )
    console.print(table)


class ExportFormat(StrEnum):
    parquet = "parquet"
    convokit = "convokit"


@app.command("export")
def export_command(
    out: Annotated[Path, typer.Argument(help="A new (or empty) folder to write into.")],
    export_format: Annotated[ExportFormat, typer.Option("--format", help="parquet: one file per table; convokit: a ConvoKit corpus.")],
    db: DbOption = DEFAULT_DB_PATH,
    include_private: IncludePrivate = False,
    pseudonymise: Annotated[bool, typer.Option("--pseudonymise", help="Replace people with stable salted pseudonyms; drop names, handles, emails.")] = False,
    salt: Annotated[str | None, typer.Option("--salt", help=f"Pseudonym secret (default ${SALT_ENV}, else one kept beside the store).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Export the store in an open format.

    Example: villagegreen export corpus/ --format convokit --pseudonymise --db acme.duckdb
    """
    with Store.open(db, read_only=True) as store:
        exporter = export_parquet if export_format is ExportFormat.parquet else export_convokit
        pseudonymiser = Pseudonymiser.from_store(store, resolve_salt(db, salt)[0]) if pseudonymise else None
        counts = exporter(store, out, include_private=include_private, pseudonymiser=pseudonymiser)
    if as_json:
        print(json.dumps({"format": export_format.value, "out": str(out), "counts": counts}, indent=2))
    else:
        console.print(f"wrote {export_format.value} to {out}: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()), markup=False)


@app.command("migrate")
def migrate_command(db: DbOption = DEFAULT_DB_PATH) -> None:
    """Bring an older store's schema up to date (each migration is one transaction).

    Example: villagegreen migrate --db acme.duckdb
    """
    with Store.open(db, migrate=True) as store:
        version = store.schema_version()
    console.print(f"{db}: schema version {version}", markup=False)
