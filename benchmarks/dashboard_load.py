"""Dashboard under load: concurrent clients against `villagegreen serve` on 127.0.0.1, latency per page.

Usage: python benchmarks/dashboard_load.py --db STORE [--clients 20] [--seconds 60] [--port 0] [--wrk] [--json]

The script starts ``villagegreen serve --db STORE --host 127.0.0.1`` as a subprocess, waits
until it answers, and discovers the pages from the dashboard's own ``/openapi.json`` (every GET
route tagged ``pages`` is a ``.json`` twin; its HTML page is the same path without ``.json``),
so pages added later are measured without editing this script. Path parameters are filled from
the data of the pages already fetched: ``{space_id}`` from the ``spaces`` list of ``/spaces.json``,
``{conversation_id}`` from a space's ``conversations``, and so on (up to five ids each). A
parameter that no page lists is reported under ``unresolved`` and its page is skipped.

Then ``--clients`` asynchronous clients (httpx.AsyncClient) cycle through every page and twin
for ``--seconds``. Reported per page: requests, not_analysed (409: the page's analysis was not
run on this store, its designed answer), errors (any other status than 200, or a failed
request), p50/p95/p99/max latency in milliseconds, and the cold latency of the page's data
(``.json``: its first, uncached build, in the discovery pass, which also builds every other
page the load will request, so that the timed load serves built pages); overall requests/s, errors, the
server's CPU milliseconds per request (its service cost, which queueing and the machine's load
do not inflate) and its peak RSS. Only 127.0.0.1 is allowed: this is a load generator, and it
refuses to point at any other host. Issue 10's target: p95 under 250 ms with 20 clients on the 1M-message store; issue 11's: zero errors.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
ALLOWED_HOST = "127.0.0.1"
PARAMETER = re.compile(r"\{(\w+)\}")
IDS_PER_PARAMETER = 5


def refuse_other_hosts(host: str) -> str:
    if host != ALLOWED_HOST:
        raise SystemExit(f"error: refusing to load-test {host!r}; this benchmark only runs against {ALLOWED_HOST}")
    return host


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((ALLOWED_HOST, 0))
        return int(probe.getsockname()[1])


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (``share`` in 0..1) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, -(-round(share * 1000) * len(ordered) // 1000))  # ceil(share * n) without float error
    return ordered[min(rank, len(ordered)) - 1]


def ids_listed(document: Any, plural: str) -> Iterator[str]:
    """Every ``id`` of the dicts in lists named ``plural`` anywhere in a page's data."""
    if isinstance(document, dict):
        for key, value in document.items():
            if key == plural and isinstance(value, list):
                yield from (str(item["id"]) for item in value if isinstance(item, dict) and "id" in item)
            else:
                yield from ids_listed(value, plural)
    elif isinstance(document, list):
        for value in document:
            yield from ids_listed(value, plural)


def fill(template: str, documents: list[Any]) -> list[str]:
    """The concrete paths of a templated path, its parameters taken from the documents seen so far."""
    paths = [template]
    for name in PARAMETER.findall(template):
        plural = name.removesuffix("_id") + "s"
        found = list(dict.fromkeys(value for document in documents for value in ids_listed(document, plural)))[:IDS_PER_PARAMETER]
        paths = [path.replace(f"{{{name}}}", value) for path in paths for value in found]
    return paths


class Server:
    """``villagegreen serve`` on 127.0.0.1 in a subprocess, stopped on exit."""

    def __init__(self, db: Path, port: int, startup_s: float) -> None:
        self.base = f"http://{ALLOWED_HOST}:{port}"
        command = [sys.executable, "-m", "villagegreen", "serve", "--db", str(db), "--host", ALLOWED_HOST, "--port", str(port)]
        # A file, not a pipe: a server that logs a lot must never block on a full pipe.
        self.log = tempfile.TemporaryFile("w+")  # noqa: SIM115 (closed by stop())
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=self.log, text=True)
        deadline = time.monotonic() + startup_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                tail = self.stderr_tail()
                self.stop()
                raise SystemExit(f"error: villagegreen serve exited: {tail}")
            try:
                if httpx.get(f"{self.base}/openapi.json", timeout=5).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        self.stop()
        raise SystemExit(f"error: villagegreen serve did not answer within {startup_s:.0f} s")

    def stderr_tail(self) -> str:
        self.log.seek(0)
        return self.log.read().strip()[-500:]

    def cpu_seconds(self) -> float | None:
        """The server's CPU time so far (user + system), from /proc (Linux); None elsewhere."""
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            return None
        # Fields 14 and 15 of stat(5), counted after the ")" that closes the command name.
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def peak_rss_mb(self) -> float | None:
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text()
        except OSError:
            return None
        match = re.search(r"VmHWM:\s+(\d+) kB", status)
        return round(int(match.group(1)) / 1024, 1) if match else None

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def discover(base: str, cold_timeout: float = 120.0) -> tuple[list[tuple[str, str]], dict[str, float], list[str]]:
    """(page label, path) pairs to cycle, each page's cold latency (ms), and unresolved templates."""
    spec = httpx.get(f"{base}/openapi.json", timeout=60).json()
    templates = [path for path, ops in spec["paths"].items() if "pages" in ops.get("get", {}).get("tags", []) and path.endswith(".json")]
    documents: list[Any] = []
    targets: list[tuple[str, str]] = []
    cold: dict[str, float] = {}
    pending = sorted(templates, key=lambda path: path.count("{"))
    with httpx.Client(base_url=base, timeout=cold_timeout) as client:
        for _ in range(3):  # a parameter may be listed only by a templated page
            unresolved = []
            for template in pending:
                paths = fill(template, documents)
                if not paths:
                    unresolved.append(template)
                    continue
                # The data first: the server caches it per path (until the store changes), so this
                # is the page's cold build; its HTML twin then only renders the cached data.
                started = time.perf_counter()
                response = client.get(paths[0])
                cold[template] = round((time.perf_counter() - started) * 1000, 1)
                if response.status_code == 200:
                    documents.append(response.json())
                # The template's other pages (other spaces, conversations) are built now too, so
                # the timed load measures pages being served, not their first builds (seconds each
                # at a million messages, which stalled every client while they ran).
                for path in paths[1:]:
                    client.get(path)
                for path in paths:
                    targets += [(template, path), (template.removesuffix(".json"), path.removesuffix(".json"))]
            if not unresolved or unresolved == pending:
                return targets, cold, unresolved
            pending = unresolved
    return targets, cold, pending


async def load(base: str, targets: list[tuple[str, str]], clients: int, seconds: float) -> dict[str, list[float | str]]:
    """Latencies (ms) per page label from ``clients`` clients for ``seconds``; an error is recorded
    as its status code or exception name instead."""
    samples: dict[str, list[float | str]] = {label: [] for label, _ in targets}
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async def client_loop(client: httpx.AsyncClient, offset: int) -> None:
        index = offset
        while time.perf_counter() < deadline:
            label, path = targets[index % len(targets)]
            index += 1
            started = time.perf_counter()
            try:
                status = (await client.get(path)).status_code
                outcome: float | str = (time.perf_counter() - started) * 1000 if status == 200 else str(status)
            except httpx.HTTPError as error:
                outcome = type(error).__name__
            samples[label].append(outcome)

    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
        await asyncio.gather(*(client_loop(client, offset * len(targets) // clients) for offset in range(clients)))
    return samples


NOT_ANALYSED = "409"


def summarise(samples: dict[str, list[float | str]], cold: dict[str, float]) -> dict[str, dict[str, object]]:
    pages: dict[str, dict[str, object]] = {}
    for label, outcomes in sorted(samples.items()):
        good = [outcome for outcome in outcomes if isinstance(outcome, float)]
        # 409 is the designed answer of a page whose analysis has not been run on this store
        # ("not analysed", with the command): counted apart, not as an error.
        not_analysed = sum(1 for outcome in outcomes if outcome == NOT_ANALYSED)
        errors = Counter(outcome for outcome in outcomes if isinstance(outcome, str) and outcome != NOT_ANALYSED)
        row: dict[str, object] = {"requests": len(outcomes), "errors": errors.total(), "not_analysed": not_analysed, "cold_ms": cold.get(label)}
        if errors:
            row["error_kinds"] = dict(errors)
        if good:
            row |= {f"p{int(share * 100)}_ms": round(percentile(good, share), 1) for share in (0.5, 0.95, 0.99)}
            row["max_ms"] = round(max(good), 1)
        pages[label] = row
    return pages


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True, help="the store to serve")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--host", default=ALLOWED_HOST, help="only 127.0.0.1 is accepted")
    parser.add_argument("--port", type=int, default=0, help="0: any free port")
    parser.add_argument("--startup-timeout", type=float, default=180.0, help="seconds to wait for the server to answer")
    parser.add_argument("--cold-timeout", type=float, default=120.0, help="seconds to wait for one page's first (uncached) build")
    parser.add_argument("--wrk", action="store_true", help="load with wrk (Debian's package; 2 threads) instead of the Python client")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    refuse_other_hosts(args.host)
    if not args.db.is_file():
        raise SystemExit(f"error: {args.db} not found; build a store first (villagegreen import or villagegreen demo)")
    server = Server(args.db, args.port or free_port(), args.startup_timeout)
    try:
        targets, cold, unresolved = discover(server.base, args.cold_timeout)
        if not targets:
            raise SystemExit("error: the dashboard lists no pages in /openapi.json")
        if args.wrk:
            return _with_wrk(server, targets, args)
        cpu_before, client_before = server.cpu_seconds(), time.process_time()
        samples = asyncio.run(load(server.base, targets, args.clients, args.seconds))
        cpu_after, client_cpu = server.cpu_seconds(), time.process_time() - client_before
        peak = server.peak_rss_mb()
    finally:
        server.stop()
    pages = summarise(samples, cold)
    requests = sum(int(str(row["requests"])) for row in pages.values())
    result = {
        "machine": f"{platform.machine()} {platform.processor()}".strip(),
        "store": str(args.db),
        "clients": args.clients,
        "seconds": args.seconds,
        "requests": requests,
        "requests_per_s": round(requests / args.seconds, 1),
        "errors": sum(int(str(row["errors"])) for row in pages.values()),
        "not_analysed": sum(int(str(row["not_analysed"])) for row in pages.values()),
        "server_peak_rss_mb": peak,
        # If the client's own cost per request nears the server's, the client is what limits the rate.
        "client_cpu_ms_per_request": round(client_cpu * 1000 / requests, 2) if requests else None,
        # Service cost per request, independent of queueing and of the machine's load.
        "server_cpu_ms_per_request": round((cpu_after - cpu_before) * 1000 / requests, 2)
        if cpu_before is not None and cpu_after is not None and requests
        else None,
        "unresolved": unresolved,
        "pages": pages,
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{requests} requests in {args.seconds:.0f} s, {result['errors']} errors, server peak RSS {peak} MB")
        for label, row in pages.items():
            print(f"{label:45} {row}")
    return 0


def _with_wrk(server: Server, targets: list[tuple[str, str]], args: argparse.Namespace) -> int:
    """The same pages through wrk (C, so the client costs next to nothing): latency over all pages."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("error: wrk not found; install it (apt-get install wrk) or leave out --wrk")
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as listing:
        listing.write("\n".join(dict.fromkeys(path for _label, path in targets)) + "\n")
        listing.flush()
        cpu_before = server.cpu_seconds()
        command = [wrk, "-t2", f"-c{args.clients}", f"-d{int(args.seconds)}s", "-s", str(HERE / "wrk_pages.lua"), server.base]
        done = subprocess.run(command, capture_output=True, text=True, check=False, env={**os.environ, "VG_PATHS": listing.name})
        cpu_after = server.cpu_seconds()
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"error: wrk failed: {(done.stderr or done.stdout).strip()[-300:]}")
    result: dict[str, Any] = {"machine": f"{platform.machine()} {platform.processor()}".strip(), "store": str(args.db), "tool": "wrk", "clients": args.clients}
    result.update(json.loads(lines[-1]))
    if cpu_before is not None and cpu_after is not None and result["requests"]:
        result["server_cpu_ms_per_request"] = round((cpu_after - cpu_before) * 1000 / result["requests"], 2)
    result["server_peak_rss_mb"] = server.peak_rss_mb()
    print(json.dumps(result, indent=2) if args.json else result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
