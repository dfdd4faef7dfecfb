"""``villagegreen serve``: the facilitator's dashboard in a browser."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from villagegreen.config import load_config
from villagegreen.errors import ConfigError
from villagegreen.interfaces.cli.app import app
from villagegreen.interfaces.cli.options import ConfigOption, DbOption
from villagegreen.store import DEFAULT_DB_PATH, Store

console = Console(highlight=False)
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


@app.command("serve")
def serve_command(
    db: DbOption = DEFAULT_DB_PATH,
    config: ConfigOption = None,
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on; beyond 127.0.0.1 needs users (`villagegreen users add`) or VILLAGEGREEN_DASHBOARD_TOKEN.")
    ] = DEFAULT_HOST,
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")] = DEFAULT_PORT,
    programme: Annotated[
        Path | None, typer.Option("--programme", help="programme.yaml: the Topics page compares topics with its goals (default: $VILLAGEGREEN_PROGRAMME).")
    ] = None,
) -> None:
    """Open the dashboard over a store (read-only except for merge decisions).

    Example: villagegreen serve --db acme.duckdb --port 8765
    """
    try:
        import uvicorn

        from villagegreen.interfaces.web import create_app
        from villagegreen.interfaces.web.security import check_bind, token_from_environment, users_in_store
    except ImportError as error:
        raise ConfigError(f"the dashboard needs {error.name}, which is missing; reinstall with `pip install -U villagegreen`") from None
    token = token_from_environment()
    settings = load_config(config)
    # Fail now, in one line, if the store is missing, busy or needs a migration; then count its
    # users, since they (or a token) decide whether listening beyond loopback is allowed.
    Store.open(db, read_only=True).close()
    check_bind(host, token, users=users_in_store(db))
    shown = f"[{host}]" if ":" in host else host
    console.print(f"Village Green dashboard on http://{shown}:{port}/ (store {db}); press Ctrl+C to stop", markup=False)
    if token:
        console.print("An access token is required (VILLAGEGREEN_DASHBOARD_TOKEN).")
    # Keep idle connections for 30 s (uvicorn's default is 5): a browser or client that waited on a
    # page being built for the first time would otherwise find its pooled connection closed.
    uvicorn.run(
        create_app(db, settings, token=token, programme=programme), host=host, port=port, log_level="warning", server_header=False, timeout_keep_alive=30
    )
