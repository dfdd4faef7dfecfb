"""Import against the limit: the same Slack-layout files parsed bare, loaded by DuckDB, imported.

Usage: python benchmarks/import_limit.py [--sizes 10000,100000] [--work DIR] [--json]

For each size a synthetic Slack export is generated (benchmarks/synthetic.py), then, each in
its own process so that peak memory (RSS) is its own:

(a) bare: parse every day file with Python's ``json`` module and count the messages;
(b) duckdb: DuckDB's ``read_json`` loads every day file into a table, no mapping;
(c) villagegreen: ``villagegreen import`` into a fresh store (raw layer, mapping, threading,
    canonical tables, one transaction).

Reported: seconds, CPU seconds (user + system, all threads: steadier than wall time on a
shared machine), messages per second, peak RSS, and the ratios (c)/(a) and (b)/(a), all
measured in the same run. Timings depend on the machine and its load: compare ratios.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

BARE = """
import json, pathlib, sys
count = 0
for path in pathlib.Path(sys.argv[1]).glob('*/*.json'):
    count += len(json.loads(path.read_bytes()))
print(count)
"""
DUCKDB = """
import duckdb, sys
con = duckdb.connect()
con.execute("CREATE TABLE raw AS SELECT * FROM read_json(?, format='array', union_by_name=true, filename=true)", [sys.argv[1] + '/*/*.json'])
print(con.execute('SELECT count(*) FROM raw').fetchall()[0][0])
"""


# A fresh wrapper process per step: its RUSAGE_CHILDREN peak is that step's alone.
PEAK = """
import resource, subprocess, sys
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
sys.stderr.write(done.stderr)
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(usage.ru_maxrss, usage.ru_utime + usage.ru_stime)
sys.exit(done.returncode)
"""


def run(args: list[str]) -> dict[str, float]:
    """Runs one step in its own process; its wall time, CPU time (all threads) and own peak RSS."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", PEAK, *args], capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"error: {' '.join(args[:3])} failed: {done.stderr.strip()[-500:]}")
    peak_kib, cpu = done.stdout.strip().splitlines()[-1].split()
    return {"seconds": round(seconds, 3), "cpu_seconds": round(float(cpu), 3), "peak_rss_mb": round(int(peak_kib) / 1024, 1)}


def measure(size: int, work: Path) -> dict[str, object]:
    export = work / f"slack-{size}"
    if not export.exists():
        subprocess.run([sys.executable, str(HERE / "synthetic.py"), str(export), "--messages", str(size)], check=True, capture_output=True)
    files = sum(1 for _ in export.glob("*/*.json"))
    bare = run([sys.executable, "-c", BARE, str(export)])
    duck = run([sys.executable, "-c", DUCKDB, str(export)])
    store = work / f"store-{size}.duckdb"
    store.unlink(missing_ok=True)
    imported = run([sys.executable, "-m", "villagegreen", "import", str(export), "--db", str(store), "--json"])
    result: dict[str, object] = {"messages": size, "day_files": files}
    for name, step in (("bare_json", bare), ("duckdb_read_json", duck), ("villagegreen_import", imported)):
        result[name] = {**step, "messages_per_s": round(size / step["seconds"], 1)}
    result["import_over_bare"] = round(imported["seconds"] / bare["seconds"], 2)
    result["duckdb_over_bare"] = round(duck["seconds"] / bare["seconds"], 2)
    result["import_over_bare_cpu"] = round(imported["cpu_seconds"] / bare["cpu_seconds"], 2)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated message counts (1000000 for the full benchmark)")
    parser.add_argument("--work", type=Path, help="keep generated exports here (default: a temporary folder)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        results = []
        for size in sorted(sizes):
            results.append(measure(size, work))
            if not args.json:
                print(json.dumps(results[-1]), flush=True)
    if args.json:
        print(json.dumps({"machine": f"{platform.machine()} {platform.processor()}".strip(), "results": results}, indent=2))


if __name__ == "__main__":
    main()
