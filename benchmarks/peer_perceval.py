"""Import against a peer: Perceval's mbox backend and `villagegreen import` on the same archives.

Usage: python benchmarks/peer_perceval.py [--sizes 10000,100000] [--real ../shared/data/mail/r-package-devel]
       [--perceval-python /tmp/perceval-venv/bin/python] [--work DIR] [--baseline-src OLD/src] [--src NEW/src] [--json]

Perceval (GrimoireLab's ingestion layer) is GPL-3.0: it is a benchmark peer only, never a
dependency. It lives in its own virtual environment, either the one given with
``--perceval-python`` or one this script creates with ``--make-venv DIR`` (``pip install
perceval``, so that step needs the package index; nothing is downloaded at run time otherwise).

For each archive (synthetic mbox from benchmarks/synthetic.py at each size, and the real
pipermail archives if present), in one run and each in its own process so that peak RSS is its
own:

- perceval: ``MBox(uri, dirpath).fetch()`` over the folder, counting the items it yields (it
  parses each message into a dict, checks it and converts its date; pipermail's ``.txt`` files
  are mboxes, which is what Perceval's own Pipermail backend hands to this same parser after
  downloading them);
- villagegreen: ``villagegreen import`` into a fresh store (parse, map, thread, write the raw
  and canonical layers, commit): strictly more work than Perceval does.

Reported: wall and CPU seconds, messages/s (each tool's own count), peak RSS, the ratio of
wall-clock rates and the ratio of rates per CPU second (steadier on a shared machine). With
``--baseline-src`` another villagegreen (a copy of ``src/`` from before a change, put first on
PYTHONPATH) imports the same archives in the same run, for before/after figures; ``--src``
does the same for the version measured as "villagegreen" (default: the installed one), so that
a change can be measured against its own base while others edit the checkout. The
target is villagegreen ≥ 10× Perceval. Timings depend on the machine and its load: compare the
ratio within one run.
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
DEFAULT_REAL = HERE.parent.parent / "shared" / "data" / "mail" / "r-package-devel"

PERCEVAL = """
import logging, sys
logging.disable(logging.CRITICAL)
from perceval.backends.core.mbox import MBox
print(sum(1 for _ in MBox(uri='benchmark', dirpath=sys.argv[1]).fetch()))
"""

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


def measured(args: list[str], env: dict[str, str] | None = None) -> tuple[dict[str, float], str]:
    """Runs one step in its own process: (wall seconds and peak RSS, the step's stdout)."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", PEAK, *args], capture_output=True, text=True, check=False, env=env)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"error: {' '.join(args[:3])} failed: {done.stderr.strip()[-500:]}")
    *output, usage = done.stdout.strip().splitlines()
    peak_kib, cpu_seconds = usage.split()
    return {"seconds": round(seconds, 3), "cpu_s": round(float(cpu_seconds), 3), "peak_rss_mb": round(int(peak_kib) / 1024, 1)}, "\n".join(output)


def perceval_step(perceval_python: Path, folder: Path) -> dict[str, float]:
    step, output = measured([str(perceval_python), "-c", PERCEVAL, str(folder)])
    messages = int(output.strip().splitlines()[-1])
    return {**step, "messages": messages, "messages_per_s": round(messages / step["seconds"], 1)}


def villagegreen_step(folder: Path, store: Path, source: Path | None = None) -> dict[str, float]:
    """``villagegreen import`` into a fresh store; from the ``source`` folder (a src/ copy) if given."""
    store.unlink(missing_ok=True)
    env = {**os.environ, "PYTHONPATH": str(source)} if source is not None else None
    step, output = measured([sys.executable, "-m", "villagegreen", "import", str(folder), "--db", str(store), "--json"], env)
    messages = int(json.loads(output)["counts"]["messages"]["new"])
    store.unlink(missing_ok=True)
    return {**step, "messages": messages, "messages_per_s": round(messages / step["seconds"], 1)}


def compare(name: str, folder: Path, perceval_python: Path, work: Path, baseline: Path | None = None, source: Path | None = None) -> dict[str, object]:
    peer = perceval_step(perceval_python, folder)
    ours = villagegreen_step(folder, work / "peer-perceval.duckdb", source)
    cpu_ratio = (ours["messages"] / ours["cpu_s"]) / (peer["messages"] / peer["cpu_s"])
    result: dict[str, object] = {
        "archive": name, "perceval": peer, "villagegreen": ours,
        "rate_ratio": round(ours["messages_per_s"] / peer["messages_per_s"], 3), "cpu_rate_ratio": round(cpu_ratio, 3),
    }  # fmt: skip
    if baseline is not None:
        # Another version of villagegreen on the same files in the same run: before/after figures
        # that share the machine's load.
        before = villagegreen_step(folder, work / "peer-perceval.duckdb", baseline)
        result["villagegreen_baseline"] = before
        result["baseline_cpu_rate_ratio"] = round((before["messages"] / before["cpu_s"]) / (peer["messages"] / peer["cpu_s"]), 3)
        result["speedup_cpu"] = round(before["cpu_s"] / ours["cpu_s"], 3)
    return result


def make_venv(folder: Path) -> Path:
    """Creates a benchmark-only environment with Perceval from the package index."""
    python = folder / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
        done = subprocess.run([str(python), "-m", "pip", "install", "-q", "perceval"], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise SystemExit(f"error: could not install perceval into {folder}: {done.stderr.strip()[-300:]}")
    return python


def synthetic_mbox(size: int, work: Path) -> Path:
    folder = work / f"mbox-{size}"
    if not (folder / "list.mbox").exists():
        command = [sys.executable, str(HERE / "synthetic.py"), str(folder), "--messages", str(size), "--layout", "mbox"]
        subprocess.run(command, check=True, capture_output=True)
    return folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated synthetic message counts (empty: none)")
    parser.add_argument("--real", type=Path, default=DEFAULT_REAL, help="a folder of real mbox/pipermail files ('' to skip)")
    parser.add_argument("--perceval-python", type=Path, help="python of an environment where perceval is installed")
    parser.add_argument("--make-venv", type=Path, help="create that environment here (pip install perceval) if missing")
    parser.add_argument("--work", type=Path, help="keep generated archives here (default: a temporary folder)")
    parser.add_argument("--baseline-src", type=Path, help="also import with the villagegreen in this src/ folder (a copy from before a change)")
    parser.add_argument("--src", type=Path, help="measure the villagegreen in this src/ folder instead of the installed one")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    perceval_python = args.perceval_python or (make_venv(args.make_venv) if args.make_venv else None)
    if perceval_python is None or not perceval_python.exists():
        raise SystemExit("error: no Perceval environment; pass --perceval-python PATH or --make-venv DIR")
    sizes = [int(size) for size in args.sizes.split(",") if size.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        archives = [(f"synthetic mbox {size:,}", synthetic_mbox(size, work)) for size in sorted(sizes)]
        if str(args.real) not in ("", ".") and args.real.is_dir():
            archives.append((f"real pipermail {args.real.name}", args.real))
        results = []
        for name, folder in archives:
            results.append(compare(name, folder, perceval_python, work, args.baseline_src, args.src))
            if not args.json:
                print(json.dumps(results[-1]), flush=True)
    if args.json:
        print(json.dumps({"machine": f"{platform.machine()} {platform.processor()}".strip(), "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
