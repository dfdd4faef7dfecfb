"""``villagegreen users add|list|remove``: who may sign in to the dashboard, and with which role.

Passwords come from a hidden prompt (typed twice) or, for scripts, the environment variable
``VILLAGEGREEN_NEW_PASSWORD``; never from an option, which would land in the shell history and
the process list. Only a scrypt hash is stored (interfaces/web/accounts.py).
"""

from __future__ import annotations

import json
import os
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from villagegreen.errors import InputError
from villagegreen.interfaces.cli.app import app
from villagegreen.interfaces.cli.options import DbOption, JsonOption
from villagegreen.store import DEFAULT_DB_PATH, Store
from villagegreen.store.audit import default_actor

# The accounts module is imported inside each command: `villagegreen.interfaces.web` loads FastAPI.
PASSWORD_ENV = "VILLAGEGREEN_NEW_PASSWORD"  # noqa: S105 - the variable's name (accounts.PASSWORD_ENV)
console = Console(highlight=False, soft_wrap=True)
users_app = typer.Typer(
    name="users",
    help="Dashboard accounts (needed to serve beyond 127.0.0.1).\n\nExample: villagegreen users add maria --role facilitator --db acme.duckdb",
    no_args_is_help=True,
)
app.add_typer(users_app, name="users")


def _new_password() -> str:
    from villagegreen.interfaces.web.accounts import check_password

    from_env = os.environ.get(PASSWORD_ENV)
    if from_env is not None:
        return check_password(from_env)
    first = typer.prompt("Password", hide_input=True)
    if typer.prompt("Password again", hide_input=True) != first:
        raise InputError("the two passwords differ; run the command again")
    return check_password(first)


@users_app.command("add")
def add_command(
    name: Annotated[str, typer.Argument(help="User name: letters, digits, dots, dashes or underscores.")],
    role: Annotated[str, typer.Option("--role", help="facilitator (may change things) or viewer (may only read).")] = "viewer",
    db: DbOption = DEFAULT_DB_PATH,
    as_json: JsonOption = False,
) -> None:
    """Add a dashboard user; the password is prompted for (or read from VILLAGEGREEN_NEW_PASSWORD).

    Example: VILLAGEGREEN_NEW_PASSWORD='long passphrase' villagegreen users add maria --role facilitator --db acme.duckdb
    """
    if role not in ("facilitator", "viewer"):
        raise InputError(f"--role {role!r}: choose facilitator or viewer")
    from villagegreen.interfaces.web.accounts import add_user

    password = _new_password()
    with Store.open(db) as store:
        user = add_user(store, name, role, password, actor=default_actor())
    if as_json:
        print(json.dumps(user.to_dict(), indent=2))
    else:
        console.print(f"added {user.username} ({user.role}); they sign in at /login", markup=False)


@users_app.command("list")
def list_command(db: DbOption = DEFAULT_DB_PATH, as_json: JsonOption = False) -> None:
    """List dashboard users and their roles (never passwords).

    Example: villagegreen users list --db acme.duckdb
    """
    from villagegreen.interfaces.web.accounts import list_users

    with Store.open(db, read_only=True) as store:
        users = list_users(store)
    if as_json:
        print(json.dumps([u.to_dict() for u in users], indent=2))
        return
    table = Table("user", "role", "added", "by")
    for u in users:
        table.add_row(escape(u.username), u.role, f"{u.created_at:%Y-%m-%d %H:%M}", escape(u.created_by))
    console.print(table)
    console.print(f"{len(users)} user(s)", markup=False)


@users_app.command("remove")
def remove_command(
    name: Annotated[str, typer.Argument(help="The user to remove; their sessions end at once.")],
    db: DbOption = DEFAULT_DB_PATH,
    as_json: JsonOption = False,
) -> None:
    """Remove a dashboard user and end their sessions.

    Example: villagegreen users remove maria --db acme.duckdb
    """
    from villagegreen.interfaces.web.accounts import remove_user

    with Store.open(db) as store:
        ended = remove_user(store, name)
    if as_json:
        print(json.dumps({"removed": name, "sessions_ended": ended}))
    else:
        console.print(f"removed {name}; {ended} session(s) ended", markup=False)
