"""Analyses measure the store: each reads canonical tables and writes results keyed by (analysis, version, window)."""
