"""The demo: a real community shipped inside the package, imported, analysed and summarised.

The data is a Stack Exchange data dump (Conlang, CC BY-SA 3.0; see
``demo_data/conlang/ATTRIBUTION.md``), small enough to ship and real enough to be honest.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from villagegreen.analyses.acts_store import label_store
from villagegreen.analyses.embeddings import get_embedder
from villagegreen.analyses.framework import Window
from villagegreen.analyses.health import Health
from villagegreen.analyses.health_report import HealthReport, build_health_report
from villagegreen.analyses.runner import run_analyses
from villagegreen.analyses.topics import find_topics
from villagegreen.config import Config
from villagegreen.errors import InputError
from villagegreen.store import Store
from villagegreen.store.ingest import import_path
from villagegreen.store.overview import SpaceStats, space_stats
from villagegreen.store.report import ImportReport

DEMO_DB_PATH = Path("villagegreen-demo.duckdb")  # the CLI repeats it to avoid importing this module


def demo_data_path() -> Path:
    path = Path(str(files("villagegreen") / "demo_data" / "conlang"))
    if not (path / "Posts.xml").is_file():
        raise InputError(f"{path}: the demo data is missing from this installation; reinstall villagegreen")
    return path


@dataclass(frozen=True, slots=True)
class DemoResult:
    db: Path
    report: ImportReport
    stats: list[SpaceStats]
    health: HealthReport


def run_demo(db: Path = DEMO_DB_PATH) -> DemoResult:
    """Import the shipped community into ``db`` (idempotent) and return what the CLI prints."""
    with Store.open(db) as store:
        report = import_path(store, demo_data_path(), platform="stackexchange")
        stats = space_stats(store)
        # Dialogue acts and topics feed the Expertise, Roles, Topics and Ripe-threads pages, so the
        # demo computes them too (a second or two on this community).
        label_store(store)
        run_analyses(store, Config())
        find_topics(store, get_embedder("static"), Window("month"))
        health = build_health_report(store, Window(Health.default_grain))
    return DemoResult(db=db, report=report, stats=stats, health=health)
