"""Running the real command line in the test process (no interpreter start-up per call)."""

from __future__ import annotations

from pathlib import Path

import pytest

from villagegreen.interfaces.cli import main


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str | Path | object) -> tuple[int, str, str]:
    """``villagegreen ARGV`` as a user runs it: (exit code, stdout, stderr)."""
    try:
        main([str(a) for a in argv])
        code = 0
    except SystemExit as stop:
        code = int(stop.code or 0)
    out, err = capsys.readouterr()
    return code, out, err
