"""``villagegreen import``: load an export into the store.

The store's writer (pyarrow) and the connectors are imported when the command runs, inside
:class:`_Hidden`, and rich's progress display only when it shows: a small import's run time is
mostly start-up (BENCHMARKS.md).
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from villagegreen.interfaces.cli.app import app, running_as_program
from villagegreen.interfaces.cli.options import DbOption, JsonOption
from villagegreen.store import DEFAULT_DB_PATH, Store

if TYPE_CHECKING:
    from rich.console import Console

    from villagegreen.store.report import ImportReport

# Imported by neither the import's reading nor its writing; hidden while a program imports
# (see _Hidden). numpy: 0.1 CPU-s, loaded by pyarrow only to convert numpy objects.
HIDDEN_DURING_IMPORT = ("pandas", "numpy")


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
    hidden = _Hidden(HIDDEN_DURING_IMPORT, enabled=running_as_program() and not _connector_plugins_installed())
    with hidden:
        # Inside _Hidden: this first import of pyarrow must not see numpy or pandas.
        from villagegreen.store.ingest import import_path, open_input

        # The input is opened and its format found before the store: a mistyped path or an
        # unknown format must not leave a new, empty store file behind.
        tree, connector_class = open_input(path, platform)
        with tree, Store.open(db) as store, _progress(quiet=as_json) as progress:
            task = progress.add_task("reading", total=None, messages=0, rate=0.0)
            started = time.perf_counter()

            def on_progress(messages: int) -> None:
                rate = messages / max(time.perf_counter() - started, 1e-9)
                progress.update(task, messages=messages, rate=rate)

            report = import_path(
                store,
                path,
                connector_class=connector_class,
                tree=tree,
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


def _connector_plugins_installed() -> bool:
    """True when some installed package adds a connector: its code may need numpy or pandas."""
    from importlib.metadata import entry_points

    from villagegreen.connectors.registry import ENTRY_POINT_GROUP

    return bool(entry_points(group=ENTRY_POINT_GROUP))


class _Hidden(contextlib.AbstractContextManager[None]):
    """Hides ``names`` (top-level packages) from imports while an import runs.

    pyarrow imports numpy when it is first imported, and pandas on its first ``pa.array`` of a
    Python list, only to recognise numpy and pandas objects and learn pandas' null markers; the
    import builds its Arrow arrays from plain lists only and never needs either (pandas about
    0.5 CPU-s, numpy 0.1; a small import is 0.8). Hidden, their import fails fast and pyarrow carries
    on without them (pandas is asked again on each call, at the cost of one failed lookup), as
    does DuckDB when it binds a parameter. A package loaded already is not hidden.

    Only for a process that ends with the command (``enabled``): pyarrow remembers their absence,
    so in the same process later numpy arrays or pandas Series handed to pyarrow would not
    convert (or convert differently: NaN instead of null) until some ``to_pandas``. Nor where a
    connector plugin is installed (the built-in connectors and the store import neither).
    """

    def __init__(self, names: tuple[str, ...], *, enabled: bool) -> None:
        self.names = frozenset(name for name in names if name not in sys.modules) if enabled else frozenset()

    def __enter__(self) -> None:
        if self.names:
            sys.meta_path.insert(0, self)

    def __exit__(self, *_exc: object) -> None:
        if self in sys.meta_path:
            sys.meta_path.remove(self)

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if name.partition(".")[0] in self.names:
            raise ModuleNotFoundError(f"{name} is hidden during `villagegreen import`", name=name)


class _NoProgress(contextlib.AbstractContextManager["_NoProgress"]):
    """What ``--json`` shows while importing: nothing, without importing rich's live display."""

    def __exit__(self, *_exc: object) -> None:
        pass

    def add_task(self, description: str, /, *, total: float | None, **fields: Any) -> int:
        return 0

    def update(self, task: Any, /, **fields: Any) -> None:
        pass


def _progress(*, quiet: bool) -> contextlib.AbstractContextManager[Any]:
    if quiet:
        return _NoProgress()
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("{task.fields[messages]:,} messages"),
        TextColumn("{task.fields[rate]:,.0f}/s"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )


def _console() -> Console:
    from rich.console import Console

    return Console(highlight=False)


def print_report(report: ImportReport) -> None:
    from rich.table import Table

    console = _console()
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
    from villagegreen.connectors.registry import registered_connectors

    console = _console()
    for name, cls in sorted(registered_connectors().items()):
        console.print(f"[bold]{name}[/bold] (v{cls.version}): {cls.formats}")
