"""Commands that measure: ``analyze``, ``health`` and ``people activity``."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from villagegreen.analyses.names import ANALYSIS_NAMES
from villagegreen.config import load_config
from villagegreen.interfaces.cli.app import app
from villagegreen.interfaces.cli.commands_people import people_app
from villagegreen.interfaces.cli.options import ConfigOption, DbOption, JsonOption, SinceOption, UntilOption, parse_day
from villagegreen.store import DEFAULT_DB_PATH, Store

if TYPE_CHECKING:
    from villagegreen.analyses.health_report import HealthReport
    from villagegreen.analyses.people_activity import PeopleActivity
    from villagegreen.analyses.runner import AnalysisReport

# The analyses (ibis, networkx) are imported inside each command, not here: every CLI call
# imports this module, and `villagegreen --help` should not pay for them.

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)
IncludePrivate = Annotated[bool, typer.Option("--include-private", help="Analyse private channels and DMs too (only if imported on purpose).")]
_PERCENT = {"reply_coverage_7d", "member_reply_coverage_7d", "solo_thread_rate", "top10_share", "reply_reciprocity",
            "reply_centralisation", "facilitator_message_share", "facilitator_first_reply_share", "unanswered_share"}  # fmt: skip
_MARK = {"good": "[green]good[/]", "ok": "ok", "attention": "[yellow]needs attention[/]"}


@app.command("analyze")
def analyze_command(
    db: DbOption = DEFAULT_DB_PATH,
    config: ConfigOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    only: Annotated[list[str] | None, typer.Option("--only", help=f"Run only these analyses: {', '.join(ANALYSIS_NAMES)}.")] = None,
    include_private: IncludePrivate = False,
    engine: Annotated[str, typer.Option("--engine", help="Where the metric expressions run: duckdb (default) or spark.")] = "duckdb",
    spark_master: Annotated[str | None, typer.Option("--spark-master", help="Spark master URL (default: local mode).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Run every analysis and keep the results in the store.

    Example: villagegreen analyze --db acme.duckdb --since 2024-01-01
    Example: villagegreen analyze --db acme.duckdb --engine spark --spark-master spark://host:7077
    """
    from villagegreen.analyses.runner import run_analyses

    settings = load_config(config)
    with Store.open(db) as store, console.status("analysing") as status:
        report = run_analyses(
            store, settings, names=only or (), since=parse_day(since, "--since"), until=parse_day(until, "--until"),
            include_private=include_private, engine=engine, spark_master=spark_master,
            on_progress=lambda step: status.update(f"analysing: {step}"),
        )  # fmt: skip
    if as_json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print_analysis_report(report)


def print_analysis_report(report: AnalysisReport) -> None:
    table = Table("analysis", "window", "result rows", "findings", "seconds")
    for run in report.runs:
        table.add_row(f"{run.analysis} v{run.version}", run.window_key, f"{run.rows:,}", str(run.findings), f"{run.seconds:.1f}")
    console.print(table)
    console.print(f"{report.facilitators} facilitator(s) declared; analysed in {report.seconds:.1f} s")
    for rule, matched in report.facilitator_rules.items():
        if not matched:
            console.print(f"[yellow]facilitator rule {rule} matched nobody: check the spelling[/]")
    if report.flagged_undeclared:
        console.print(f"{report.flagged_undeclared} identities carry platform staff/moderator flags but are not declared facilitators")


@app.command("health")
def health_command(
    db: DbOption = DEFAULT_DB_PATH,
    config: ConfigOption = None,
    space: Annotated[str | None, typer.Option("--space", help="One space: its id or 'source / space' as `stats` shows it.")] = None,
    since: SinceOption = None,
    until: UntilOption = None,
    as_json: JsonOption = False,
) -> None:
    """What is good, what needs attention and why; which spaces and conversations to look at.

    Runs the health and facilitation analyses for the window first.
    Example: villagegreen health --db acme.duckdb --since 2024-01-01
    """
    from villagegreen.analyses.framework import Window
    from villagegreen.analyses.health import Health
    from villagegreen.analyses.health_report import build_health_report
    from villagegreen.analyses.runner import run_analyses

    settings = load_config(config)
    start, end = parse_day(since, "--since"), parse_day(until, "--until")
    with Store.open(db) as store:
        run_analyses(store, settings, names=("health", "facilitation"), since=start, until=end)
        report = build_health_report(store, Window(Health.default_grain, start, end), space=space)
    if as_json:
        print(json.dumps(report.to_dict(), indent=2, default=str))
    else:
        print_health_report(report)


def _figure(metric: str, value: float | None) -> str:
    if value is None:
        return "n/a"
    if metric in _PERCENT:
        return f"{value:.0%}"
    return f"{value:,.1f}" if metric.endswith("hours") or metric.startswith("views") else f"{value:,.0f}"


def print_health_report(report: HealthReport) -> None:
    from villagegreen.analyses.facilitation import Facilitation
    from villagegreen.analyses.health import Health

    console.print(f"[bold]Health of {report.scope}[/] (window {report.window})")
    table = Table("figure", "value", "good direction", "verdict")
    judged = {v["metric"]: v for v in report.verdicts}
    directions = {m.name: m.good for m in (*Health.metrics, *Facilitation.metrics)} | {"unanswered_share": "lower"}
    for metric, value in report.figures.items():
        verdict = judged.get(metric)
        table.add_row(metric.replace("_", " "), _figure(metric, value), directions.get(metric, "context"),
                      _MARK[verdict["verdict"]] if verdict else "")  # fmt: skip
    console.print(table)
    for v in report.verdicts:
        if v["verdict"] == "attention":
            console.print(f"- needs attention: {v['metric'].replace('_', ' ')} is {_figure(v['metric'], v['value'])}: {v['why']}")
        elif v["verdict"] == "good":
            console.print(f"- good: {v['metric'].replace('_', ' ')} is {_figure(v['metric'], v['value'])}")
    for alert in report.alerts:
        console.print(f"- alert ({alert['scope']}): {alert['message']}")
    if report.spaces_to_look_at:
        console.print("[bold]Spaces to look at[/] (lowest reply coverage)")
        for s in report.spaces_to_look_at:
            console.print(f"  {s['space']}: {s['reply_coverage_7d']:.0%} answered within 7 days, {s['unanswered_questions']:.0f} unanswered questions")
    if report.unanswered:
        console.print("[bold]Newest unanswered questions[/]")
        for q in report.unanswered:
            console.print(f"  {q['opened_at'][:10]}  {q['space']}: {q['title'][:70]}  ({q['conversation_id']})", markup=False)
    for note in report.notes:
        console.print(f"note: {note}", markup=False)


@people_app.command("activity")
def people_activity_command(
    db: DbOption = DEFAULT_DB_PATH,
    config: ConfigOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    limit: Annotated[int, typer.Option("--limit", help="Named rows to show, busiest first.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """Time and energy per person, within the consent policy (opted-out people never appear).

    Example: villagegreen people activity --db acme.duckdb --limit 20
    """
    from villagegreen.analyses.framework import Window
    from villagegreen.analyses.people_activity import people_activity
    from villagegreen.analyses.runner import run_analyses

    settings = load_config(config)
    start, end = parse_day(since, "--since"), parse_day(until, "--until")
    with Store.open(db) as store:
        run_analyses(store, settings, names=("activity",), since=start, until=end)
        result = people_activity(store, settings.privacy, Window("all", start, end), limit=limit)
    if as_json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print_people_activity(result)


def print_people_activity(result: PeopleActivity) -> None:
    columns = (
        "messages",
        "words",
        "active_days",
        "replies_given",
        "replies_received",
        "reactions_received",
        "minutes_writing",
        "minutes_reading",
        "effort_index",
    )
    if result.named:
        table = Table("person", *(c.replace("_", " ") for c in columns))
        for row in result.named:
            table.add_row(row["name"], *(_number(row[c]) for c in columns))
        console.print(table)
    if result.groups:
        console.print(f"People without recorded consent, in groups of at least {result.k} (means per person):")
        table = Table("group", "people", *(c.replace("_", " ") for c in columns))
        for group in result.groups:
            table.add_row(str(group["group"]), str(group["people"]), *(_number(group[f"mean_{c}"]) for c in columns))
        console.print(table)
    if result.refused:
        console.print(f"{result.refused} people opted out of person-level analysis and are not shown.")


def _number(value: Any) -> str:
    return f"{value:,.1f}" if isinstance(value, float) and value % 1 else f"{value:,.0f}"
