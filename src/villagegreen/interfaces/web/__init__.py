"""The facilitator's dashboard: server-rendered pages with ``.json`` twins (docs/dashboard.md).

FastAPI, uvicorn and jinja2 are imported only here, so the rest of Village Green works
without them; ``villagegreen serve`` says how to install them when they are missing.
"""

from villagegreen.interfaces.web.app import create_app

__all__ = ["create_app"]
