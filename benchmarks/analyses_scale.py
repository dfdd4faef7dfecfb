"""Analyses at scale: every registered analysis and the static embeddings at 10k → 100k → 1M messages.

Usage: python benchmarks/analyses_scale.py [--sizes 10000,100000,1000000] [--work DIR] [--keep] [--json]
       python benchmarks/analyses_scale.py --store PATH [--steps acts,analyze] [--only roles] [--relabel] [--json]

For each size a synthetic Slack export is generated (benchmarks/synthetic.py) and imported into
a fresh store with ``villagegreen import``. Then, each in its own process so that its peak RSS
is its own:

- ``villagegreen acts``: dialogue-act labelling, which the roles analysis reads (``analyze``
  would otherwise do it first, inside its own timing);
- ``villagegreen analyze``: every registered analysis, per period and over the whole window;
  each analysis' seconds are the sum of its two grains, as reported by ``analyze --json``;
- ``villagegreen embed --model static``: every message embedded with the shipped static model.

Reported per size: wall and CPU seconds (CPU barely moves with the machine's load) and peak RSS of each step, each analysis' seconds, and for each step
how much its time grew against the previous size (``growth``: time ratio / size ratio, so 1.0
is linear). Targets at 1M messages (issue 10): analyses under 30 s and 2 GB in total,
embeddings under 60 s. Timings depend on the machine and its load: compare within one run.

With ``--keep`` the stores stay in ``--work`` (``store-N.duckdb``), e.g. for
benchmarks/dashboard_load.py.

With ``--store`` nothing is generated or imported: the chosen ``--steps`` run on that store,
in place (acts and analyze write to it: copy a shared store first). ``--only`` limits
``analyze`` to some analyses, ``--relabel`` makes ``acts`` label every message again
(``--force``) rather than only those without a label. Growth needs several sizes, so it is
empty then.
"""

from __future__ import annotations

import argparse
import itertools
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
STEPS = ("import", "acts", "analyze", "embed")

# A fresh wrapper process per step: its RUSAGE_CHILDREN peak RSS and CPU time are that step's
# alone. CPU time (user + system) is reported beside wall time because it barely moves with the
# machine's load, which wall time does.
PEAK = """
import resource, subprocess, sys
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
sys.stderr.write(done.stderr)
sys.stdout.write(done.stdout)
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(usage.ru_maxrss, usage.ru_utime + usage.ru_stime)
sys.exit(done.returncode)
"""


def measured(args: list[str]) -> tuple[dict[str, float], dict[str, Any]]:
    """Runs one ``villagegreen`` step in its own process: (seconds and peak RSS, its --json output)."""
    command = [sys.executable, "-c", PEAK, sys.executable, "-m", "villagegreen", *args, "--json"]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"error: villagegreen {args[0]} failed: {done.stderr.strip()[-500:]}")
    *output, usage = done.stdout.strip().splitlines()
    peak_kib, cpu_seconds = usage.split()
    return {"seconds": round(seconds, 3), "cpu_s": round(float(cpu_seconds), 3), "peak_rss_mb": round(int(peak_kib) / 1024, 1)}, json.loads("\n".join(output))


def per_analysis(analyze_output: dict[str, Any]) -> dict[str, float]:
    """Seconds per analysis, its grains added up (``analyze --json`` reports one run per grain)."""
    seconds: dict[str, float] = {}
    for run in analyze_output["runs"]:
        seconds[run["analysis"]] = round(seconds.get(run["analysis"], 0.0) + float(run["seconds"]), 3)
    return seconds


def up_to_date(db: list[str]) -> list[str]:
    """The store's options, after bringing its schema up to date (untimed): a long run must not
    fail because the package gained a migration between two steps."""
    subprocess.run([sys.executable, "-m", "villagegreen", "migrate", *db], check=True, capture_output=True)
    return db


def slack_export(size: int, work: Path) -> Path:
    export = work / f"slack-{size}"
    if not (export / "users.json").exists():
        subprocess.run([sys.executable, str(HERE / "synthetic.py"), str(export), "--messages", str(size)], check=True, capture_output=True)
    return export


def measure(size: int, work: Path, *, keep: bool) -> dict[str, Any]:
    export = slack_export(size, work)
    store = work / f"store-{size}.duckdb"
    store.unlink(missing_ok=True)
    imported, import_output = measured(["import", str(export), "--db", str(store)])
    result = {"messages": int(import_output["counts"]["messages"]["new"]), "import": imported, **run_steps(store, STEPS[1:])}
    if not keep:
        store.unlink(missing_ok=True)
    return result


def run_steps(store: Path, steps: tuple[str, ...], *, only: tuple[str, ...] = (), relabel: bool = False) -> dict[str, Any]:
    """The steps after import, each in its own process, on ``store``."""
    db = ["--db", str(store)]
    result: dict[str, Any] = {}
    if "acts" in steps:
        acts, acts_output = measured(["acts", *up_to_date(db), *(["--force"] if relabel else [])])
        result["acts"] = {**acts, "labelled": acts_output.get("labelled")}
    if "analyze" in steps:
        analyze, analyze_output = measured(["analyze", *up_to_date(db), *(arg for name in only for arg in ("--only", name))])
        result["analyze"] = {**analyze, "result_rows": sum(int(run["rows"]) for run in analyze_output["runs"])}
        result["analyses_s"] = per_analysis(analyze_output)
    if "embed" in steps:
        embed, embed_output = measured(["embed", *up_to_date(db), "--model", "static"])
        result["embed"] = {**embed, "embedded": embed_output.get("embedded"), "texts_per_s": embed_output.get("texts_per_second")}
    result["store_mb"] = round(store.stat().st_size / 2**20, 1)
    return result


def growth(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """For each step, (time ratio) / (size ratio) between consecutive sizes: 1.0 is linear."""
    rows = []
    for smaller, larger in itertools.pairwise(results):
        scale = larger["messages"] / smaller["messages"]
        row: dict[str, Any] = {"from": smaller["messages"], "to": larger["messages"]}
        for step in (step for step in STEPS if step in smaller and step in larger):
            row[step] = round(larger[step]["seconds"] / smaller[step]["seconds"] / scale, 2)
            row[f"{step}_cpu"] = round(larger[step]["cpu_s"] / smaller[step]["cpu_s"] / scale, 2)
        for name, seconds in larger.get("analyses_s", {}).items():
            if smaller.get("analyses_s", {}).get(name):
                row[f"analysis:{name}"] = round(seconds / smaller["analyses_s"][name] / scale, 2)
        rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000", help="comma-separated message counts")
    parser.add_argument("--work", type=Path, help="keep generated exports (and with --keep, stores) here")
    parser.add_argument("--keep", action="store_true", help="keep the stores (store-N.duckdb in --work)")
    parser.add_argument("--store", type=Path, help="run --steps on this existing store, in place (no generation, no import)")
    parser.add_argument("--steps", default="acts,analyze,embed", help="with --store: comma-separated, of acts, analyze, embed")
    parser.add_argument("--only", action="append", default=[], help="with --store: analyze only this analysis (repeatable)")
    parser.add_argument("--relabel", action="store_true", help="with --store: acts labels every message again (--force)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    machine = f"{platform.machine()} {platform.processor()}".strip()
    if args.store is not None:
        steps = tuple(step.strip() for step in args.steps.split(",") if step.strip())
        if not args.store.exists() or not set(steps) <= set(STEPS[1:]):
            parser.error(f"--store needs an existing store and --steps among {', '.join(STEPS[1:])}")
        result = {"store": str(args.store), **run_steps(args.store, steps, only=tuple(args.only), relabel=args.relabel)}
        print(json.dumps({"machine": machine, "results": [result], "growth": []}, indent=2 if args.json else None))
        return 0
    sizes = sorted(int(size) for size in args.sizes.split(","))
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        results = []
        for size in sizes:
            results.append(measure(size, work, keep=args.keep and args.work is not None))
            if not args.json:
                print(json.dumps(results[-1]), flush=True)
    summary = {"machine": machine, "results": results, "growth": growth(results)}
    print(json.dumps(summary, indent=2) if args.json else json.dumps({"growth": summary["growth"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
