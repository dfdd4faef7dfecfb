"""A store table's content, for tests that compare two imports of the same input row by row."""

from __future__ import annotations

from villagegreen.store import Store


def table_rows(store: Store, table: str) -> list[tuple[object, ...]]:
    """Every row of ``table`` in a stable order, without the columns that record when it was written."""
    # fetched_at and created_at are the time of each import, not content.
    columns = [
        name
        for (name,) in store.con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position", [table]
        ).fetchall()
        if name not in ("fetched_at", "created_at")
    ]
    selected = ", ".join(f'"{name}"' for name in columns)
    return store.con.execute(f"SELECT {selected} FROM {table} ORDER BY ALL").fetchall()
