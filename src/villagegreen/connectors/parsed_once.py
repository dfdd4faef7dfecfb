"""Parse an input once for both ``source_key`` and ``read``.

Formats whose source key depends on the whole input (Matrix: the room or server most events
name; Teams: the team of the first channel message) must parse every file before the import
knows where the records go, and then again to read them. :class:`ParsedOnce` keeps the one
parse, keyed by the input's location, until ``read`` takes it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from villagegreen.connectors.tree import SourceTree

Parsed = TypeVar("Parsed")


class ParsedOnce(Generic[Parsed]):
    def __init__(self, parse: Callable[[SourceTree], Parsed]) -> None:
        self._parse = parse
        self._kept: tuple[str, Parsed] | None = None

    def get(self, tree: SourceTree) -> Parsed:
        """The parse of ``tree``, kept for the next call with the same input."""
        if self._kept is not None and self._kept[0] == tree.location:
            return self._kept[1]
        parsed = self._parse(tree)
        self._kept = (tree.location, parsed)
        return parsed

    def take(self, tree: SourceTree) -> Parsed:
        """The parse of ``tree``, forgotten here so that reading can free it as it goes."""
        parsed = self.get(tree)
        self._kept = None
        return parsed
