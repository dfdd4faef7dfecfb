"""What every analysis is: a name, a version, the tables it reads, documented metrics, and
ibis expressions that compute them.

An analysis never talks to DuckDB directly. It receives :class:`Inputs` (ibis tables plus the
window and the facilitators) and returns an ibis table of result rows in the long layout
:data:`RESULT_COLUMNS`, so the same code runs on DuckDB today and on Spark (ibis' pyspark
backend) later. The runner materialises those rows into ``analysis_results``, keyed by
(analysis, version, grain, window), and every reader (CLI, dashboard, stories) reads them back.

Some steps cannot be a relational expression (network measures, robust baselines for alerts):
an analysis does them in ``findings``, in Python, on already-aggregated rows that are small.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Literal

if TYPE_CHECKING:
    import ibis.expr.types as ir

Grain = Literal["week", "month", "all"]
GRAINS: tuple[Grain, ...] = ("week", "month", "all")
Direction = Literal["higher", "lower", "band", "context"]

# The long layout every analysis returns: one number per (period, scope, metric).
# period_start is NULL for rows that cover the whole window.
RESULT_COLUMNS = ("period_start", "scope_kind", "scope_id", "metric", "value")


@dataclass(frozen=True, slots=True)
class Metric:
    """One documented number: how it is computed and which way is good."""

    name: str
    unit: str
    formula: str
    good: Direction
    explanation: str
    # For "band" metrics: the healthy interval, and where it comes from.
    band: tuple[float, float] | None = None
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "unit": self.unit,
            "formula": self.formula,
            "good": self.good,
            "explanation": self.explanation,
            "band": list(self.band) if self.band else None,
            "source": self.source,
        }


@dataclass(frozen=True, slots=True)
class Window:
    """The grain of periods and the date range analysed (either end open)."""

    grain: Grain = "month"
    since: datetime | None = None
    until: datetime | None = None

    @property
    def key(self) -> str:
        """Identifies the window in ``analysis_runs``: a re-run with the same key replaces it."""
        since = self.since.date().isoformat() if self.since else ""
        until = self.until.date().isoformat() if self.until else ""
        return f"{self.grain}:{since}..{until}"


@dataclass(frozen=True, slots=True)
class Finding:
    """Something a facilitator should look at, with the evidence behind it."""

    kind: str  # alert, unanswered_question, lecture, hint, ...
    scope_kind: str
    scope_id: str
    severity: Literal["info", "attention", "warning"]
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Shared:
    """Intermediate tables (member messages, conversation facts) computed once per run.

    With ``materialise`` off (the default, and what tests and the Spark parity check use) every
    request rebuilds the expression, so each query is self-contained. The runner turns it on for
    DuckDB: the first request stores the table as a temporary table (ibis ``cache``) and later
    analyses and grains read that, instead of re-splitting a million texts into words each time.
    Keys must name everything the table depends on (see inputs.shared_key).
    """

    materialise: bool = False
    tables: dict[str, ir.Table] = field(default_factory=dict)

    def get(self, key: str, build: Callable[[], ir.Table]) -> ir.Table:
        if not self.materialise:
            return build()
        if key not in self.tables:
            self.tables[key] = build().cache()
        return self.tables[key]

    def release(self) -> None:
        """Drops the temporary tables (they would otherwise live until garbage collection)."""
        from ibis.expr.types import CachedTable

        for table in self.tables.values():
            if isinstance(table, CachedTable):
                table.release()
        self.tables.clear()


@dataclass(frozen=True, slots=True)
class Inputs:
    """What an analysis reads: ibis tables over the canonical model, already windowed."""

    tables: dict[str, ir.Table]
    window: Window
    # person ids of the declared facilitators (see villagegreen.config); may be empty.
    facilitators: frozenset[str]
    include_private: bool = False
    # Intermediates shared by the analyses and grains of one run (see Shared).
    shared: Shared = field(default_factory=Shared)


class Analysis(ABC):
    """One measurement of the community; see docs/analyses/<name>.md for the long form."""

    name: ClassVar[str]
    version: ClassVar[str]
    title: ClassVar[str]
    summary: ClassVar[str]
    needs: ClassVar[tuple[str, ...]]
    default_grain: ClassVar[Grain]
    metrics: ClassVar[tuple[Metric, ...]]
    limits: ClassVar[tuple[str, ...]]

    @abstractmethod
    def compute(self, inputs: Inputs) -> ir.Table:
        """Result rows in the layout of :data:`RESULT_COLUMNS`."""

    def python_rows(self, inputs: Inputs) -> list[dict[str, Any]]:
        """Result rows that need Python (network measures), computed from small aggregates."""
        return []

    def findings(self, inputs: Inputs, rows: list[dict[str, Any]]) -> list[Finding]:
        """Things to look at, derived from the computed rows (and, if needed, the inputs)."""
        return []

    @classmethod
    def metric(cls, name: str) -> Metric:
        for metric in cls.metrics:
            if metric.name == name:
                return metric
        raise KeyError(f"{cls.name} has no metric {name!r}")
