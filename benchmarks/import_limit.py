"""Import against the limit: the same Slack-layout files parsed bare, loaded by DuckDB, imported.

Usage: python benchmarks/import_limit.py [--sizes 10000,100000] [--workers 1,2] [--work DIR] [--raw-layouts [ROUNDS]] [--json]

For each size a synthetic Slack export is generated (benchmarks/synthetic.py), then, each in
its own process so that peak memory (RSS) is its own:

(a) bare: parse every day file with Python's ``json`` module and count the messages;
(b) duckdb: DuckDB's ``read_json`` loads every day file into a table, no mapping;
(r) raw floor: what the raw layer alone costs, the floor under any import that keeps one:
    parse every day file with ``json``, serialise each message back (orjson), hash its id and
    insert (id, kind, native id, payload) into a DuckDB file in one transaction, no mapping;
(r-layouts), only with ``--raw-layouts``: the same raw layer in other layouts that also keep every
    payload and can be mapped again (LAYOUTS: per message or per day file, in DuckDB or in a
    Parquet file beside it, compressed or not), and a control that parses and keeps nothing;
    for each, its size on disk and the cost of erasing the most active person from it (their
    messages removed, their id replaced in everyone else's). Best of ROUNDS interleaved runs;
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
import hashlib
import importlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


# --- Alternative raw-layer layouts (``--raw-layouts``) --------------------------------------
# Each keeps every payload verbatim and re-mappable; each is written by `write_layout` in its own
# process (``import_limit.py step write LAYOUT EXPORT DIR``), and then one person is erased from it
# (``step erase LAYOUT DIR USER``), so that the cost of the GDPR path is measured beside the
# cost of the import path.
LAYOUTS = {
    # The control: the same process, imports and parse with nothing kept. A layout's own cost is
    # its difference to this row (at 100k the process start alone is a large share of each row).
    "parse_only": "no raw layer: every day file parsed, nothing kept (the control)",
    "message_json": "one DuckDB row per message (id, kind, native id, payload JSON): today's raw_items, as (r)",
    "file_zstd": "one DuckDB row per day file, its original bytes zstd-compressed, plus (id, file, position) per message",
    "file_zstd_no_index": "one DuckDB row per day file, its original bytes zstd-compressed, no per-message row",
    "file_text": "one DuckDB row per day file, its original text in a VARCHAR (DuckDB's default storage: uncompressed), plus the index",
    "file_text_zstd": "as file_text, with DuckDB's own ZSTD string compression forced (storage version 'latest'), plus the index",
    "parquet_messages": "each message's JSON (orjson) in a zstd Parquet file beside the store, no DuckDB rows",
    "parquet_files": "each day file's original bytes in a zstd Parquet file beside the store, no per-message row",
}
FILE_LAYOUTS = ("file_zstd", "file_zstd_no_index", "file_text", "file_text_zstd")
TEXT_LAYOUTS = ("file_text", "file_text_zstd")
ERASED = "[erased]"


def _day_files(export: Path) -> Iterator[tuple[str, bytes]]:
    """(channel/day.json, original bytes) of every day file, in the order (r) reads them."""
    for path in export.glob("*/*.json"):
        yield f"{path.parent.name}/{path.name}", path.read_bytes()


def _key(kind: str, native: str) -> str:
    return hashlib.blake2b(f"s|{kind}|{native}".encode(), digest_size=16).hexdigest()


def _native(file_key: str, message: dict[str, Any]) -> str:
    return f"{file_key.split('/', 1)[0]}/{message['ts']}"


def _zstd(data: bytes) -> bytes:
    import pyarrow as pa

    return bytes(pa.compress(data, codec="zstd", asbytes=True))


def _unzstd(data: bytes, size: int) -> bytes:
    import pyarrow as pa

    return bytes(pa.decompress(data, decompressed_size=size, codec="zstd", asbytes=True))


def _connect(layout: str, out: Path) -> Any:
    """The layout's DuckDB file; file_text_zstd's with ZSTD forced on (DuckDB picks it for no string by default)."""
    import duckdb

    if layout != "file_text_zstd":
        return duckdb.connect(str(out / "raw.duckdb"))
    con = duckdb.connect(str(out / "raw.duckdb"), config={"storage_compatibility_version": "latest"})
    con.execute("SET force_compression = 'zstd'")
    return con


def write_layout(layout: str, export: Path, out: Path) -> None:
    """Parses every day file (as any import must) and keeps its raw payloads in ``layout`` under ``out``."""
    import orjson
    import pyarrow as pa
    import pyarrow.parquet as pq

    # Every layout's process loads DuckDB, even those that write only Parquet: an importer has it
    # loaded anyway, and so every row pays the same start-up as the control.
    importlib.import_module("duckdb")

    out.mkdir(parents=True, exist_ok=True)
    if layout == "parse_only":
        for _, data in _day_files(export):
            json.loads(data)
        return
    if layout == "message_json":
        con = _connect(layout, out)
        con.execute("CREATE TABLE raw_items (id VARCHAR, kind VARCHAR, native_id VARCHAR, payload JSON)")
        con.execute("BEGIN")
        ids: list[str] = []
        natives: list[str] = []
        payloads: list[str] = []
        for file_key, data in _day_files(export):
            for message in json.loads(data):
                native = _native(file_key, message)
                natives.append(native)
                ids.append(_key("message", native))
                payloads.append(orjson.dumps(message).decode())
            if len(ids) >= 100_000:
                con.register("batch", pa.table({"id": ids, "kind": pa.array(["message"] * len(ids)), "native_id": natives, "payload": payloads}))
                con.execute("INSERT INTO raw_items SELECT * FROM batch")
                ids, natives, payloads = [], [], []
        con.register("batch", pa.table({"id": ids, "kind": pa.array(["message"] * len(ids)), "native_id": natives, "payload": payloads}))
        con.execute("INSERT INTO raw_items SELECT * FROM batch")
        con.execute("COMMIT")
        con.close()
        return
    if layout == "parquet_messages":
        schema = pa.schema([("id", pa.string()), ("native_id", pa.string()), ("payload", pa.string())])
        with pq.ParquetWriter(out / "raw_messages.parquet", schema, compression="zstd") as writer:
            rows: dict[str, list[str]] = {"id": [], "native_id": [], "payload": []}
            for file_key, data in _day_files(export):
                for message in json.loads(data):
                    native = _native(file_key, message)
                    rows["native_id"].append(native)
                    rows["id"].append(_key("message", native))
                    rows["payload"].append(orjson.dumps(message).decode())
                if len(rows["id"]) >= 100_000:
                    writer.write_table(pa.table(rows, schema=schema))
                    rows = {"id": [], "native_id": [], "payload": []}
            writer.write_table(pa.table(rows, schema=schema))
        return
    # The file layouts: parse (the mapping needs it) but store the bytes as they came.
    text = layout in TEXT_LAYOUTS
    indexed = layout != "file_zstd_no_index"
    content_type = pa.string() if text else pa.binary()
    schema = pa.schema([("file_id", pa.string()), ("path", pa.string()), ("size", pa.int64()), ("messages", pa.int32()), ("content", content_type)])
    files: dict[str, list[Any]] = {name: [] for name in schema.names}
    index: dict[str, list[Any]] = {"id": [], "file_id": [], "position": []}
    con = None
    writer = None
    if layout == "parquet_files":
        writer = pq.ParquetWriter(out / "raw_files.parquet", schema, compression="zstd")
    else:
        con = _connect(layout, out)
        con.execute(f"CREATE TABLE raw_files (file_id VARCHAR, path VARCHAR, size BIGINT, messages INTEGER, content {'VARCHAR' if text else 'BLOB'})")
        con.execute("CREATE TABLE raw_message_index (id VARCHAR, file_id VARCHAR, position INTEGER)")
        con.execute("BEGIN")

    def flush() -> None:
        batch = pa.table(files, schema=schema)
        if writer is not None:
            writer.write_table(batch)
        else:
            assert con is not None
            con.register("batch", batch)
            con.execute("INSERT INTO raw_files SELECT * FROM batch")
            if indexed:
                con.register("positions", pa.table(index))
                con.execute("INSERT INTO raw_message_index SELECT * FROM positions")
        for column in (*files.values(), *index.values()):
            column.clear()

    for file_key, data in _day_files(export):
        messages = json.loads(data)
        file_id = _key("file", file_key)
        if indexed:
            for position, message in enumerate(messages):
                index["id"].append(_key("message", _native(file_key, message)))
                index["file_id"].append(file_id)
                index["position"].append(position)
        files["file_id"].append(file_id)
        files["path"].append(file_key)
        files["size"].append(len(data))
        files["messages"].append(len(messages))
        files["content"].append(data.decode() if text else data if writer is not None else _zstd(data))
        if len(files["path"]) >= 5_000:
            flush()
    flush()
    if writer is not None:
        writer.close()
    else:
        assert con is not None
        con.execute("COMMIT")
        con.close()


def _scrub(user: str, data: bytes) -> tuple[bytes, list[dict[str, Any]]]:
    """A day file without the person's messages and with their id replaced in the others'."""
    import orjson

    kept = [message for message in json.loads(data) if message.get("user") != user]
    return orjson.dumps(kept).replace(user.encode(), ERASED.encode()), kept


def erase_layout(layout: str, out: Path, user: str) -> None:
    """Erases one person from the raw layer in ``layout``: their messages go, others' payloads lose their id.

    A stand-in for store/erasure.py's raw-payload step (which also matches names, handles and
    emails): enough to time what each layout must read and rewrite.
    """
    import duckdb
    import pyarrow as pa
    import pyarrow.parquet as pq

    if layout == "parse_only":
        return
    if layout == "parquet_messages":
        path, erasing = out / "raw_messages.parquet", out / "raw_messages.erasing.parquet"
        duckdb.execute(
            f"COPY (SELECT id, native_id, replace(payload, $user, $erased) AS payload FROM read_parquet('{path}')"
            " WHERE NOT contains(payload, $user) OR json_extract_string(payload, '$.user') IS DISTINCT FROM $user)"
            f" TO '{erasing}' (FORMAT parquet, COMPRESSION zstd)",
            {"user": user, "erased": ERASED},
        )
        erasing.replace(path)
        return
    if layout == "parquet_files":
        path, erasing = out / "raw_files.parquet", out / "raw_files.erasing.parquet"
        table = pq.read_table(path)
        columns = {name: table.column(name).to_pylist() for name in table.column_names}
        for row, content in enumerate(columns["content"]):
            if user.encode() in content:
                columns["content"][row], kept = _scrub(user, content)
                columns["size"][row], columns["messages"][row] = len(columns["content"][row]), len(kept)
        pq.write_table(pa.table(columns, schema=table.schema), erasing, compression="zstd")
        erasing.replace(path)
        return
    con = _connect(layout, out)
    con.execute("BEGIN")
    if layout == "message_json":
        rows = con.execute("SELECT id, payload FROM raw_items WHERE contains(payload, ?)", [user]).fetchall()
        owned_ids = {item for item, payload in rows if json.loads(payload).get("user") == user}
        con.register("owned", pa.table({"id": sorted(owned_ids)}))
        others = [(item, payload.replace(user, ERASED)) for item, payload in rows if item not in owned_ids]
        con.register("scrubbed", pa.table({"id": [item for item, _ in others], "payload": [payload for _, payload in others]}))
        con.execute("DELETE FROM raw_items WHERE id IN (SELECT id FROM owned)")
        con.execute("UPDATE raw_items SET payload = scrubbed.payload FROM scrubbed WHERE raw_items.id = scrubbed.id")
    else:
        text = layout in TEXT_LAYOUTS
        # Text can be searched where it lies; compressed blobs must all be read and inflated.
        query = "SELECT file_id, path, size, content FROM raw_files" + (" WHERE contains(content, ?)" if text else "")
        files: dict[str, list[Any]] = {"file_id": [], "path": [], "size": [], "messages": [], "content": []}
        index: dict[str, list[Any]] = {"id": [], "file_id": [], "position": []}
        for file_id, file_key, size, content in con.execute(query, [user] if text else []).fetchall():
            data = content.encode() if text else _unzstd(content, size)
            if user.encode() not in data:
                continue
            scrubbed_bytes, kept = _scrub(user, data)
            for name, value in zip(
                files, (file_id, file_key, len(scrubbed_bytes), len(kept), scrubbed_bytes.decode() if text else _zstd(scrubbed_bytes)), strict=True
            ):
                files[name].append(value)
            for position, message in enumerate(kept):
                index["id"].append(_key("message", _native(file_key, message)))
                index["file_id"].append(file_id)
                index["position"].append(position)
        con.register("rewritten", pa.table(files))
        con.execute("DELETE FROM raw_files WHERE file_id IN (SELECT file_id FROM rewritten)")
        con.execute("INSERT INTO raw_files SELECT * FROM rewritten")
        if layout != "file_zstd_no_index":
            con.register("positions", pa.table(index))
            con.execute("DELETE FROM raw_message_index WHERE file_id IN (SELECT file_id FROM rewritten)")
            con.execute("INSERT INTO raw_message_index SELECT * FROM positions")
    con.execute("COMMIT")
    con.close()


def recover_files(layout: str, out: Path) -> dict[str, bytes]:
    """channel/day.json → the bytes kept for it, in a file layout (how a re-mapping reads them back)."""
    import duckdb
    import pyarrow.parquet as pq

    if layout == "parquet_files":
        table = pq.read_table(out / "raw_files.parquet")
        return dict(zip(table.column("path").to_pylist(), table.column("content").to_pylist(), strict=True))
    with duckdb.connect(str(out / "raw.duckdb"), read_only=True) as con:
        rows = con.execute("SELECT path, size, content FROM raw_files").fetchall()
    return {path: content.encode() if layout in TEXT_LAYOUTS else _unzstd(content, size) for path, size, content in rows}


def recover_messages(layout: str, out: Path) -> dict[str, dict[str, Any]]:
    """Native id (channel/ts) → the message as kept in ``layout``, parsed back."""
    import duckdb

    if layout in (*FILE_LAYOUTS, "parquet_files"):
        return {_native(path, message): message for path, data in recover_files(layout, out).items() for message in json.loads(data)}
    if layout == "parquet_messages":
        rows = duckdb.execute(f"SELECT native_id, payload FROM read_parquet('{out / 'raw_messages.parquet'}')").fetchall()
    else:
        with duckdb.connect(str(out / "raw.duckdb"), read_only=True) as con:
            rows = con.execute("SELECT native_id, payload FROM raw_items").fetchall()
    return {native: json.loads(payload) for native, payload in rows}


def most_active(export: Path) -> dict[str, object]:
    """The person with the most messages (the costliest to erase): their id, messages and day files."""
    messages: Counter[str] = Counter()
    files: Counter[str] = Counter()
    for _, data in _day_files(export):
        authors = [message.get("user", "") for message in json.loads(data)]
        messages.update(authors)
        files.update(set(authors))
    user, count = messages.most_common(1)[0]
    return {"user": user, "messages": count, "day_files": files[user]}


def step(argv: list[str]) -> int:
    """``write LAYOUT EXPORT OUT`` or ``erase LAYOUT OUT USER``: one measured step, in its own process."""
    action, layout, *rest = argv
    if action == "write":
        write_layout(layout, Path(rest[0]), Path(rest[1]))
    else:
        erase_layout(layout, Path(rest[0]), rest[1])
    return 0


def _size_mb(folder: Path) -> float:
    return round(sum(path.stat().st_size for path in folder.rglob("*") if path.is_file()) / 1e6, 1)


def measure_layouts(size: int, export: Path, work: Path, bare: dict[str, float], rounds: int = 1) -> dict[str, object]:
    """Every layout written, sized, and the most active person erased from it; ratios over the bare parse.

    With several rounds the bare parse and every layout run once per round, interleaved, and each
    keeps its run with the least CPU time: on a shared machine the least disturbed run is the
    best estimate of the cost, and interleaving spreads a busy minute over all of them.
    """
    script = str(Path(__file__).resolve())
    person = most_active(export)
    source_mb = round(sum(path.stat().st_size for path in export.glob("*/*.json")) / 1e6, 1)
    bares = [bare]
    runs: dict[str, list[tuple[dict[str, float], float, dict[str, float]]]] = {layout: [] for layout in LAYOUTS}
    for round_number in range(rounds):
        if round_number:
            bares.append(run([sys.executable, "-c", BARE, str(export)]))
        for layout in LAYOUTS:
            out = work / f"raw-{layout}-{size}"
            shutil.rmtree(out, ignore_errors=True)
            written = run([sys.executable, script, "step", "write", layout, str(export), str(out)])
            store_mb = _size_mb(out)
            erased = run([sys.executable, script, "step", "erase", layout, str(out), str(person["user"])])
            shutil.rmtree(out)
            runs[layout].append((written, store_mb, erased))
    best_bare = min(bares, key=lambda step: step["cpu_seconds"])
    layouts: dict[str, object] = {}
    for layout, description in LAYOUTS.items():
        written, store_mb, _ = min(runs[layout], key=lambda measured: measured[0]["cpu_seconds"])
        layouts[layout] = {
            **written,
            "messages_per_s": round(size / written["seconds"], 1),
            "store_mb": store_mb,
            "over_bare": round(written["seconds"] / best_bare["seconds"], 2),
            "over_bare_cpu": round(written["cpu_seconds"] / best_bare["cpu_seconds"], 2),
            "cpu_seconds_per_round": [measured[0]["cpu_seconds"] for measured in runs[layout]],
            "erase_most_active_person": min((measured[2] for measured in runs[layout]), key=lambda step: step["cpu_seconds"]),
            "layout": description,
        }
    return {"day_files_mb": source_mb, "rounds": rounds, "bare_json_best": best_bare, "erased_person": person, "layouts": layouts}


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


def measure(size: int, work: Path, workers: list[int], raw_layout_rounds: int = 0) -> dict[str, object]:
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
    if raw_layout_rounds:
        result["raw_layouts"] = measure_layouts(size, export, work, bare, raw_layout_rounds)
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
    parser.add_argument(
        "--raw-layouts",
        type=int,
        nargs="?",
        const=1,
        default=0,
        metavar="ROUNDS",
        help="also measure alternative raw-layer layouts and erasing one person from each, best of ROUNDS (default 1; slow)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",")]
    workers = list(dict.fromkeys(int(count) for count in args.workers.split(",")))
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        results = []
        for size in sorted(sizes):
            results.append(measure(size, work, workers, args.raw_layouts))
            if not args.json:
                print(json.dumps(results[-1]), flush=True)
    if args.json:
        machine = f"{platform.machine()} {platform.processor()}".strip()
        print(json.dumps({"machine": machine, "cpus": os.cpu_count(), "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(step(sys.argv[2:]) if sys.argv[1:2] == ["step"] else main())
