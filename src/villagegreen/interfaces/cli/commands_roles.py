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
RouteOption = Annotated[bool, typer.Option("--route", help="Record the suggestions in the routing log (counted as each person's load).")]
Actor = Annotated[str | None, typer.Option("--actor", help="Who routed or decided (default: your login name).")]

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
    route: RouteOption = False,
    actor: Actor = None,
    as_json: JsonOption = False,
) -> None:
    """Who could answer this? People ranked by their validated past answers to similar questions.

    People away or at their cap of open questions are skipped (and listed). --route records the
    suggestions in the routing log, which is what each person's load counts.

    Example: villagegreen experts "How do I export a scene to glTF?" -k 3 --route --db acme.duckdb
    """
    with Store.open(db) as store:
        from villagegreen.analyses.experts_routing import find_experts

        report = find_experts(store, question, k=k, space=space, route=route, actor=actor)
    if as_json:
        print(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        _print_experts(report)


def _print_experts(report: ExpertsReport) -> None:
    if not report.suggestions:
        console.print("Nobody has answered anything similar yet.")
    for s in report.suggestions:
        _print_suggestion(s, indent="")
    _print_skipped(report.skipped, indent="")
    console.print(f"{report.candidates} people have answered before; {report.excluded_by_consent} opted out of routing.")
    if report.routed:
        console.print(f"Routed: {report.routed} suggestion(s) written to the routing log.")


def _print_skipped(skipped: list[dict[str, Any]], indent: str) -> None:
    for person in skipped:
        console.print(f"{indent}(skipped {person['name']}: {person['reason']})", markup=False)


def _print_suggestion(s: dict[str, Any], indent: str) -> None:
    load = s["load"]
    console.print(f"{indent}{s['name']}  score {s['score']:.3f}  (load: {load['open_questions_routed']} open questions routed, "
                  f"{load['answers_last_30_days']} answers in 30 days)", markup=False)  # fmt: skip
    if not s["reasons"]:
        console.print(f"{indent}  - no similar answer; suggested for recent activity ({s['recent_activity']:.1f} recent answers)", markup=False)
    for reason in s["reasons"][:3]:
        marks = ", ".join(m for m, on in (("accepted", reason["accepted"]), ("thanked", reason["thanked"])) if on)
        console.print(f"{indent}  - {reason['title'][:70]!r} similarity {reason['similarity']:.2f} {marks}", markup=False)


@questions_app.command("unanswered")
def unanswered_command(
    db: DbOption = DEFAULT_DB_PATH,
    suggest: Annotated[bool, typer.Option("--suggest", help="Suggest who could answer each one.")] = False,
    k: Annotated[int, typer.Option("-k", min=1, help="Suggestions per question.")] = 3,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Newest questions to show.")] = 20,
    route: RouteOption = False,
    actor: Actor = None,
    as_json: JsonOption = False,
) -> None:
    """Questions nobody else has replied to, newest first, optionally with who could answer.

    With --suggest --route, the suggestions for the questions shown are written to the routing log.

    Example: villagegreen questions unanswered --suggest -k 3 --route --db acme.duckdb
    """
    with Store.open(db) as store:
        from villagegreen.analyses.experts_routing import unanswered_questions

        rows = unanswered_questions(store, suggest=suggest, k=k, limit=limit, route=route, actor=actor)
    if as_json:
        print(json.dumps({"questions": rows}, indent=2, ensure_ascii=False))
        return
    for row in rows:
        console.print(f"{row['opened_at'][:10]}  {row['title'][:80]}  ({row['conversation_id']})", markup=False)
        for s in row.get("suggestions", []):
            _print_suggestion(s, indent="    ")
        _print_skipped(row.get("skipped", []), indent="    ")


@people_app.command("availability")
def availability_command(
    person: Annotated[str | None, typer.Argument(help="A person or identity id (or unique prefix); omit to list every setting.")] = None,
    away_until: Annotated[str | None, typer.Option("--away-until", help="Away until this day, YYYY-MM-DD (UTC): not suggested before it.")] = None,
    away: Annotated[bool, typer.Option("--away", help="Away until further notice.")] = False,
    available: Annotated[bool, typer.Option("--available", help="Available again (forgets any away date).")] = False,
    max_open: Annotated[int | None, typer.Option("--max-open", min=0, help="Not suggested while this many routed questions are open.")] = None,
    no_max: Annotated[bool, typer.Option("--no-max", help="Remove the cap on open routed questions.")] = False,
    note: Annotated[str | None, typer.Option("--note", help="Why (kept with the setting).")] = None,
    db: DbOption = DEFAULT_DB_PATH,
    actor: Actor = None,
    as_json: JsonOption = False,
) -> None:
    """Set whether a person may be suggested as an expert: away until a day, or a cap on open routed questions.

    Example: villagegreen people availability 3f2a9c1e --away-until 2026-12-10 --max-open 3 --db acme.duckdb
    """
    from villagegreen.analyses.experts_availability import availability, set_availability
    from villagegreen.store.people import resolve_person

    if sum((away_until is not None, away, available)) > 1:
        raise InputError("give at most one of --away-until, --away and --available")
    changes = away_until is not None or away or available or max_open is not None or no_max or note is not None
    if person is None:
        if changes:
            raise InputError("give the PERSON whose availability changes (see `villagegreen people list`)")
        with Store.open(db, read_only=True) as store:
            rows = [a.to_dict() for a in availability(store).values()]
        _print_availability(rows, as_json)
        return
    with Store.open(db) as store:
        person_id = resolve_person(store, person)
        if changes:
            until = parse_day(away_until, "--away-until")
            setting = set_availability(store, person_id, away=True if away else (False if available else None), away_until=until,
                                       max_open_questions=max_open, clear_max=no_max, note=note, actor=actor)  # fmt: skip
        else:
            setting = availability(store).get(person_id) or _default_availability(person_id)
    _print_availability([setting.to_dict()], as_json)


def _default_availability(person_id: str) -> Any:
    from villagegreen.analyses.experts_availability import Availability

    return Availability(person_id)


def _print_availability(rows: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        print(json.dumps({"availability": rows}, indent=2, ensure_ascii=False))
        return
    table = Table("person", "status", "max open", "note", "by", "updated")
    for r in rows:
        status = ("away until " + r["away_until"][:10] if r["away_until"] else "away") if r["away"] else "available"
        cap = "-" if r["max_open_questions"] is None else str(r["max_open_questions"])
        table.add_row(r["person_id"], status, cap, r["note"] or "", r["actor"] or "", (r["updated_at"] or "")[:16])
    console.print(table)
    console.print("People without a setting are available, with no cap.")


@questions_app.command("routed")
def routed_command(
    db: DbOption = DEFAULT_DB_PATH,
    person: Annotated[str | None, typer.Option("--person", help="Only this person id.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Newest routing log rows to show.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """The routing log (who was suggested for which question, when, by whom) and each person's open routed questions.

    Example: villagegreen questions routed --person 3f2a9c1e --db acme.duckdb
    """
    with Store.open(db, read_only=True) as store:
        from villagegreen.analyses.experts_availability import routed_load, routing_log
        from villagegreen.analyses.experts_routing import open_question_ids

        log = routing_log(store, person_id=person, limit=limit)
        load = routed_load(store, open_question_ids(store))
    if as_json:
        print(json.dumps({"log": log, "open_routed_questions": dict(load.most_common())}, indent=2, ensure_ascii=False))
        return
    table = Table("#", "when", "by", "person", "rank", "question")
    for row in log:
        table.add_row(str(row["id"]), row["routed_at"][:16], row["actor"], row["person_id"], str(row["rank"]), (row["question"] or "")[:60])
    console.print(table)
    for person_id, count in load.most_common(20):
        console.print(f"  {person_id}: {count} open routed question(s)", markup=False)
