"""The registered analyses' names, importable without importing the analyses (ibis, networkx).

The CLI's help text needs them on every call; ``runner.ANALYSES`` must list the same names in
the same order (tests/analyses/test_names.py checks it).
"""

ANALYSIS_NAMES = ("activity", "health", "facilitation", "roles")
