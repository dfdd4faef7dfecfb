"""Where the analyses' ibis expressions run: DuckDB (the store itself) or Spark.

The DuckDB engine reads the store's tables in place. The Spark engine exports the canonical
tables to Parquet (a local folder, or an object-store URL the cluster can read) and points
ibis' pyspark backend at them; the same expressions then run on the cluster, and the small
result tables come back to be written into the store. Install with ``pip install
'villagegreen[spark]'`` (pyspark 4.0, which runs on Java 17).
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import ibis

from villagegreen.analyses.inputs import ANALYSIS_TABLES
from villagegreen.errors import ConfigError
from villagegreen.store.lean_runtime import lean_runtime as store_lean_runtime

if TYPE_CHECKING:
    from collections.abc import Iterator

    import ibis.expr.types as ir

    from villagegreen.store.database import Store

ENGINES = ("duckdb", "spark")
# DuckDB's own default is 80% of RAM; analyses at a million messages fit in far less by
# spilling their largest hash tables to disk, which keeps `analyze` usable on a laptop.
ANALYSIS_MEMORY_LIMIT = "1GB"
# Compiling the expressions creates many small objects that are never garbage: fewer
# collections (the default runs one every 700 allocations) save seconds of CPU per run.
ANALYSIS_GC_THRESHOLD = 100_000
# DuckDB threads while the analyses run (None: DuckDB's default, one per core). One thread
# cut the CPU of a run at 1M messages by about a fifth (hash aggregates over string keys
# cost a second thread 1.4-1.7x the CPU: activity's per-day sums 2.61 against 1.58 CPU-s),
# but on an idle two-core machine the second core is what keeps the run's wall time down;
# measure both there before choosing (BENCHMARKS.md, session 7).
ANALYSIS_THREADS: int | None = None
# Small, local-friendly defaults; a real cluster's own settings win when a master URL is given.
_SPARK_LOCAL_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "2",
    "spark.default.parallelism": "2",
    "spark.sql.adaptive.enabled": "true",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
}


def duckdb_tables(store: Store) -> dict[str, ir.Table]:
    backend = ibis.duckdb.from_connection(store.con)
    return {name: backend.table(name) for name in ANALYSIS_TABLES}


@contextmanager
def engine_tables(store: Store, engine: str = "duckdb", *, spark_master: str | None = None, staging: str | None = None) -> Iterator[dict[str, ir.Table]]:
    """The canonical tables as ibis tables on ``engine``, for as long as the context is open."""
    if engine == "duckdb":
        yield duckdb_tables(store)
        return
    if engine != "spark":
        raise ConfigError(f"unknown engine {engine!r}; choose one of: {', '.join(ENGINES)}")
    with _staging_folder(staging) as folder:
        paths = export_canonical_parquet(store, folder)
        session = spark_session(spark_master)
        backend = ibis.pyspark.connect(session)
        yield {name: backend.read_parquet(path, table_name=f"vg_{name}") for name, path in paths.items()}


@contextmanager
def lean_runtime(store: Store) -> Iterator[None]:
    """A DuckDB memory cap (and ANALYSIS_THREADS, when set) and fewer garbage collections for one run of the analyses; all restored after."""
    with store_lean_runtime(store.con, memory_limit=ANALYSIS_MEMORY_LIMIT, gc_threshold=ANALYSIS_GC_THRESHOLD, threads=ANALYSIS_THREADS):
        yield


def export_canonical_parquet(store: Store, folder: str) -> dict[str, str]:
    """Writes each table the analyses read to ``folder/<table>.parquet``; returns the paths."""
    paths = {}
    for name in ANALYSIS_TABLES:
        path = f"{folder.rstrip('/')}/{name}.parquet"
        # JSON columns go out as text: Spark has no JSON type (see inputs.json_int).
        store.con.execute(f"COPY (SELECT * FROM {name}) TO '{path}' (FORMAT parquet)")
        paths[name] = path
    return paths


def spark_session(master: str | None) -> Any:
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise ConfigError("the Spark engine needs pyspark: pip install 'villagegreen[spark]' (and Java 17)") from None
    if master is None:
        # Local mode stays on loopback instead of binding the machine's public interface.
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder = SparkSession.builder.appName("villagegreen").master(master or "local[2]")
    for key, value in _SPARK_LOCAL_CONF.items():
        if master is None or key == "spark.sql.session.timeZone":
            builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


@contextmanager
def _staging_folder(staging: str | None) -> Iterator[str]:
    if staging:
        yield staging
        return
    with tempfile.TemporaryDirectory(prefix="villagegreen-spark-") as folder:
        yield folder
