"""``villagegreen sync``: fetch what is new from the live sources in villagegreen.toml."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from villagegreen.interfaces.cli.app import app
from villagegreen.interfaces.cli.options import ConfigOption, DbOption, JsonOption
from villagegreen.store import DEFAULT_DB_PATH

if TYPE_CHECKING:
    from villagegreen.store.sync_common import SyncReport

console = Console(highlight=False)


@app.command("sync")
def sync_command(
    sources: Annotated[list[str] | None, typer.Argument(help="Source names from the sources tables of villagegreen.toml (default: all of them).")] = None,
    db: DbOption = DEFAULT_DB_PATH,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Fetch new messages from the live sources configured in villagegreen.toml (sources tables).

    Platforms: matrix, discourse, slack, mattermost. Tokens come from the environment variable
    each source names (token_env); they are never stored. Each source is synced in its own
    transaction; a failed one keeps its old cursor and the others still sync.

    Example: villagegreen sync community --db acme.duckdb   (with the token in $MATRIX_TOKEN)
    """
    # Imported here so that `villagegreen --help` does not load httpx and the store.
    from villagegreen.config import load_config
    from villagegreen.errors import ConfigError, VillageGreenError
    from villagegreen.store import Store
    from villagegreen.store.sync import sync_source
    from villagegreen.store.sync_common import SyncReport

    settings = load_config(config)
    configured = {source.name: source for source in settings.sources}
    if not configured:
        raise ConfigError("no [[sources]] in the configuration; add one (see the Live sync section of docs/connectors/<platform>.md)")
    unknown = [name for name in sources or [] if name not in configured]
    if unknown:
        raise ConfigError(f"unknown source(s) {', '.join(unknown)}; configured: {', '.join(configured)}")
    reports: list[SyncReport] = []
    with Store.open(db) as store:
        for name in sources or list(configured):
            try:
                reports.append(sync_source(store, configured[name]))
            except VillageGreenError as error:
                reports.append(SyncReport(source=name, platform=configured[name].platform, errors=[str(error)]))
    if as_json:
        print(json.dumps([report.to_dict() for report in reports], indent=2))
    else:
        for report in reports:
            _print(report)
    if any(report.errors for report in reports):
        raise typer.Exit(1)


def _print(report: SyncReport) -> None:
    if report.errors:
        for error in report.errors:
            # Plain print: rich would wrap a long line, and the promise is one line per error.
            print(f"error: {error}", file=sys.stderr)
        return
    redacted = f", {report.redacted} redacted" if report.platform == "matrix" else ""
    where = "room(s)" if report.platform == "matrix" else "topic(s)" if report.platform == "discourse" else "channel(s)"
    console.print(
        f"{report.source}: {report.new} new, {report.updated} updated{redacted} message(s) in {report.rooms} {where}; "
        f"cursor {_short(report.cursor_before) or '(none)'} -> {_short(report.cursor_after)} ({report.seconds:.1f} s)",
        markup=False,
    )


def _short(cursor: str | None) -> str | None:
    # Slack and Mattermost cursors are JSON with a state per channel; --json shows them whole.
    return cursor if cursor is None or len(cursor) <= 60 else f"{cursor[:57]}..."
