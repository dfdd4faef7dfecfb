"""A small synthetic community written straight into a store: the setup of randomised analysis tests."""

from __future__ import annotations

from datetime import datetime

import duckdb


def plant_garden(con: duckdb.DuckDBPyConnection, people: int, at: datetime) -> None:
    """Source ``s`` ("garden"), public channels ``a`` and ``b``, and people ``p0..`` with one identity ``i0..`` each."""
    con.execute("INSERT INTO sources (id, connector, name, first_imported_at, last_imported_at) VALUES ('s', 'synthetic', 'garden', ?, ?)", [at, at])
    for space in ("a", "b"):
        con.execute("INSERT INTO spaces (id, source_id, native_id, name, kind, private) VALUES (?, 's', ?, ?, 'channel', false)", [space, space, space])
    for person in range(people):
        con.execute("INSERT INTO people VALUES (?, ?, ?)", [f"p{person}", f"P{person}", at])
        con.execute(
            "INSERT INTO identities (id, source_id, native_id, display_name, is_bot, person_id) VALUES (?, 's', ?, ?, false, ?)",
            [f"i{person}", f"u{person}", f"P{person}", f"p{person}"],
        )
