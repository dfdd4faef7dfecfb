"""``villagegreen import``: load an export into the store."""

from __future__ import annotations

import contextlib
import json
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from villagegreen.connectors.registry import registered_connectors
from villagegreen.interfaces.cli.app import app, running_as_program
from villagegreen.interfaces.cli.options import DbOption, JsonOption
from villagegreen.store import DEFAULT_DB_PATH, Store
from villagegreen.store.ingest import import_path
from villagegreen.store.report import ImportReport

console = Console(highlight=False)


@app.command("import")
def import_command(
    path: Annotated[Path, typer.Argument(help="An export: a zip, a folder or a single file.")],
    db: DbOption = DEFAULT_DB_PATH,
    platform: Annotated[str | None, typer.Option(help="Skip format detection and use this connector.")] = None,
    include_private: Annotated[bool, typer.Option("--include-private", help="Also import private channels, DMs and group DMs (off by default).")] = False,
    source: Annotated[str | None, typer.Option(help="Name this community yourself (later exports must use the same name).")] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Processes reading parts at once (a Slack export's channels, a mail archive's runs of messages; "
            "default: one per CPU, or VILLAGEGREEN_IMPORT_WORKERS; 1: none).",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Import an export into the store: idempotent, and all or nothing.

    Example: villagegreen import ~/Downloads/acme-slack-export.zip --db acme.duckdb --workers 4
    """
    with _WithoutPandas(enabled=running_as_program()), Store.open(db) as store, _progress(quiet=as_json) as progress:
        task = progress.add_task("reading", total=None, messages=0, rate=0.0)
        started = time.perf_counter()

        def on_progress(messages: int) -> None:
            rate = messages / max(time.perf_counter() - started, 1e-9)
            progress.update(task, messages=messages, rate=rate)

        report = import_path(
            store,
            path,
            platform=platform,
            include_private=include_private,
            source_name=source,
            on_progress=on_progress,
            on_file=lambda name: progress.update(task, description=name[-50:]),
            workers=workers,
        )
    if as_json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print_report(report)


class _WithoutPandas(contextlib.AbstractContextManager[None]):
    """Hides pandas from imports while an import runs (saves ~0.5 CPU-s, a quarter of start-up).

    pyarrow imports pandas on its first ``pa.array`` of a Python list, both to ask whether the
    list is a pandas object and to learn pandas' null markers; the import builds its Arrow
    arrays from plain lists only and never needs either. Hidden, the import fails fast and
    pyarrow carries on without it (each call retries at the cost of one failed lookup). Where
    pandas is loaded already, nothing is hidden.

    Only for a process that ends with the command (``enabled``): pyarrow remembers "no pandas"
    for its pandas-object test, so later pandas Series handed to ``pa.array`` in the same process
    would convert differently (NaN instead of null, no dictionaries) until some ``to_pandas``.
    """

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled

    def __enter__(self) -> None:
        if self.enabled and "pandas" not in sys.modules:
            sys.meta_path.insert(0, self)

    def __exit__(self, *_exc: object) -> None:
        if self in sys.meta_path:
            sys.meta_path.remove(self)

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if name == "pandas" or name.startswith("pandas."):
            raise ModuleNotFoundError(f"pandas is hidden during `villagegreen import` ({name})", name=name)


def _progress(*, quiet: bool) -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("{task.fields[messages]:,} messages"),
        TextColumn("{task.fields[rate]:,.0f}/s"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
        disable=quiet,
    )


def print_report(report: ImportReport) -> None:
    table = Table(title=f"Imported {report.connector} source {report.source_name!r}", title_justify="left")
    for column in ("kind", "new", "updated", "unchanged", "duplicates"):
        table.add_column(column, justify="left" if column == "kind" else "right")
    for kind, counts in sorted(report.counts.items()):
        table.add_row(kind, f"{counts.new:,}", f"{counts.updated:,}", f"{counts.unchanged:,}", f"{counts.duplicates:,}")
    console.print(table)
    for (kind, reason), count in sorted(report.skipped.items()):
        example = report.skipped_examples.get((kind, reason))
        console.print(f"skipped {count:,} {kind}: {reason}" + (f" (e.g. {example})" if example else ""), markup=False)
    console.print(f"{report.messages_seen:,} messages in {report.seconds:.2f} s ({report.rate:,.0f} messages/s)")


@app.command("platforms")
def platforms_command() -> None:
    """List the platforms and formats that `import` understands.

    Example: villagegreen platforms
    """
    for name, cls in sorted(registered_connectors().items()):
        console.print(f"[bold]{name}[/bold] (v{cls.version}): {cls.formats}")
