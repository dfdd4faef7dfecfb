"""Spark against DuckDB at scale: the same analyses on copies of one store, timed, every result row compared.

Usage: python benchmarks/spark_scale.py --store PATH [--only activity --only health --only facilitation]
       [--engines spark,duckdb] [--spark-master URL] [--work DIR] [--json]

For each engine, in order, the store is copied into ``--work`` and ``villagegreen analyze
--engine E`` runs on the copy in its own process. Reported per engine: wall seconds, CPU seconds
and peak RSS of the whole process tree, polled from /proc every quarter second (Linux only):
pyspark starts a JVM it never waits for, so the rusage of finished children would miss it. Then
every ``analysis_results`` row of the first copy is compared with the second's, keyed by
(analysis, grain, period, scope, metric), values equal within 1e-9 relative (as
tests/analyses/test_spark_parity.py, which runs a real community in CI; this is the same check
at any size). Exit status 1 when the results differ.

Spark's figures depend on its fixed start-up (about 85 s on a 2-core machine) and on the
machine's load: compare engines within one run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

DEFAULT_ONLY = ("activity", "health", "facilitation")
TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
Key = tuple[Any, ...]


def _stat_fields() -> dict[int, list[str]]:
    """Every process's /proc/<pid>/stat fields after the command name (field 3 onwards)."""
    fields: dict[int, list[str]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                fields[int(entry.name)] = (entry / "stat").read_text().rsplit(")", 1)[1].split()
    return fields


def timed_tree(command: list[str]) -> dict[str, float]:
    """Runs ``command``; its wall seconds and its process tree's CPU seconds and peak RSS."""
    cpu: dict[int, float] = {}
    peak = 0
    started = time.perf_counter()
    # stderr to a file, not a pipe: Spark logs enough to fill a pipe nobody reads until the end.
    with tempfile.TemporaryFile("w+") as errors, subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=errors) as child:
        while child.poll() is None:
            fields = _stat_fields()
            children: dict[int, list[int]] = {}
            for pid, stat in fields.items():
                children.setdefault(int(stat[1]), []).append(pid)
            tree, frontier, rss = [], [child.pid], 0
            while frontier:
                pid = frontier.pop()
                tree.append(pid)
                frontier.extend(children.get(pid, []))
            for pid in tree:
                if pid in fields:
                    stat = fields[pid]
                    cpu[pid] = (int(stat[11]) + int(stat[12])) / TICK  # utime + stime, in clock ticks
                    rss += int(stat[21]) * PAGE
            peak = max(peak, rss)
            time.sleep(0.25)
        seconds = time.perf_counter() - started
        if child.returncode != 0:
            errors.seek(0)
            raise SystemExit(f"error: {' '.join(command[2:5])} failed (exit {child.returncode}): {errors.read().strip()[-500:]}")
    return {"seconds": round(seconds, 1), "cpu_s": round(sum(cpu.values()), 1), "peak_rss_mb": round(peak / 2**20), "processes": len(cpu)}


def result_rows(store: Path) -> dict[Key, float | None]:
    import duckdb

    with duckdb.connect(str(store), read_only=True) as con:
        rows = con.sql(
            "SELECT r.analysis, r.grain, x.period_start, x.scope_kind, x.scope_id, x.metric, x.value "
            "FROM analysis_results x JOIN analysis_runs r ON r.id = x.run_id"
        ).fetchall()
    out: dict[Key, float | None] = {}
    for *key, value in rows:
        if tuple(key) in out:
            raise SystemExit(f"error: {store}: two result rows for {tuple(key)}")
        out[tuple(key)] = value
    return out


def same(a: float | None, b: float | None) -> bool:
    if a is None or b is None or math.isnan(a) or math.isnan(b):
        return (a is None or math.isnan(a)) and (b is None or math.isnan(b))
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def compare(first: dict[Key, float | None], second: dict[Key, float | None]) -> dict[str, object]:
    differing = sorted((key for key in first.keys() & second.keys() if not same(first[key], second[key])), key=repr)
    return {
        "rows": [len(first), len(second)],
        "only_in_first": len(first.keys() - second.keys()),
        "only_in_second": len(second.keys() - first.keys()),
        "differing_values": len(differing),
        "examples": [[repr(key), first[key], second[key]] for key in differing[:5]],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--store", type=Path, required=True, help="a store with acts labelled (read only: copies are analysed)")
    parser.add_argument("--only", action="append", help=f"analyses to run (repeatable; default: {', '.join(DEFAULT_ONLY)})")
    parser.add_argument("--engines", default="spark,duckdb", help="two engines, comma-separated, run in this order")
    parser.add_argument("--spark-master", help="Spark master URL (default: local mode)")
    parser.add_argument("--work", type=Path, help="where the copies go (default: a temporary folder, removed after)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    engines = args.engines.split(",")
    if len(engines) != 2 or not args.store.is_file():
        parser.error("--engines needs exactly two engines, and --store an existing store file")
    only = args.only or list(DEFAULT_ONLY)
    with tempfile.TemporaryDirectory(dir=args.work) as tmp:
        timings, results = [], []
        for position, engine in enumerate(engines, start=1):
            copy = Path(tmp) / f"{position}-{engine}.duckdb"
            shutil.copyfile(args.store, copy)
            command = [sys.executable, "-m", "villagegreen", "analyze", "--db", str(copy), "--engine", engine, "--json"]
            command += [part for name in only for part in ("--only", name)]
            if engine == "spark" and args.spark_master:
                command += ["--spark-master", args.spark_master]
            timings.append({"engine": engine, **timed_tree(command)})
            results.append(result_rows(copy))
    comparison = compare(*results)
    identical = comparison["only_in_first"] == comparison["only_in_second"] == comparison["differing_values"] == 0
    summary = {
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version()},
        "store": str(args.store),
        "analyses": only,
        "runs": timings,
        "cpu_ratio": round(timings[0]["cpu_s"] / max(timings[1]["cpu_s"], 0.1), 2),
        "comparison": comparison,
        "identical": identical,
    }
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        for run in timings:
            print(f"{run['engine']:>8}: {run['seconds']} s wall, {run['cpu_s']} CPU-s, {run['peak_rss_mb']} MB")
        print(f"CPU ratio {summary['cpu_ratio']}x; {comparison['rows']} rows; identical: {identical}")
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
