"""Import against the limit: the same Slack-layout files parsed bare, loaded by DuckDB, imported.

Usage: python benchmarks/import_limit.py [--sizes 10000,100000] [--workers 1,2] [--work DIR] [--json]

For each size a synthetic Slack export is generated (benchmarks/synthetic.py), then, each in
its own process so that peak memory (RSS) is its own:

(a) bare: parse every day file with Python's ``json`` module and count the messages;
(b) duckdb: DuckDB's ``read_json`` loads every day file into a table, no mapping;
(r) raw floor: what the raw layer alone costs, the floor under any import that keeps one:
    parse every day file with ``json``, serialise each message back (orjson), hash its id and
    insert (id, kind, native id, payload) into a DuckDB file in one transaction, no mapping;
(c) villagegreen: ``villagegreen import`` into a fresh store (raw layer, mapping, threading,
    canonical tables, one transaction), once per ``--workers`` value (default: in one process,
    then with one worker process per CPU reading channels in parallel).

Reported: seconds, CPU seconds (user + system of the step and every process it started:
steadier than wall time on a shared machine), messages per second, peak RSS of the largest
single process and peak total RSS of the step's processes together (sampled every 20 ms from
/proc, so Linux only), and the ratios against (a), all measured in the same run. Timings
depend on the machine and its load: compare ratios.
"""

from __future__ import annotations

import argparse
import json
import os
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

# Only the raw layer: each message's JSON kept, keyed as the importer keys it, in a store file.
RAW_FLOOR = """
import hashlib, json, pathlib, sys
import duckdb, orjson, pyarrow as pa
store = pathlib.Path(sys.argv[2])
store.unlink(missing_ok=True)
con = duckdb.connect(str(store))
con.execute("CREATE TABLE raw_items (id VARCHAR, kind VARCHAR, native_id VARCHAR, payload JSON)")
con.execute("BEGIN")
ids, natives, payloads = [], [], []
def insert():
    batch = pa.table({"id": ids, "kind": pa.array(["message"] * len(ids)), "native_id": natives, "payload": payloads})
    con.execute("INSERT INTO raw_items SELECT * FROM batch")
    ids.clear(); natives.clear(); payloads.clear()
for path in pathlib.Path(sys.argv[1]).glob('*/*.json'):
    for message in json.loads(path.read_bytes()):
        native = path.parent.name + "/" + message["ts"]
        natives.append(native)
        ids.append(hashlib.blake2b(("s|message|" + native).encode(), digest_size=16).hexdigest())
        payloads.append(orjson.dumps(message).decode())
    if len(ids) >= 100_000:
        insert()
insert()
con.execute("COMMIT")
con.close()
store.unlink()
"""


# A fresh wrapper process per step: its RUSAGE_CHILDREN figures are that step's alone (CPU summed
# over every descendant, maxrss the largest single one); the total RSS of the step's process tree
# is sampled from /proc, because parallel imports run several processes at once.
PEAK = """
import os, resource, subprocess, sys, time

def tree_rss_kib(root):
    parents = {}
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            try:
                with open(f'/proc/{entry}/stat') as stat:
                    parents[int(entry)] = int(stat.read().rsplit(')', 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                pass
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        for pid, ppid in parents.items():
            if ppid == parent and pid not in tree:
                tree.add(pid)
                frontier.append(pid)
    total = 0
    for pid in tree:
        try:
            with open(f'/proc/{pid}/status') as status:
                total += next(int(line.split()[1]) for line in status if line.startswith('VmRSS:'))
        except (OSError, StopIteration):
            pass
    return total

child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
peak_total = 0
while child.poll() is None:
    peak_total = max(peak_total, tree_rss_kib(child.pid))
    time.sleep(0.02)
sys.stderr.write(child.stderr.read())
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(usage.ru_maxrss, usage.ru_utime + usage.ru_stime, peak_total)
sys.exit(child.returncode)
"""


def run(args: list[str], env: dict[str, str] | None = None) -> dict[str, float]:
    """Runs one step in its own process; its wall time, CPU time (all processes) and peak RSS."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", PEAK, *args], capture_output=True, text=True, check=False, env=env)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"error: {' '.join(args[:3])} failed: {done.stderr.strip()[-500:]}")
    peak_kib, cpu, total_kib = done.stdout.strip().splitlines()[-1].split()
    return {
        "seconds": round(seconds, 3),
        "cpu_seconds": round(float(cpu), 3),
        "peak_rss_mb": round(int(peak_kib) / 1024, 1),
        "peak_total_rss_mb": round(int(total_kib) / 1024, 1),
    }


def measure(size: int, work: Path, workers: list[int]) -> dict[str, object]:
    export = work / f"slack-{size}"
    if not export.exists():
        subprocess.run([sys.executable, str(HERE / "synthetic.py"), str(export), "--messages", str(size)], check=True, capture_output=True)
    files = sum(1 for _ in export.glob("*/*.json"))
    # Every step reads the files from the page cache: one untimed read first, or the first step
    # timed would pay the disk alone (seen at 1M: the bare parse 22.5 s cold against ~5 s warm).
    for path in export.glob("*/*.json"):
        path.read_bytes()
    bare = run([sys.executable, "-c", BARE, str(export)])
    duck = run([sys.executable, "-c", DUCKDB, str(export)])
    floor = run([sys.executable, "-c", RAW_FLOOR, str(export), str(work / f"raw-floor-{size}.duckdb")])
    result: dict[str, object] = {"messages": size, "day_files": files}
    for name, step in (("bare_json", bare), ("duckdb_read_json", duck), ("raw_layer_floor", floor)):
        result[name] = {**step, "messages_per_s": round(size / step["seconds"], 1)}
    result["duckdb_over_bare"] = round(duck["seconds"] / bare["seconds"], 2)
    result["raw_layer_floor_over_bare"] = round(floor["seconds"] / bare["seconds"], 2)
    result["raw_layer_floor_over_bare_cpu"] = round(floor["cpu_seconds"] / bare["cpu_seconds"], 2)
    for count in workers:
        store = work / f"store-{size}.duckdb"
        store.unlink(missing_ok=True)
        env = {**os.environ, "VILLAGEGREEN_IMPORT_WORKERS": str(count)}
        imported = run([sys.executable, "-m", "villagegreen", "import", str(export), "--db", str(store), "--json"], env)
        name = f"villagegreen_import_workers_{count}"
        result[name] = {**imported, "messages_per_s": round(size / imported["seconds"], 1)}
        result[f"{name}_over_bare"] = round(imported["seconds"] / bare["seconds"], 2)
        result[f"{name}_over_bare_cpu"] = round(imported["cpu_seconds"] / bare["cpu_seconds"], 2)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated message counts (1000000 for the full benchmark)")
    parser.add_argument("--work", type=Path, help="keep generated exports here (default: a temporary folder)")
    parser.add_argument("--workers", default=f"1,{os.cpu_count() or 1}", help="comma-separated worker counts to import with (default: 1 and the CPUs)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",")]
    workers = list(dict.fromkeys(int(count) for count in args.workers.split(",")))
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        results = []
        for size in sorted(sizes):
            results.append(measure(size, work, workers))
            if not args.json:
                print(json.dumps(results[-1]), flush=True)
    if args.json:
        machine = f"{platform.machine()} {platform.processor()}".strip()
        print(json.dumps({"machine": machine, "cpus": os.cpu_count(), "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
