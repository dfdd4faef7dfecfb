"""Commands about relevance: ``embed``, ``topics``, ``goals`` and ``tone``."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from villagegreen.errors import ConfigError
from villagegreen.interfaces.cli.app import app
from villagegreen.interfaces.cli.options import DbOption, JsonOption, SinceOption, UntilOption, parse_day
from villagegreen.store import DEFAULT_DB_PATH, Store

if TYPE_CHECKING:
    from villagegreen.analyses.embedding_store import EmbedReport
    from villagegreen.analyses.embeddings import EmbedderName
    from villagegreen.analyses.programme_report import ProgrammeReport
    from villagegreen.analyses.topics import TopicsReport

# The analyses (ibis, numpy, scikit-learn) are imported inside each command, not on every CLI call.

console = Console(highlight=False)
ModelOption = Annotated[str, typer.Option("--model", help="static (shipped, fast), semantic (needs the [semantic] extra) or auto (semantic if installed).")]
IncludePrivate = Annotated[bool, typer.Option("--include-private", help="Include private channels and DMs (only if imported on purpose).")]


def _embedder_name(value: str) -> EmbedderName:
    if value not in ("static", "semantic", "auto"):
        raise ConfigError(f"--model {value!r} is not known; choose static, semantic or auto")
    return value  # type: ignore[return-value]


def _embed_with_progress(store: Store, model: str, *, quiet: bool) -> EmbedReport:
    from villagegreen.analyses.embedding_store import embed_messages
    from villagegreen.analyses.embeddings import get_embedder

    embedder = get_embedder(_embedder_name(model))
    started = time.perf_counter()
    with Progress(
        TextColumn("embedding"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[rate]:,.0f} texts/s"), TimeElapsedColumn(),
        console=Console(stderr=True), disable=quiet, transient=True,
    ) as progress:  # fmt: skip
        task = progress.add_task("embed", total=None, rate=0.0)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total, rate=done / max(time.perf_counter() - started, 1e-9))

        return embed_messages(store, embedder, on_progress=advance)


@app.command("embed")
def embed_command(db: DbOption = DEFAULT_DB_PATH, model: ModelOption = "static", as_json: JsonOption = False) -> None:
    """Embed every new or changed message (a second run embeds nothing), showing the rate.

    Example: villagegreen embed --db acme.duckdb
    """
    with Store.open(db) as store:
        report = _embed_with_progress(store, model, quiet=as_json)
    if as_json:
        print(json.dumps(report.to_dict(), indent=2))
        return
    console.print(f"embedded {report.embedded:,} message(s) with {report.model} ({report.version}) in {report.seconds:.1f} s"
                  + (f", {report.rate:,.0f} texts/s" if report.embedded else "") + f"; {report.up_to_date:,} already up to date")  # fmt: skip


@app.command("topics")
def topics_command(
    db: DbOption = DEFAULT_DB_PATH,
    since: SinceOption = None,
    until: UntilOption = None,
    k: Annotated[int | None, typer.Option("--k", min=2, help="Number of topics; by default chosen by silhouette.")] = None,
    model: ModelOption = "static",
    include_private: IncludePrivate = False,
    as_json: JsonOption = False,
) -> None:
    """What the group actually talks about: emergent topics, their keyphrases, spaces and trend.

    Embeds new messages first. Example: villagegreen topics --db acme.duckdb --since 2024-01-01
    """
    from villagegreen.analyses.embeddings import get_embedder
    from villagegreen.analyses.framework import Window
    from villagegreen.analyses.topics import find_topics

    window = Window("month", parse_day(since, "--since"), parse_day(until, "--until"))
    with Store.open(db) as store:
        _embed_with_progress(store, model, quiet=as_json)
        report = find_topics(store, get_embedder(_embedder_name(model)), window, k=k, include_private=include_private)
    if as_json:
        print(json.dumps(report.to_dict(), indent=2, default=str))
    else:
        print_topics(report)


def print_topics(report: TopicsReport) -> None:
    if not report.topics:
        console.print("no conversations in this window: nothing to cluster")
        return
    silhouette = f", silhouette {report.silhouette:.2f}" if report.silhouette is not None else ""
    console.print(f"[bold]{len(report.topics)} topics in {report.conversations:,} conversations[/] (window {report.window}{silhouette})")
    table = Table("#", "keyphrases", "conversations", "share", "trend", "busiest space", "example")
    for topic in report.topics:
        space = next(iter(topic.spaces), "")
        table.add_row(str(topic.id), ", ".join(topic.keyphrases), f"{topic.conversations:,}", f"{topic.share:.0%}", topic.trend, space,
                      topic.examples[0][:60] if topic.examples else "")  # fmt: skip
    console.print(table)


@app.command("goals")
def goals_command(
    programme: Annotated[Path, typer.Option("--programme", help="programme.yaml (or .md with YAML front matter): goals and key messages.")],
    db: DbOption = DEFAULT_DB_PATH,
    since: SinceOption = None,
    until: UntilOption = None,
    model: ModelOption = "static",
    include_private: IncludePrivate = False,
    as_json: JsonOption = False,
) -> None:
    """Intended against actual: goals covered and gaps, topics nobody planned, key-message uptake, poll ideas.

    Example: villagegreen goals --programme examples/programme.yaml --db acme.duckdb
    """
    from villagegreen.analyses.embeddings import get_embedder
    from villagegreen.analyses.framework import Window
    from villagegreen.analyses.programme import load_programme
    from villagegreen.analyses.programme_report import build_programme_report

    declared = load_programme(programme)
    window = Window("month", parse_day(since, "--since"), parse_day(until, "--until"))
    with Store.open(db) as store:
        _embed_with_progress(store, model, quiet=as_json)
        report = build_programme_report(store, get_embedder(_embedder_name(model)), declared, window, include_private=include_private)
    if as_json:
        print(json.dumps(report.to_dict(), indent=2, default=str))
    else:
        print_programme(report)


def print_programme(report: ProgrammeReport) -> None:
    console.print(f"[bold]{report.programme}[/]: {report.conversations:,} conversations, {report.unmapped:,} outside every goal")
    if report.goals:
        table = Table("goal", "conversations", "best evidence")
        for goal in report.goals:
            evidence = f"{goal.matches[0].title[:50]}: “{goal.matches[0].evidence[:80]}”" if goal.matches else "[yellow]nobody discusses this[/]"
            table.add_row(goal.name, f"{goal.conversations:,}", evidence)
        console.print(table)
    for topic in report.outside_goals:
        console.print(f"- busy outside every goal: {topic['label']} ({topic['conversations']} conversations, {topic['trend']})", markup=False)
    for uptake in report.key_messages:
        kinds = ", ".join(f"{count} {kind}" for kind, count in uptake.kinds.items()) or "no message about it"
        console.print(f"[bold]key message[/] {uptake.key_message.id}: {uptake.verdict} in {uptake.total_conversations} conversation(s) ({kinds})")
        for match in uptake.conversations[:3]:
            console.print(f"    {match['similarity']:.2f} {match['kind']}: {match['quote'][:100]}", markup=False)
    if report.poll:
        console.print("[bold]Poll ideas: what should we talk about next?[/]")
        for option in report.poll:
            console.print(f"  - {option['option']}  ({option['why']})", markup=False)


@app.command("tone")
def tone_command(
    db: DbOption = DEFAULT_DB_PATH,
    since: SinceOption = None,
    until: UntilOption = None,
    limit: Annotated[int, typer.Option("--limit", help="Threads to list per outcome.")] = 5,
    include_private: IncludePrivate = False,
    as_json: JsonOption = False,
) -> None:
    """Tone arcs: which complaint threads turned into proposals, and which did not.

    Example: villagegreen tone --db acme.duckdb --since 2024-01-01
    """
    from villagegreen.analyses.embeddings import get_embedder
    from villagegreen.analyses.framework import Window
    from villagegreen.analyses.topics_corpus import load_corpus
    from villagegreen.analyses.topics_tone import OUTCOMES, tone_arcs

    window = Window("month", parse_day(since, "--since"), parse_day(until, "--until"))
    with Store.open(db) as store:
        _embed_with_progress(store, "static", quiet=as_json)
        corpus = load_corpus(store, get_embedder("static"), window, include_private=include_private)
    report = tone_arcs(corpus, window.key)
    if as_json:
        print(json.dumps(report.to_dict(), indent=2))
        return
    console.print(f"[bold]{len(report.complaints)} complaint threads[/] among {report.conversations:,} conversations (window {report.window})")
    for outcome in OUTCOMES:
        arcs = [arc for arc in report.complaints if arc.outcome == outcome]
        console.print(f"[bold]{outcome}[/]: {len(arcs)}")
        for arc in arcs[:limit]:
            mood = " → ".join(f"{value:+.1f}" for value in arc.arc[:8])
            console.print(f"  {arc.title[:60]}  ({mood})", markup=False)
            if arc.proposal:
                console.print(f"      proposal: {arc.proposal[:100]}", markup=False)
