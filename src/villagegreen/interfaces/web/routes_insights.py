"""Routes for the analysis pages beyond the overview: roles, expertise, topics, consent.

Registered by :func:`villagegreen.interfaces.web.routes.register_routes`.
"""

from __future__ import annotations

from fastapi import FastAPI


def register_insight_routes(app: FastAPI) -> None:
    """Add the insight pages (and their ``.json`` twins) to ``app``."""
