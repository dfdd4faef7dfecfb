"""Commands about roles and expertise: ``acts``, ``people roles``, ``experts`` and
``questions unanswered``."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from villagegreen.config import load_config
from villagegreen.errors import InputError
from villagegreen.interfaces.cli.app import app
from villagegreen.interfaces.cli.commands_people import people_app
from villagegreen.interfaces.cli.options import ConfigOption, DbOption, JsonOption, SinceOption, UntilOption, parse_day
from villagegreen.store import DEFAULT_DB_PATH, Store

if TYPE_CHECKING:
    from villagegreen.analyses.acts_store import ActsReport
    from villagegreen.analyses.experts_routing import ExpertsReport
    from villagegreen.analyses.framework import Grain
    from villagegreen.analyses.roles_profiles import RolesReport

# Analyses are imported inside each command: every CLI call imports this module.

console = Console(highlight=False, soft_wrap=True)

questions_app = typer.Typer(
    name="questions",
    help="Questions in the community and who could answer them.\n\nExample: villagegreen questions unanswered --suggest --db acme.duckdb",
    no_args_is_help=True,
)
app.add_typer(questions_app, name="questions")


@app.command("acts")
def acts_command(
    db: DbOption = DEFAULT_DB_PATH,
    force: Annotated[bool, typer.Option("--force", help="Relabel every message, not only those without a current label.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Label every message with its dialogue act (question, answer, thanks...) and the rule that fired.

    Example: villagegreen acts --db acme.duckdb
    """
    with Store.open(db) as store:
        from villagegreen.analyses.acts_store import label_store

        report = label_store(store, force=force)
    if as_json:
        print(json.dumps(report.to_dict(), indent=2))
        return
    _print_acts(report)


def _print_acts(report: ActsReport) -> None:
    console.print(f"{report.labelled:,} messages labelled, {report.kept:,} already labelled ({report.seconds:.1f} s)")
    table = Table("rule", "messages")
    for rule, count in sorted(report.rules.items(), key=lambda item: -item[1]):
        table.add_row(rule, f"{count:,}")
    if report.rules:
        console.print(table)


@people_app.command("roles")
def roles_command(
    db: DbOption = DEFAULT_DB_PATH,
    config: ConfigOption = None,
    period: Annotated[str, typer.Option("--period", help="Period of each profile: week or month.")] = "month",
    since: SinceOption = None,
    until: UntilOption = None,
    person: Annotated[str | None, typer.Option("--person", help="Only this person id (see `villagegreen people list`).")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Named people to show, most evidence first.")] = 20,
    as_json: JsonOption = False,
) -> None:
    """Role profiles per person and period (expert, learner, challenger, leader, connector, observer) and role flex.

    Example: villagegreen people roles --period month --db acme.duckdb --json
    """
    if period not in ("week", "month"):
        raise InputError(f"--period {period!r}: choose week or month")
    settings = load_config(config)
    start, end = parse_day(since, "--since"), parse_day(until, "--until")
    grain: Grain = "week" if period == "week" else "month"
    with Store.open(db) as store:
        from villagegreen.analyses.framework import Window
        from villagegreen.analyses.roles_profiles import roles_report, run_roles

        acts, _runs = run_roles(store, settings, grain=grain, since=start, until=end)
        report = roles_report(store, settings.privacy, Window(grain, start, end), person=person, limit=limit)
    report.acts = acts.to_dict()
    if as_json:
        print(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        _print_roles(report)


def _print_roles(report: RolesReport) -> None:
    from villagegreen.analyses.roles_profiles import ROLES

    table = Table("person", "overall", *ROLES[:-1], "periods", "flex")
    for row in report.people:
        overall = row["overall"]
        flex = ", ".join(f"{f['from']}->{f['to']} x{f['count']}" for f in row["flex"] if f["from"] != f["to"])
        table.add_row(row["name"], overall["dominant"], *(_score(overall["scores"][r]) for r in ROLES[:-1]), str(len(row["periods"])), flex[:60])
    if report.people:
        console.print(table)
    console.print("Role flex across the community (dominant role in one active period -> the next):")
    for move in report.flex[:12]:
        console.print(f"  {move['from']:>12} -> {move['to']:<12} {move['count']:,}")
    if report.not_named:
        console.print(f"{report.not_named} people without recorded consent are counted in flex only, not shown by name.")
    if report.opted_out:
        console.print(f"{report.opted_out} people opted out of person-level analysis and are not shown or counted.")


def _score(value: float) -> str:
    return f"{value:,.1f}" if value else "."


@app.command("experts")
def experts_command(
    question: Annotated[str, typer.Argument(help="The question, in quotes.")],
    db: DbOption = DEFAULT_DB_PATH,
    space: Annotated[str | None, typer.Option("--space", help="Only evidence from this space: its id or 'source / space'.")] = None,
    k: Annotated[int, typer.Option("-k", min=1, help="How many people to suggest.")] = 5,
    as_json: JsonOption = False,
) -> None:
    """Who could answer this? People ranked by their validated past answers to similar questions.

    Example: villagegreen experts "How do I export a scene to glTF?" -k 3 --db acme.duckdb
    """
    with Store.open(db) as store:
        from villagegreen.analyses.experts_routing import find_experts

        report = find_experts(store, question, k=k, space=space)
    if as_json:
        print(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        _print_experts(report)


def _print_experts(report: ExpertsReport) -> None:
    if not report.suggestions:
        console.print("Nobody has answered anything similar yet.")
    for s in report.suggestions:
        _print_suggestion(s, indent="")
    console.print(f"{report.candidates} people have answered before; {report.excluded_by_consent} opted out of routing.")


def _print_suggestion(s: dict[str, Any], indent: str) -> None:
    load = s["load"]
    console.print(f"{indent}{s['name']}  score {s['score']:.3f}  (load: {load['open_questions_routed']} open questions routed, "
                  f"{load['answers_last_30_days']} answers in 30 days)", markup=False)  # fmt: skip
    for reason in s["reasons"][:3]:
        marks = ", ".join(m for m, on in (("accepted", reason["accepted"]), ("thanked", reason["thanked"])) if on)
        console.print(f"{indent}  - {reason['title'][:70]!r} similarity {reason['similarity']:.2f} {marks}", markup=False)


@questions_app.command("unanswered")
def unanswered_command(
    db: DbOption = DEFAULT_DB_PATH,
    suggest: Annotated[bool, typer.Option("--suggest", help="Suggest who could answer each one.")] = False,
    k: Annotated[int, typer.Option("-k", min=1, help="Suggestions per question.")] = 3,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Newest questions to show.")] = 20,
    as_json: JsonOption = False,
) -> None:
    """Questions nobody else has replied to, newest first, optionally with who could answer.

    Example: villagegreen questions unanswered --suggest -k 3 --db acme.duckdb
    """
    with Store.open(db) as store:
        from villagegreen.analyses.experts_routing import unanswered_questions

        rows = unanswered_questions(store, suggest=suggest, k=k, limit=limit)
    if as_json:
        print(json.dumps({"questions": rows}, indent=2, ensure_ascii=False))
        return
    for row in rows:
        console.print(f"{row['opened_at'][:10]}  {row['title'][:80]}  ({row['conversation_id']})", markup=False)
        for s in row.get("suggestions", []):
            _print_suggestion(s, indent="    ")
