"""Privacy commands: ``people consent``, ``people forget``, ``audit`` and ``privacy``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from villagegreen.errors import InputError
from villagegreen.interfaces.cli.app import app
from villagegreen.interfaces.cli.commands_people import people_app
from villagegreen.interfaces.cli.options import DbOption, JsonOption
from villagegreen.store import DEFAULT_DB_PATH, Store
from villagegreen.store.audit import default_actor, entries
from villagegreen.store.consent import PURPOSES, list_consent, set_consent
from villagegreen.store.erasure import forget_person
from villagegreen.store.people import resolve_person
from villagegreen.store.privacy import privacy_notice

console = Console(highlight=False, soft_wrap=True)
Actor = Annotated[str | None, typer.Option("--actor", help="Who decided (default: $USER).")]


@people_app.command("consent")
def consent_command(
    person: Annotated[str | None, typer.Argument(help="A person or identity id (or unique prefix); omit with --list.")] = None,
    purpose: Annotated[str | None, typer.Option("--purpose", help=f"One of: {', '.join(PURPOSES)}.")] = None,
    grant: Annotated[bool, typer.Option("--grant", help="Record that the person agrees.")] = False,
    refuse: Annotated[bool, typer.Option("--refuse", help="Record that the person opts out.")] = False,
    note: Annotated[str | None, typer.Option("--note", help="Where the choice came from (kept in the registry).")] = None,
    list_all: Annotated[bool, typer.Option("--list", help="List every recorded choice instead.")] = False,
    db: DbOption = DEFAULT_DB_PATH,
    actor: Actor = None,
    as_json: JsonOption = False,
) -> None:
    """Record a person's consent for one purpose, on every platform at once (logged in the audit).

    Example: villagegreen people consent 3f2a9c1e --purpose analysis --refuse --note "asked in #general"
    """
    if list_all:
        with Store.open(db, read_only=True) as store:
            rows = list_consent(store)
        if as_json:
            print(json.dumps([r.to_dict() for r in rows], indent=2, ensure_ascii=False))
            return
        table = Table("person", "name", "purpose", "status", "recorded", "by", "note")
        for r in rows:
            cells = (r.person_id, r.display_name, r.purpose, r.status, f"{r.recorded_at:%Y-%m-%d %H:%M}", r.actor, r.note or "")
            table.add_row(*map(escape, cells))
        console.print(table)
        console.print(f"{len(rows)} recorded choice(s); people without a row have not said anything", markup=False)
        return
    if person is None or purpose is None or grant == refuse:
        raise InputError("give PERSON, --purpose and exactly one of --grant or --refuse (or --list)")
    with Store.open(db) as store:
        person_id = resolve_person(store, person)
        entry = set_consent(store, person_id, purpose, "granted" if grant else "refused", note=note, actor=actor)
    if as_json:
        print(json.dumps(entry.to_dict(), indent=2, ensure_ascii=False))
    else:
        console.print(f"{person_id}: {purpose} {entry.details['status']} (audit #{entry.id}, by {entry.actor})", markup=False)


@people_app.command("forget")
def forget_command(
    person: Annotated[str, typer.Argument(help="A person or identity id (or unique prefix): all their accounts are erased.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    db: DbOption = DEFAULT_DB_PATH,
    actor: Actor = None,
    as_json: JsonOption = False,
) -> None:
    """Erase a person from every table and keep them out of later imports; reports what was removed.

    Example: villagegreen people forget 3f2a9c1e --db acme.duckdb --yes
    """
    with Store.open(db) as store:
        person_id = resolve_person(store, person)
        ((accounts, messages),) = store.con.execute(
            "SELECT count(DISTINCT i.id), count(m.id) FROM identities i LEFT JOIN messages m ON m.author_id = i.id WHERE i.person_id = ?", [person_id]
        ).fetchall()
        if not yes and not typer.confirm(f"Erase person {person_id} ({accounts} account(s), {messages} message(s)) for good?"):
            raise typer.Abort()
        report = forget_person(store, person_id, actor=actor or default_actor())
    if as_json:
        print(json.dumps(report.to_dict(), indent=2))
        return
    console.print(f"erased 1 person ({accounts} account(s)); rows deleted per table:", markup=False)
    for table, n in sorted(report.deleted.items()):
        console.print(f"  {table}: {n:,}", markup=False)
    console.print(f"  messages kept as empty placeholders because others replied: {report.tombstoned_messages:,}", markup=False)
    if report.redacted:
        console.print("mentions replaced by [erased]: " + ", ".join(f"{t} {n:,}" for t, n in sorted(report.redacted.items())), markup=False)
    if report.names_too_short_to_search:
        console.print(f"note: {report.names_too_short_to_search} name(s) under 3 characters were not searched in others' text", markup=False)


@app.command("audit")
def audit_command(
    db: DbOption = DEFAULT_DB_PATH,
    action: Annotated[str | None, typer.Option("--action", help="Only merge, unmerge, reject, consent, erase or publish.")] = None,
    as_json: JsonOption = False,
) -> None:
    """The audit log of facilitator actions that touch people: who did what, when.

    Example: villagegreen audit --action consent --db acme.duckdb
    """
    with Store.open(db, read_only=True) as store:
        rows = entries(store, action=action)
    if as_json:
        print(json.dumps([r.to_dict() for r in rows], indent=2, ensure_ascii=False))
        return
    table = Table("#", "when", "actor", "action", "person", "details")
    for r in rows:
        details = ", ".join(f"{k}={v}" for k, v in r.details.items() if v not in (None, "", [], {}))
        table.add_row(str(r.id), f"{r.recorded_at:%Y-%m-%d %H:%M}", escape(r.actor), r.action, r.person_id or "", escape(details))
    console.print(table)


@app.command("privacy")
def privacy_command(
    out: Annotated[Path | None, typer.Option("--out", help="Write the Markdown page to this file instead of printing it.")] = None,
    as_json: JsonOption = False,
) -> None:
    """What Village Green keeps and computes about members, in plain words (from the installed analyses).

    Example: villagegreen privacy --out privacy.md
    """
    # Imported here, not at module level: every CLI call imports this module.
    from villagegreen.analyses.runner import ANALYSES

    notice = privacy_notice(ANALYSES)
    if as_json:
        print(json.dumps(notice.to_dict(), indent=2, ensure_ascii=False))
    elif out is not None:
        out.write_text(notice.to_markdown(), encoding="utf-8")
        console.print(f"wrote {out}", markup=False)
    else:
        print(notice.to_markdown())
