"""Run every benchmark, each in its own process with ``--json``, and keep each result as a file.

Usage:
    python benchmarks/run_all.py [--full] [--only NAME,...] [--skip NAME,...] [--out out/benchmarks] [--json]

Each benchmark writes ``OUT/<name>.json`` (its own JSON object, unchanged) as soon as it ends,
so a long run can be stopped and resumed with ``--skip``. The default sizes are 10k and 100k
messages; ``--full`` adds 1M (the import-vs-limit, peer and analyses-at-scale rows of
BENCHMARKS.md; about an hour on a 2-core laptop, plus a quarter of an hour for Spark). The
dashboard load test and Spark against DuckDB run on the largest store. Real-data benchmarks
read ``../shared/data`` (or ``--data``) and are skipped, saying so, when it is absent. Timings are measured here, never asserted anywhere.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent.parent / "shared" / "data"
PERCEVAL_VENV = Path(tempfile.gettempdir()) / "villagegreen-perceval-venv"  # benchmark-only (Perceval is GPL), never a dependency


def plan(data: Path, work: Path, *, full: bool) -> list[tuple[str, list[str], bool]]:
    """(name, arguments, needs the real data) in the order they run: quick and real first, scale last."""
    sizes = "10000,100000,1000000" if full else "10000,100000"
    largest = sizes.rsplit(",", 1)[-1]
    steps = [
        ("real_imports", ["--data", str(data)], True),
        ("real_analyses", ["--data", str(data)], True),
        ("disentangle", ["--data", str(data / "eval" / "irc-disentanglement" / "dev")], True),
        ("segmentation", ["--data", str(data / "eval" / "dialogue-segmentation" / "dialseg_711.json")], True),
        ("dialogue_acts", ["--data", str(data)], True),
        ("experts", ["--data", str(data)], True),
        ("stories", ["--data", str(data / "eval" / "convosumm-email")], True),
        ("memory_search", ["--data", str(data / "stackexchange" / "quantumcomputing")], True),
        ("import_limit", ["--sizes", sizes, "--work", str(work / "exports")], False),
        ("peer_perceval", ["--sizes", sizes, "--real", str(data / "mail" / "r-package-devel"), "--make-venv", str(PERCEVAL_VENV)], False),
        ("analyses_scale", ["--sizes", sizes, "--work", str(work / "scale"), "--keep"], False),
        ("dashboard_load", ["--db", str(work / "scale" / f"store-{largest}.duckdb"), "--seconds", "60"], False),
        # Needs the [spark] extra (pyspark and Java 17); reported as failed, saying why, without it.
        ("spark_scale", ["--store", str(work / "scale" / f"store-{largest}.duckdb")], False),
    ]
    return steps


def run_step(name: str, arguments: list[str], out: Path) -> dict[str, Any]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, str(HERE / f"{name}.py"), *arguments, "--json"], capture_output=True, text=True, check=False)
    seconds = round(time.perf_counter() - started, 1)
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        return {"status": "failed", "seconds": seconds, "error": lines[-1] if lines else f"exit code {done.returncode}"}
    (out / f"{name}.json").write_text(done.stdout, encoding="utf-8")
    return {"status": "ok", "seconds": seconds, "result": str(out / f"{name}.json")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="also 1M messages, and the dashboard load test on that store")
    parser.add_argument("--only", default="", help="comma-separated benchmark names to run")
    parser.add_argument("--skip", default="", help="comma-separated benchmark names to leave out")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the real data folder (../shared/data)")
    parser.add_argument("--out", type=Path, default=Path("out/benchmarks"), help="where each <name>.json goes")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "villagegreen-bench", help="generated exports and stores")
    parser.add_argument("--json", action="store_true", help="print one JSON object: name -> status, seconds, result file")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    only = {n for n in args.only.split(",") if n}
    skip = {n for n in args.skip.split(",") if n}
    summary: dict[str, Any] = {}
    for name, arguments, needs_data in plan(args.data, args.work, full=args.full):
        if (only and name not in only) or name in skip:
            continue
        if needs_data and not args.data.is_dir():
            summary[name] = {"status": "skipped", "reason": f"real data not found at {args.data}"}
        elif name == "dashboard_load" and not Path(arguments[1]).is_file():
            summary[name] = {"status": "skipped", "reason": f"no store at {arguments[1]}: run analyses_scale first"}
        else:
            print(f"running {name} ...", file=sys.stderr, flush=True)
            summary[name] = run_step(name, arguments, args.out)
        if not args.json:
            row = summary[name]
            print(f"{name:16} {row['status']:8} {row.get('seconds', '')!s:>8} s  {row.get('result') or row.get('error') or row.get('reason', '')}")
    if args.json:
        print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
