"""The ``villagegreen`` command line: thin commands over the library."""

from villagegreen.interfaces.cli.app import app, main

__all__ = ["app", "main"]
