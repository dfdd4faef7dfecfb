"""``ImportReport``: what one import did, per kind, in a form that prints well and converts to JSON."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class KindCounts:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0

    @property
    def seen(self) -> int:
        return self.new + self.updated + self.unchanged


@dataclass(slots=True)
class ImportReport:
    """Counts per table: rows new, updated (content changed), unchanged; skips with reasons."""

    source_id: str
    source_name: str
    connector: str
    location: str
    counts: dict[str, KindCounts] = field(default_factory=dict)
    skipped: Counter[tuple[str, str]] = field(default_factory=Counter)
    skipped_examples: dict[tuple[str, str], str] = field(default_factory=dict)
    seconds: float = 0.0

    def kind(self, table: str) -> KindCounts:
        if table not in self.counts:
            self.counts[table] = KindCounts()
        return self.counts[table]

    def skip(self, kind: str, reason: str, where: str = "") -> None:
        key = (kind, reason)
        self.skipped[key] += 1
        if where and key not in self.skipped_examples:
            self.skipped_examples[key] = where

    @property
    def messages_seen(self) -> int:
        return self.kind("messages").seen

    @property
    def rate(self) -> float:
        """Messages per second over the whole import (read, map and write)."""
        return self.messages_seen / self.seconds if self.seconds > 0 else 0.0

    @property
    def rows_added(self) -> int:
        return sum(c.new for c in self.counts.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "source_id": self.source_id,
            "source": self.source_name,
            "connector": self.connector,
            "location": self.location,
            "seconds": round(self.seconds, 3),
            "messages_per_second": round(self.rate, 1),
            "counts": {
                table: {"new": c.new, "updated": c.updated, "unchanged": c.unchanged, "duplicates": c.duplicates} for table, c in sorted(self.counts.items())
            },
            "skipped": [
                {"kind": kind, "reason": reason, "count": count, "example": self.skipped_examples.get((kind, reason), "")}
                for (kind, reason), count in sorted(self.skipped.items())
            ],
        }
