"""The light value converter gives typer's own results and messages, for every parameter we have."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
import typer.main
from typer._coercion import build_runtime_param
from typer.core import _TyperParameter

import villagegreen.interfaces.cli as cli_package
from villagegreen.interfaces.cli.app import app
from villagegreen.interfaces.cli.light_params import _UNHANDLED, light_value

SAMPLES: tuple[object, ...] = ("5", "0", "007", "-3", "+4", " 6", "1.5", "abc", "", "x.duckdb", "é", 3, 0, True, None)


def _all_params() -> list[tuple[Any, _TyperParameter]]:
    for info in pkgutil.iter_modules(cli_package.__path__):
        if info.name.startswith("commands_"):
            importlib.import_module(f"villagegreen.interfaces.cli.{info.name}")
    found: list[tuple[Any, _TyperParameter]] = []

    def walk(command: Any) -> None:
        for sub in getattr(command, "commands", {}).values():
            walk(sub)
        found.extend((command, p) for p in command.params if isinstance(p, _TyperParameter))

    walk(typer.main.get_group(app))
    return found


def _outcome(convert: Any, *args: Any, **kwargs: Any) -> tuple[str, object]:
    try:
        return "value", convert(*args, **kwargs)
    except Exception as error:  # typer's BadParameter, pydantic's errors: compared by type and text
        return type(error).__name__, str(error)


def test_every_parameter_converts_as_typer_does(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.duckdb").write_text("")  # an existing file, for paths that must exist
    params = _all_params()
    kinds = {p.type_descriptor.annotation for _, p in params}
    assert {str, int, Path} <= kinds, "the commands no longer cover the light converter's types"
    handled = 0
    for command, param in params:
        context = command.context_class(command)
        descriptor = param.type_descriptor
        reference = build_runtime_param(descriptor)
        for value in (*SAMPLES, param.default):
            if value is None:
                continue
            light = _outcome(light_value, descriptor, value, param, context)
            if light == ("value", _UNHANDLED):
                continue
            handled += 1
            expected = _outcome(reference._coerce_value, value, param=param, ctx=context)
            assert light == expected, f"{command.name} {param.name}={value!r}"
            if light[0] == "value":
                assert type(light[1]) is type(expected[1]), f"{command.name} {param.name}={value!r}"
    assert handled > 50, "the light converter handled almost nothing: the test would prove little"


def _tiny_archive(tmp_path: Path) -> Path:
    archive = tmp_path / "list.mbox"
    archive.write_text(
        "From ann@example.org Mon Jan  1 10:00:00 2024\n"
        "From: Ann <ann@example.org>\nDate: Mon, 1 Jan 2024 10:00:00 +0000\nSubject: hello\nMessage-ID: <a@example.org>\n\nHi all\n"
    )
    return archive


def test_the_import_program_loads_neither_pydantic_nor_pandas(tmp_path: Path) -> None:
    # -X importtime lists every module the program imports, on stderr.
    command = [sys.executable, "-X", "importtime", "-m", "villagegreen", "import", str(_tiny_archive(tmp_path)), "--db", str(tmp_path / "s.duckdb"), "--json"]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    assert '"new": 1' in done.stdout
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert {"duckdb", "pyarrow", "villagegreen.store.ingest"} <= imported, "the listing is not what the test expects"
    # pandas itself is listed (pyarrow asks, and is refused at once); a real import of it
    # would list its subpackages too.
    assert not {name for name in imported if name.startswith("pandas.") or name.split(".")[0] in ("pydantic", "pydantic_core")}


def test_an_import_called_in_process_leaves_pyarrows_pandas_conversions_alone(tmp_path: Path) -> None:
    # Code that goes on after main() (tests, scripts) must see pyarrow treat pandas objects as
    # pandas objects: a missing value is a null, not NaN.
    script = (
        "from villagegreen.interfaces.cli import main\n"
        f"main(['import', {str(_tiny_archive(tmp_path))!r}, '--db', {str(tmp_path / 's.duckdb')!r}, '--json'])\n"
        "import pandas, pyarrow\n"
        "print(pyarrow.array(pandas.Series([1, None])).null_count)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "1"


def test_a_bad_number_still_gets_typers_message(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from tests.cli_support import run_cli

    code, _out, err = run_cli(capsys, "import", tmp_path, "--db", tmp_path / "s.duckdb", "--workers", "0")
    assert code == 2
    assert "Invalid value for '--workers': Input should be greater than or equal to 1" in err
