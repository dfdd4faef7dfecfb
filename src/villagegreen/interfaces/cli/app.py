"""The typer application and the one place errors become a one-line message and an exit code."""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys
from typing import Annotated

import click
import typer
from rich.console import Console

from villagegreen import __version__
from villagegreen.errors import VillageGreenError

try:  # typer >= 0.29 vendors its own click and raises that copy's exceptions
    from typer._click.exceptions import ClickException as _VendoredClickException
except ImportError:  # pragma: no cover - older typer uses click itself
    _VendoredClickException = click.ClickException  # type: ignore[misc,assignment]

_CLICK_ERRORS: tuple[type[Exception], ...] = (click.ClickException, _VendoredClickException)
_ABORTS: tuple[type[BaseException], ...] = (click.exceptions.Abort, typer.Abort)

app = typer.Typer(
    name="villagegreen",
    help="Village Green: see, measure and narrate the conversations of a social-learning community.\n\n"
    "Example: villagegreen import slack-export.zip && villagegreen stats",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def _show_version(value: bool) -> None:
    if value:
        print(f"villagegreen {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_show_version, is_eager=True, help="Print the version and exit.")] = False,
) -> None:
    """Village Green: see, measure and narrate the conversations of a social-learning community."""


def _register_commands() -> None:
    # Every ``commands_*`` module adds its commands to ``app`` when imported; discovering them
    # keeps this file unchanged when a command module is added.
    package = importlib.import_module("villagegreen.interfaces.cli")
    names = sorted(m.name for m in pkgutil.iter_modules(package.__path__) if m.name.startswith("commands_"))
    # --help lists commands in registration order: the everyday ones first.
    first = [name for name in ("commands_demo", "commands_import", "commands_data", "commands_analyze") if name in names]
    for name in first + [name for name in names if name not in first]:
        importlib.import_module(f"villagegreen.interfaces.cli.{name}")


def main(argv: list[str] | None = None) -> None:
    """Entry point: runs the app and turns every VillageGreenError into one line on stderr."""
    _register_commands()
    try:
        code = app(args=argv, standalone_mode=False)
    except _CLICK_ERRORS as error:
        error.show()  # type: ignore[attr-defined]
        sys.exit(error.exit_code)  # type: ignore[attr-defined]
    except _ABORTS:
        sys.exit(130)
    except VillageGreenError as error:
        err_console.print(f"error: {error}", markup=False)
        sys.exit(error.exit_code)
    except KeyboardInterrupt:
        err_console.print("interrupted; nothing was written by the step in progress", markup=False)
        sys.exit(130)
    except Exception as error:  # a bug: say so plainly, keep the traceback for debugging
        if os.environ.get("VILLAGEGREEN_DEBUG"):
            raise
        err_console.print(
            f"internal error: {type(error).__name__}: {error}; the store is unchanged. "
            "Set VILLAGEGREEN_DEBUG=1 for the traceback and report it.",
            markup=False,
        )
        sys.exit(70)
    if isinstance(code, int) and code:
        sys.exit(code)
