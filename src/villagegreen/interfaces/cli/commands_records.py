"""``villagegreen people record``: a member's contribution record, only if they opted in."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from villagegreen.interfaces.cli.commands_people import people_app
from villagegreen.interfaces.cli.options import DbOption
from villagegreen.store import DEFAULT_DB_PATH, Store

err_console = Console(stderr=True, highlight=False)


class RecordFormat(StrEnum):
    md = "md"
    json = "json"


@people_app.command("record")
def record_command(
    person: Annotated[str, typer.Argument(help="A person id, identity id or unique prefix (see `people list`).")],
    db: DbOption = DEFAULT_DB_PATH,
    output_format: Annotated[RecordFormat, typer.Option("--format", help="md (default) or json.")] = RecordFormat.md,
    out: Annotated[Path | None, typer.Option("--out", help="Write to this file instead of printing.")] = None,
) -> None:
    """A contribution record a member can take to a review: started conversations, validated answers, stories.

    Only for members who opted in (consent purpose 'records'); no scores, no rankings.
    Example: villagegreen people record 3f2a9c --format md --out record.md
    """
    # Imported here: every CLI call imports this module, and these pull in the analyses.
    from villagegreen.store.people import resolve_person
    from villagegreen.stories.records import contribution_record

    with Store.open(db, read_only=True) as store:
        record = contribution_record(store, resolve_person(store, person))
    text = json.dumps(record.to_dict(), indent=2) if output_format == RecordFormat.json else record.to_markdown()
    if out is None:
        print(text)
    else:
        out.write_text(text + "\n", encoding="utf-8")
    err_console.print("Show it to the member first: it is theirs to share.")
