"""Command-line values converted without pydantic where typer's own rules are simple.

Typer 0.29 converts every non-flag value with a pydantic ``TypeAdapter``; the first one
imports pydantic, scans the installed packages for pydantic plugins and builds a validator:
about 0.5 CPU-s, a third of the start-up of ``villagegreen import``. Most of our values are
plain strings, paths and whole numbers, whose conversion typer defines without pydantic
(paths: typer's own ``coerce_cli_path``) or pydantic does trivially (a string of digits to an
int inside its range). Those are converted here; anything else (an error, a float, a choice,
a custom parser) goes to typer's own converter, built only then, so messages and results
stay typer's (tested value by value against it in tests/interfaces/test_cli_light_params.py).

Typer's converter interface is internal: with a typer that lacks it, nothing is changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

try:
    from typer._coercion import RuntimeParam, TypeDescriptor, build_runtime_param
    from typer._param_types import coerce_cli_path
    from typer.core import _TyperParameter
except ImportError:  # pragma: no cover - other typer versions: keep typer's conversion
    RuntimeParam = None  # type: ignore[assignment,misc]

_UNHANDLED = object()


def install() -> None:
    """Make every typer parameter of this process build the light converter (idempotent).

    Typer builds a parameter's converter on first use, even for a value it then ignores (the
    ``--help`` flag's None), so the hook sits where typer builds it rather than on our commands.
    """
    if RuntimeParam is None or getattr(_TyperParameter.get_runtime_param, "light", False):
        return

    def get_runtime_param(self: _TyperParameter) -> RuntimeParam:
        if self._runtime_param is None:
            descriptor = self.type_descriptor
            self._runtime_param = LightRuntimeParam(annotation=descriptor.annotation, parameter_info=descriptor.parameter_info, descriptor=descriptor)
        return self._runtime_param

    get_runtime_param.light = True  # type: ignore[attr-defined]
    _TyperParameter.get_runtime_param = get_runtime_param  # type: ignore[method-assign]


if RuntimeParam is not None:

    @dataclass(frozen=True)
    class LightRuntimeParam(RuntimeParam):
        """Converts simple values itself and hands the rest to typer's converter."""

        descriptor: TypeDescriptor
        _typer: list[RuntimeParam] = field(default_factory=list, compare=False)

        def _coerce_value(self, value: Any, param: _TyperParameter, ctx: Any) -> Any:
            converted = light_value(self.descriptor, value, param, ctx)
            if converted is not _UNHANDLED:
                return converted
            if not self._typer:
                self._typer.append(build_runtime_param(self.descriptor))
            return self._typer[0]._coerce_value(value, param=param, ctx=ctx)


def light_value(descriptor: Any, value: Any, param: Any = None, ctx: Any = None) -> Any:
    """``value`` converted as typer would, or ``_UNHANDLED`` when that needs typer's converter."""
    info = descriptor.parameter_info
    annotation = descriptor.annotation
    if descriptor.file_annotation is not None or info.parser is not None or getattr(info, "click_type", None) is not None:
        return _UNHANDLED
    if annotation is str:
        return value if isinstance(value, str) else _UNHANDLED
    if annotation is int:
        number = _whole_number(value)
        if number is None or (info.min is not None and number < info.min) or (info.max is not None and number > info.max):
            return _UNHANDLED  # typer clamps or explains; both are its business
        return number
    if annotation is Path and info.path_type in (None, Path) and isinstance(value, str | Path) and value != "":
        # The very function typer's path converter calls (existence checks and messages
        # included), handed a Path as pydantic's Path validator would make from a string.
        return coerce_cli_path(Path(value), info, path_type=Path, param=param, ctx=ctx)
    return _UNHANDLED


def _whole_number(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return None
