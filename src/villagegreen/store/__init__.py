"""The store: one DuckDB file with a verbatim raw layer and a small canonical model."""

from villagegreen.store.database import DEFAULT_DB_PATH, Store

__all__ = ["DEFAULT_DB_PATH", "Store"]
