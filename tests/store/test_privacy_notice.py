"""The member-facing privacy notice, and the guard against demographic inference."""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

from villagegreen.analyses.runner import ANALYSES
from villagegreen.store.consent import PURPOSES
from villagegreen.store.privacy import is_person_level, privacy_notice

SRC = Path(__file__).resolve().parents[2] / "src" / "villagegreen"
# Attribute names that would mean inferring who someone is rather than what they did.
DEMOGRAPHIC = re.compile(
    r"^(?:\w+_)?(?:gender|sex|age|age_group|birth\w*|ethnicity|ethnic|race|religion|nationality|sexuality|sexual_orientation|disability)(?:_\w+)?$",
    re.IGNORECASE,
)


def test_the_notice_covers_every_registered_analysis_metric_and_purpose() -> None:
    notice = privacy_notice(ANALYSES)
    page = notice.to_markdown()
    assert [a.name for a in notice.analyses] == [a.name for a in ANALYSES]
    for analysis in ANALYSES:
        assert f"### {analysis.title}" in page and analysis.summary in page
        for metric in analysis.metrics:
            assert metric.explanation in page
        for limit in analysis.limits:
            assert limit in page
    for purpose, meaning in PURPOSES.items():
        assert f"**{purpose}**: {meaning}" in page
    assert "people forget" in page and "--refuse" in page and "gender" in page


def test_person_level_analyses_are_named_as_such() -> None:
    levels = {a.name: is_person_level(a) for a in ANALYSES}
    assert levels["activity"] is True  # it writes per-person rows (people activity)
    assert levels["health"] is False

    class Declared:
        person_level = True

    assert is_person_level(Declared) is True


def test_no_analysis_infers_demographics() -> None:
    for analysis in ANALYSES:
        for metric in analysis.metrics:
            assert not DEMOGRAPHIC.match(metric.name), f"{analysis.name}.{metric.name}"
    # Guard on the code too: no identifier or string literal names a demographic attribute
    # anywhere in what measures or narrates people.
    offenders = []
    for folder in ("analyses", "stories", "models"):
        for path in sorted((SRC / folder).rglob("*.py")):
            for token in tokenize.generate_tokens(io.StringIO(path.read_text(encoding="utf-8")).readline):
                if token.type == tokenize.NAME:
                    word = token.string
                elif token.type == tokenize.STRING:
                    word = token.string.strip("\"'rbfRBF")
                else:
                    continue
                if DEMOGRAPHIC.match(word):
                    offenders.append(f"{path.relative_to(SRC)}:{token.start[0]}: {word}")
    assert offenders == []
