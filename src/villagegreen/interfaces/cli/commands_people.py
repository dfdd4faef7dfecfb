"""``villagegreen people ...``: merge suggestions, merge, unmerge, reject, list, log and audit."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from villagegreen.interfaces.cli.app import app
from villagegreen.interfaces.cli.options import DbOption, JsonOption
from villagegreen.store import DEFAULT_DB_PATH, Store
from villagegreen.store.merge_suggestions import suggestions_from_store
from villagegreen.store.people import audit, list_people, merge, merge_log, people_totals, reject, unmerge

console = Console(highlight=False, soft_wrap=True)

people_app = typer.Typer(
    name="people",
    help="People behind the accounts: merge suggestions, merges you can undo, and a per-source audit.\n\n"
    "Example: villagegreen people suggestions --min-score 0.8 --db acme.duckdb",
    no_args_is_help=True,
)
app.add_typer(people_app, name="people")

Reason = Annotated[str, typer.Option("--reason", help="Why: kept in the merge log (required).")]
Actor = Annotated[str | None, typer.Option("--actor", help="Who decided (default: your login name).")]


@people_app.command("suggestions")
def suggestions_command(
    db: DbOption = DEFAULT_DB_PATH,
    min_score: Annotated[float, typer.Option("--min-score", min=0.0, max=1.0, help="Hide suggestions scoring below this (certain 1.0, strong 0.8+).")] = 0.0,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Show at most this many.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Suggest identities to merge, best first, each with its score and the reason.

    Example: villagegreen people suggestions --min-score 0.5 --db acme.duckdb
    """
    with Store.open(db, read_only=True) as store:
        report = suggestions_from_store(store, min_score=min_score, limit=limit)
    if as_json:
        print(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
        return
    # One block per suggestion, not a table: reasons are long and names carry brackets.
    for s in report.suggestions:
        console.print(f"{s.score:.2f} {s.tier.value:<7} {s.identity_ids[0]} {s.names[0]}", markup=False)
        console.print(f"{'':12} {s.identity_ids[1]} {s.names[1]}", markup=False)
        for e in s.evidence:
            console.print(f"{'':12} - {e.reason} [{e.rule} {e.score:.2f}]", markup=False)
    counts = ", ".join(f"{n} {tier}" for tier, n in report.counts().items())
    console.print(f"{len(report.suggestions)} suggestions ({counts}) among {report.identities:,} identities", markup=False)
    if report.not_shown:
        console.print(f"{report.not_shown} more not shown (limit, or at most 5 per person); merge or reject these to see them", markup=False)
    for note in report.skipped_keys:
        console.print(f"note: {note}", markup=False)
    console.print('merge with: villagegreen people merge ID ID --reason "..."; reject with: villagegreen people reject ID ID --reason "..."')


@people_app.command("merge")
def merge_command(
    ids: Annotated[list[str], typer.Argument(help="Two or more person or identity ids; the first person keeps its id.")],
    reason: Reason,
    db: DbOption = DEFAULT_DB_PATH,
    actor: Actor = None,
    as_json: JsonOption = False,
) -> None:
    """Merge people into one person (logged; undo with `people unmerge`).

    Example: villagegreen people merge 3f2a9c1e 8b7d6e5f --reason "same email on Slack and the list"
    """
    with Store.open(db) as store:
        record = merge(store, ids, reason=reason, actor=actor)
    if as_json:
        print(json.dumps(record.to_dict(), indent=2))
    else:
        evidence = f"suggestion score {record.score:.2f}" if record.score is not None else "no suggestion rule holds; your reason is the evidence"
        console.print(f"merge #{record.id}: moved {len(record.identity_ids)} identities into person {record.target_person_id} ({evidence})", markup=False)


@people_app.command("unmerge")
def unmerge_command(
    ref: Annotated[str, typer.Argument(help="A person or identity id: undoes the latest merge in force that involves it.")],
    db: DbOption = DEFAULT_DB_PATH,
    reason: Annotated[str, typer.Option("--reason", help="Why (optional; logged).")] = "",
    actor: Actor = None,
    as_json: JsonOption = False,
) -> None:
    """Undo a merge exactly: identities go back to the people they belonged to before.

    Example: villagegreen people unmerge 3f2a9c1e --db acme.duckdb
    """
    with Store.open(db) as store:
        record = unmerge(store, ref, reason=reason, actor=actor)
    if as_json:
        print(json.dumps(record.to_dict(), indent=2))
    else:
        console.print(f"unmerge #{record.id}: undid merge #{record.undoes}, {len(record.identity_ids)} identities restored", markup=False)


@people_app.command("reject")
def reject_command(
    first: Annotated[str, typer.Argument(help="A person or identity id.")],
    second: Annotated[str, typer.Argument(help="Another person or identity id.")],
    reason: Reason,
    db: DbOption = DEFAULT_DB_PATH,
    actor: Actor = None,
) -> None:
    """Mark two people as different, so they are never suggested together again.

    Example: villagegreen people reject 3f2a9c1e 8b7d6e5f --reason "two different people named Ann Lee"
    """
    with Store.open(db) as store:
        added = reject(store, first, second, reason=reason, actor=actor)
    console.print(f"rejected: {added} identity pair(s) recorded", markup=False)


@people_app.command("list")
def list_command(
    db: DbOption = DEFAULT_DB_PATH,
    merged: Annotated[bool, typer.Option("--merged", help="Only people with more than one identity.")] = False,
    as_json: JsonOption = False,
) -> None:
    """List people with their identities (source, name, handle, email, messages).

    Example: villagegreen people list --merged --db acme.duckdb
    """
    with Store.open(db, read_only=True) as store:
        people = list_people(store, merged_only=merged)
    if as_json:
        print(json.dumps([p.to_dict() for p in people], indent=2, ensure_ascii=False))
        return
    table = Table("person", "messages", "identity", "source", "name", "handle", "email")
    for p in people:
        for n, i in enumerate(p.identities):
            first = n == 0
            cells = (p.id if first else "", f"{p.messages:,}" if first else "", i.id, i.source, i.display_name, i.handle or "", i.email or "")
            table.add_row(*map(escape, cells))
    console.print(table)
    console.print(f"{len(people):,} people", markup=False)


@people_app.command("log")
def log_command(db: DbOption = DEFAULT_DB_PATH, as_json: JsonOption = False) -> None:
    """Show every merge and unmerge: when, who, why, and which identities moved.

    Example: villagegreen people log --json --db acme.duckdb
    """
    with Store.open(db, read_only=True) as store:
        records = merge_log(store)
    if as_json:
        print(json.dumps([r.to_dict() for r in records], indent=2))
        return
    table = Table("#", "kind", "when", "actor", "identities", "person", "reason")
    for r in records:
        kind = r.kind + (f" of #{r.undoes}" if r.undoes else "")
        table.add_row(str(r.id), kind, f"{r.merged_at:%Y-%m-%d %H:%M}", escape(r.actor), str(len(r.identity_ids)), r.target_person_id, escape(r.reason))
    console.print(table)


@people_app.command("audit")
def audit_command(db: DbOption = DEFAULT_DB_PATH, as_json: JsonOption = False) -> None:
    """Per source: accounts, bots, posting accounts, people, merges and messages.

    Compare "identities" with the platform's member count and "messages" with its message count.

    Example: villagegreen people audit --db acme.duckdb
    """
    with Store.open(db, read_only=True) as store:
        rows = audit(store)
        totals = people_totals(store)
    if as_json:
        print(json.dumps({"sources": [r.to_dict() for r in rows], "totals": totals}, indent=2))
        return
    # A block per source rather than a ten-column table, so it reads in a narrow terminal.
    for r in rows:
        console.print(f"{r.source} ({r.connector})", markup=False)
        console.print(f"  identities {r.identities:,} (bots {r.bots:,}, posting {r.posting:,}); people {r.people:,}", markup=False)
        console.print(f"  identities merged with another {r.merged_identities:,}; people also in other sources {r.shared_people:,}", markup=False)
        console.print(f"  messages {r.messages:,} (without an author {r.messages_without_author:,})", markup=False)
    console.print(", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in totals.items()), markup=False)
