"""``villagegreen demo``: a real community in one command."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from villagegreen.interfaces.cli.app import app
from villagegreen.interfaces.cli.commands_analyze import print_health_report
from villagegreen.interfaces.cli.commands_data import print_stats
from villagegreen.interfaces.cli.commands_import import print_report
from villagegreen.interfaces.cli.options import JsonOption

# The demo module imports the analyses; it is imported when the command runs, not on every CLI call.
DEMO_DB_PATH = Path("villagegreen-demo.duckdb")

console = Console(highlight=False)


@app.command("demo")
def demo_command(
    db: Annotated[Path, typer.Option("--db", help="Where to build the demo store.")] = DEMO_DB_PATH,
    serve: Annotated[bool, typer.Option("--serve", help="Then open the dashboard on http://127.0.0.1:8765/.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Import, analyse and summarise a small real community shipped with Village Green.

    Example: villagegreen demo --db /tmp/demo.duckdb --serve
    """
    from villagegreen.interfaces.demo import run_demo

    result = run_demo(db)
    if as_json:
        print(
            json.dumps(
                {"db": str(db), "import": result.report.to_dict(), "stats": [s.to_dict() for s in result.stats], "health": result.health.to_dict()}, indent=2
            )
        )
        return
    console.print("[bold]Village Green demo[/bold]: Conlang Stack Exchange (CC BY-SA 3.0), a real Q&A community")
    print_report(result.report)
    console.print()
    print_stats(result.stats)
    console.print()
    print_health_report(result.health)
    console.print(f"\nThe store is {db}. Try: villagegreen serve --db {db}   or   villagegreen people activity --db {db}")
    if serve:
        from villagegreen.interfaces.cli.commands_serve import serve_command

        serve_command(db=db)
