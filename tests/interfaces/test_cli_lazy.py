"""Lazy start-up: ``--help`` from the command index, a command's modules imported only to run it."""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import subprocess
import sys

import typer

import villagegreen.interfaces.cli as cli_package
from villagegreen.interfaces.cli.app import app
from villagegreen.interfaces.cli.command_index import BY_NAME, COMMANDS

HEAVY = ("pandas", "pyarrow", "numpy", "ibis", "duckdb", "villagegreen.store", "villagegreen.analyses")


def _first_paragraph(text: str | None) -> str:
    return inspect.cleandoc(text or "").split("\n\n")[0]


def _run_in_fresh_process(argv: list[str]) -> dict[str, object]:
    # A fresh interpreter: this test process has imported every command module long ago.
    script = (
        "import json, sys\n"
        "from villagegreen.interfaces.cli import main\n"
        "try:\n"
        f"    main({argv!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, env={"COLUMNS": "200", "PATH": ""})
    *output, modules = done.stdout.strip().splitlines()
    return {"output": "\n".join(output), "modules": json.loads(modules)}


def test_the_index_names_each_commands_modules_and_help_exactly() -> None:
    # Checked against the modules themselves (not against a copy of the table): every
    # commands_* module imported, then each registered command's defining module and help.
    for info in pkgutil.iter_modules(cli_package.__path__):
        if info.name.startswith("commands_"):
            importlib.import_module(f"villagegreen.interfaces.cli.{info.name}")
    registered: dict[str, tuple[set[str], str]] = {}
    for command in app.registered_commands:
        assert command.callback is not None
        name = command.name or typer.main.get_command_name(command.callback.__name__)
        registered[name] = ({command.callback.__module__}, _first_paragraph(command.help or inspect.getdoc(command.callback)))
    for group in app.registered_groups:
        sub = group.typer_instance
        assert sub is not None and group.name
        modules = {c.callback.__module__ for c in sub.registered_commands if c.callback is not None}
        registered[group.name] = (modules, _first_paragraph(str(sub.info.help)))
    assert set(registered) == set(BY_NAME), "command_index.COMMANDS is out of date"
    for name, (modules, help_text) in registered.items():
        entry = BY_NAME[name]
        assert modules <= {f"villagegreen.interfaces.cli.{m}" for m in entry.modules}, name
        assert entry.help == help_text, name
    assert len(COMMANDS) == len(BY_NAME)


def test_help_lists_every_command_without_importing_any_command_module() -> None:
    ran = _run_in_fresh_process(["--help"])
    output, modules = str(ran["output"]), list(ran["modules"])  # type: ignore[call-overload]
    for entry in COMMANDS:
        assert f"│ {entry.name} " in output, entry.name
        assert entry.help.split("\n")[0][:40] in output, entry.name
    assert not [m for m in modules if m.startswith("villagegreen.interfaces.cli.commands_")]
    assert not [m for m in modules if m.startswith(HEAVY)]


def test_a_command_imports_only_the_modules_it_needs() -> None:
    ran = _run_in_fresh_process(["platforms"])
    assert "mail (v" in str(ran["output"])
    modules = set(ran["modules"])  # type: ignore[call-overload]
    assert "villagegreen.interfaces.cli.commands_import" in modules
    assert "villagegreen.interfaces.cli.commands_analyze" not in modules
    assert "pandas" not in modules


def test_a_group_loads_every_module_that_adds_to_it() -> None:
    ran = _run_in_fresh_process(["people", "--help"])
    output = str(ran["output"])
    # Subcommands defined in four different modules all appear.
    for subcommand in ("suggestions", "activity", "consent", "record", "roles"):
        assert f"│ {subcommand} " in output, subcommand
