"""The typer application and the one place errors become a one-line message and an exit code."""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
import typer.main
from typer.core import TyperCommand, TyperGroup

from villagegreen import __version__
from villagegreen.errors import VillageGreenError
from villagegreen.interfaces.cli.command_index import BY_NAME, COMMANDS, INDEXED_MODULES
from villagegreen.interfaces.cli.light_params import install as install_light_params

try:  # typer >= 0.29 vendors its own click, builds commands with it and raises its exceptions
    from typer import _click as typer_click
except ImportError:  # pragma: no cover - older typer uses click itself
    import click as typer_click  # type: ignore[no-redef]

_PACKAGE = "villagegreen.interfaces.cli"
_RUNNING_AS_PROGRAM: list[bool] = []  # see running_as_program()


class LazyCommands(TyperGroup):
    """The root command group: lists every indexed command, imports one's modules only to run it.

    Typer builds this group anew on every call from what is registered on ``app`` so far; an
    indexed command whose modules are not all imported yet stands in as a placeholder carrying
    its name and help, which is all ``--help`` reads.
    """

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        registered = dict(self.commands)
        ordered: dict[str, typer_click.Command] = {}
        self.pending: set[str] = set()
        for entry in COMMANDS:
            real = registered.pop(entry.name, None)
            if real is not None and all(f"{_PACKAGE}.{module}" in sys.modules for module in entry.modules):
                ordered[entry.name] = real
            else:
                ordered[entry.name] = TyperCommand(entry.name, help=entry.help)
                self.pending.add(entry.name)
        ordered.update(registered)  # commands of modules the index does not know yet
        self.commands = ordered

    def resolve_command(self, ctx: typer_click.Context, args: list[str]) -> tuple[str | None, typer_click.Command | None, list[str]]:
        if args and args[0] in self.pending:
            self._load(args[0])
        return super().resolve_command(ctx, args)

    def _load(self, name: str) -> None:
        for module in BY_NAME[name].modules:
            importlib.import_module(f"{_PACKAGE}.{module}")
        real = typer.main.get_group(app).commands.get(name)
        if real is None or name in getattr(real, "pending", ()):
            raise RuntimeError(f"command {name!r}: its modules in command_index.py do not register it; fix the index")
        self.commands[name] = real
        self.pending.discard(name)


app = typer.Typer(
    cls=LazyCommands,
    name="villagegreen",
    help="Village Green: see, measure and narrate the conversations of a social-learning community.\n\n"
    "Example: villagegreen import slack-export.zip && villagegreen stats",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _click_errors() -> tuple[type[Exception], ...]:
    """Click's usage errors: typer's vendored click's, and click's own where something loaded it.

    click itself is not imported for this (0.05 CPU-s of every start): nothing raises its
    exceptions unless some module imported it.
    """
    errors: list[type[Exception]] = [typer_click.ClickException]
    click = sys.modules.get("click")
    if click is not None and click is not typer_click:
        errors.append(click.ClickException)
    return tuple(errors)


def _aborts() -> tuple[type[BaseException], ...]:
    aborts: list[type[BaseException]] = [typer.Abort]
    click = sys.modules.get("click")
    if click is not None:
        aborts.append(click.exceptions.Abort)
    return tuple(aborts)


def _print_error(message: str) -> None:
    # rich is imported when there is something to print, not on every start.
    from rich.console import Console

    Console(stderr=True, highlight=False, soft_wrap=True).print(message, markup=False)


def _show_version(value: bool) -> None:
    if value:
        print(f"villagegreen {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_show_version, is_eager=True, help="Print the version and exit.")] = False,
) -> None:
    """Village Green: see, measure and narrate the conversations of a social-learning community."""


def running_as_program() -> bool:
    """True once main() runs as the program itself (arguments from the command line), not called
    by code that carries on afterwards (tests, scripts): a command may then trade process-wide
    state for start-up time, as `import` does by hiding pandas from pyarrow."""
    return bool(_RUNNING_AS_PROGRAM)


def register_unindexed_commands() -> None:
    """Imports the ``commands_*`` modules that command_index.py does not list yet.

    Every such module adds its commands to ``app`` when imported, so a new one works without
    an edit here; listing it in the index makes it lazy like the others.
    """
    # A directory listing, not pkgutil: importing pkgutil costs more than the listing.
    names = sorted(path.stem for path in Path(__file__).parent.glob("commands_*.py"))
    for name in names:
        if name not in INDEXED_MODULES:
            importlib.import_module(f"{_PACKAGE}.{name}")


def main(argv: list[str] | None = None) -> None:
    """Entry point: runs the app and turns every VillageGreenError into one line on stderr."""
    if argv is None:
        _RUNNING_AS_PROGRAM.append(True)
    install_light_params()  # values converted without importing pydantic where typer's rules are simple
    register_unindexed_commands()
    try:
        code = app(args=argv, standalone_mode=False)
    except _click_errors() as error:
        error.show()  # type: ignore[attr-defined]
        sys.exit(error.exit_code)  # type: ignore[attr-defined]
    except _aborts():
        sys.exit(130)
    except VillageGreenError as error:
        _print_error(f"error: {error}")
        sys.exit(error.exit_code)
    except KeyboardInterrupt:
        _print_error("interrupted; nothing was written by the step in progress")
        sys.exit(130)
    except Exception as error:  # a bug: say so plainly, keep the traceback for debugging
        if os.environ.get("VILLAGEGREEN_DEBUG"):
            raise
        _print_error(f"internal error: {type(error).__name__}: {error}; the store is unchanged. Set VILLAGEGREEN_DEBUG=1 for the traceback and report it.")
        sys.exit(70)
    if isinstance(code, int) and code:
        sys.exit(code)
