"""`analyze` on each real dataset in ../shared/data: how long it takes and the headline health.

Usage: python benchmarks/real_analyses.py [--data ../shared/data] [--json]

Each dataset is imported into a fresh store, then every analysis runs over the whole history
(per period and for the whole window). The headline figures are the community's over the
whole window, as `villagegreen health` prints them. Timings depend on the machine and its
load: compare ratios from one run, not across runs.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

from villagegreen.analyses.framework import Window
from villagegreen.analyses.health_report import build_health_report
from villagegreen.analyses.runner import run_analyses
from villagegreen.config import Config
from villagegreen.store import Store
from villagegreen.store.ingest import import_path

DATASETS = (
    "slack/olake/export",
    "slack/haskell-jp",
    "discourse/urho3d/topics",
    "stackexchange/conlang",
    "stackexchange/quantumcomputing",
    "mail/r-package-devel",
    "discord/komodo",
)
HEADLINE = (
    "messages",
    "conversations",
    "active_people",
    "reply_coverage_7d",
    "first_reply_median_hours",
    "solo_thread_rate",
    "unanswered_share",
    "top10_share",
)


def measure(path: Path, work: Path) -> dict[str, object]:
    with Store.open(work / f"{abs(hash(str(path)))}.duckdb") as store:
        imported = import_path(store, path)
        started = time.perf_counter()
        report = run_analyses(store, Config())
        seconds = time.perf_counter() - started
        health = build_health_report(store, Window("month"))
    figures = {name: round(value, 3) if isinstance(value, float) else value for name, value in health.figures.items() if name in HEADLINE}
    return {
        "messages_imported": imported.messages_seen,
        "analyze_s": round(seconds, 2),
        "result_rows": sum(run.rows for run in report.runs),
        "alerts": len(health.alerts),
        **figures,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared" / "data")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    if not args.data.is_dir():
        sys.exit(f"error: {args.data} not found; pass --data PATH to the shared data folder")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for relative in DATASETS:
            if (args.data / relative).exists():
                results.append({**measure(args.data / relative, Path(tmp)), "dataset": relative})
                if not args.json:
                    print(json.dumps(results[-1]), flush=True)
    if args.json:
        print(json.dumps({"machine": platform.processor() or platform.machine(), "datasets": results}, indent=2))


if __name__ == "__main__":
    main()
