"""Routes for the editor's desk (stories: draft, edit, versions, approve) and memory search.

Registered by :func:`villagegreen.interfaces.web.routes.register_routes`.
"""

from __future__ import annotations

from fastapi import FastAPI


def register_editorial_routes(app: FastAPI) -> None:
    """Add the editorial and search pages (and their ``.json`` twins) to ``app``."""
