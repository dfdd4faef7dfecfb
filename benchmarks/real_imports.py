"""Import rate on each real dataset in ../shared/data, first import and re-import.

Usage: python benchmarks/real_imports.py [--data ../shared/data] [--json]

Each dataset goes into a fresh store in a temporary folder; the rate is messages per second
over the whole import (read, map, write, commit), as `villagegreen import` reports it.
Timings depend on the machine and its load: compare ratios from one run, not across runs.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

from villagegreen.store import Store
from villagegreen.store.ingest import import_path

DATASETS = (
    "slack/olake/export",
    "slack/viewer-test/testarchive.zip",
    "discourse/urho3d/topics",
    "stackexchange/conlang",
    "stackexchange/quantumcomputing",
    "mail/r-package-devel",
)


def measure(path: Path, work: Path) -> dict[str, object]:
    with Store.open(work / f"{abs(hash(str(path)))}.duckdb") as store:
        started = time.perf_counter()
        first = import_path(store, path)
        first_seconds = time.perf_counter() - started
        started = time.perf_counter()
        again = import_path(store, path)
        again_seconds = time.perf_counter() - started
    return {
        "dataset": str(path),
        "connector": first.connector,
        "messages": first.messages_seen,
        "first_import_s": round(first_seconds, 3),
        "first_import_messages_per_s": round(first.messages_seen / first_seconds, 1),
        "reimport_s": round(again_seconds, 3),
        "reimport_rows_added": again.rows_added,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared" / "data")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    if not args.data.is_dir():
        sys.exit(f"error: {args.data} not found; pass --data PATH to the shared data folder")
    with tempfile.TemporaryDirectory() as tmp:
        rows = [measure(args.data / name, Path(tmp)) for name in DATASETS]
    result = {
        "machine": f"{platform.machine()} {platform.python_implementation()} {platform.python_version()}",
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "datasets": rows,
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{'dataset':42} {'messages':>9} {'first (s)':>10} {'msg/s':>9} {'re-import (s)':>14} {'rows added':>11}")
    for row in rows:
        print(
            f"{row['dataset'][-42:]:42} {row['messages']:>9,} {row['first_import_s']:>10} {row['first_import_messages_per_s']:>9,} "
            f"{row['reimport_s']:>14} {row['reimport_rows_added']:>11}"
        )
    print(f"peak RSS {result['peak_rss_mb']} MB on {result['machine']}")


if __name__ == "__main__":
    main()
