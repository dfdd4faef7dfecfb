"""Interfaces: the CLI, the web dashboard and publishers. Thin layers over the library."""
