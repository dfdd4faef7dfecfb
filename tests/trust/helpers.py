"""Running the real CLI and fingerprinting a store's rows, for the trust tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest

from villagegreen.interfaces.cli import main

Fingerprint = dict[str, tuple[int, str]]


@dataclass(frozen=True)
class CliResult:
    code: int
    stdout: str
    stderr: str
    seconds: float
    peak_rss_bytes: int | None = None  # of the command's own process tree (run_cli_process only)

    def json(self) -> Any:
        return json.loads(self.stdout)


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> CliResult:
    """``villagegreen ARGS`` in this process (fast: no interpreter start), as a user runs it."""
    started = time.perf_counter()
    capsys.readouterr()
    try:
        main(args)
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    seconds = time.perf_counter() - started
    captured = capsys.readouterr()
    return CliResult(code, captured.out, captured.err, seconds)


# Runs the command as its own child, so that RUSAGE_CHILDREN here is that command's process tree
# alone (the test process's own children, e.g. forked import workers, would otherwise count), and
# writes its peak RSS in KiB to the file named first.
_MEASURED = """
import resource, subprocess, sys
try:
    done = subprocess.run(sys.argv[3:], timeout=float(sys.argv[2]))
    code = done.returncode
except subprocess.TimeoutExpired:
    code = -9
with open(sys.argv[1], "w") as out:
    out.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
sys.exit(code if code >= 0 else 137)
"""


def run_cli_process(args: list[str], timeout: float, env: dict[str, str] | None = None) -> CliResult:
    """``python -m villagegreen ARGS`` in a child process, killed after ``timeout`` seconds; with its peak RSS."""
    started = time.perf_counter()
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as peak:
        completed = subprocess.run(
            [sys.executable, "-c", _MEASURED, peak.name, str(timeout), sys.executable, "-m", "villagegreen", *args],
            capture_output=True,
            text=True,
            timeout=timeout + 30,
            env={**os.environ, "COLUMNS": "200", **(env or {})},
            check=False,
        )
        measured = peak.read().strip()
    peak_bytes = int(measured) * 1024 if measured.isdigit() else None
    return CliResult(completed.returncode, completed.stdout, completed.stderr, time.perf_counter() - started, peak_bytes)


def fingerprint(db: Path) -> Fingerprint:
    """(row count, md5 of every row rendered as text, sorted) for every table of the store."""
    with duckdb.connect(str(db), read_only=True) as con:
        tables = [row[0] for row in con.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY 1").fetchall()]
        result: Fingerprint = {}
        for table in tables:
            ((count, digest),) = con.execute(
                f"SELECT count(*), md5(coalesce(string_agg(CAST(t AS VARCHAR), chr(10) ORDER BY CAST(t AS VARCHAR)), '')) FROM \"{table}\" t"
            ).fetchall()
            result[table] = (int(count), str(digest))
    return result


def source_rows_fingerprint(db: Path, source_id: str) -> Fingerprint:
    """Like :func:`fingerprint`, restricted to one source's rows in tables that have a source_id."""
    with duckdb.connect(str(db), read_only=True) as con:
        tables = [
            row[0]
            for row in con.execute(
                "SELECT table_name FROM information_schema.columns WHERE table_schema = 'main' AND column_name = 'source_id' ORDER BY 1"
            ).fetchall()
        ]
        result: Fingerprint = {}
        for table in tables:
            ((count, digest),) = con.execute(
                f"SELECT count(*), md5(coalesce(string_agg(CAST(t AS VARCHAR), chr(10) ORDER BY CAST(t AS VARCHAR)), '')) "
                f'FROM "{table}" t WHERE source_id = ?',
                [source_id],
            ).fetchall()
            result[table] = (int(count), str(digest))
    return result


def one_clear_line(stderr: str) -> str:
    """The single error line; fails the test when there is a traceback, an internal error or more lines."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected exactly one line on stderr, got {len(lines)}:\n{stderr[:2000]}"
    line = lines[0]
    assert line.startswith("error: "), line
    assert "Traceback" not in stderr and "internal error" not in line, line
    return line
