"""Options shared by several commands."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer

from villagegreen.errors import InputError

DbOption = Annotated[
    Path,
    typer.Option("--db", envvar="VILLAGEGREEN_DB", help="The store file (created on first import).", show_default=True),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as one JSON object instead of a table.")]
ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", envvar="VILLAGEGREEN_CONFIG", help="villagegreen.toml with facilitators and privacy policy."),
]
SinceOption = Annotated[str | None, typer.Option("--since", help="First day analysed, YYYY-MM-DD (UTC).")]
UntilOption = Annotated[str | None, typer.Option("--until", help="Day after the last day analysed, YYYY-MM-DD (UTC).")]


def parse_day(value: str | None, option: str) -> datetime | None:
    """A YYYY-MM-DD option as midnight UTC; a bad date is a one-line error, not a traceback."""
    if value is None:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise InputError(f"{option} {value!r} is not a date; write it as YYYY-MM-DD") from None
    return datetime(day.year, day.month, day.day, tzinfo=UTC)
