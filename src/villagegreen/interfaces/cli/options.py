"""Options shared by several commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

DbOption = Annotated[
    Path,
    typer.Option("--db", envvar="VILLAGEGREEN_DB", help="The store file (created on first import).", show_default=True),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as one JSON object instead of a table.")]
