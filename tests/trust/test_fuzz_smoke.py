"""The reader fuzz target, briefly: its seeds replay cleanly, and atheris runs it for seconds.

The real fuzzing is ``python fuzz/fuzz_readers.py -max_total_time=600`` (see fuzz/README.md);
this only keeps the target working so that it is ready when someone runs it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.conftest import REPO_ROOT

TARGET = REPO_ROOT / "fuzz" / "fuzz_readers.py"


def test_seeds_replay_without_a_crash() -> None:
    done = subprocess.run([sys.executable, str(TARGET), "--replay"], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "replayed" in done.stdout


@pytest.mark.slow
def test_atheris_runs_the_target_for_a_few_seconds(tmp_path: Path) -> None:
    pytest.importorskip("atheris", reason="atheris is not installed (pip install atheris)")
    done = subprocess.run(
        # A fixed seed, a fixed number of runs and a corpus started afresh from the seeds (TMPDIR:
        # the shared corpus of earlier hunts would otherwise change what runs): the same inputs on
        # every machine, so CI is not at the mercy of a random walk (longer hunts: fuzz/README.md).
        [sys.executable, str(TARGET), "-runs=3000", "-seed=1", "-print_final_stats=1"],
        env={**os.environ, "TMPDIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=180,
        cwd=tmp_path,  # where libFuzzer writes any crash-* file
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Done" in done.stderr and not list(tmp_path.glob("crash-*"))
