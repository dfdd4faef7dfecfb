"""The lightweight list of analysis names matches the registry."""

from villagegreen.analyses.names import ANALYSIS_NAMES
from villagegreen.analyses.runner import ANALYSES


def test_names_match_the_registered_analyses() -> None:
    assert tuple(analysis.name for analysis in ANALYSES) == ANALYSIS_NAMES
