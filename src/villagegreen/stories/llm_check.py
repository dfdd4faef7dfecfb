"""What the language-model writer is shown, and which of its sentences survive.

The model sees the extractive draft as numbered lines, each starting with the markers of the
messages it cites (``[m1]``, ``[m2]``…, short stand-ins for the store's message ids). Every
sentence it writes must carry at least one marker. A sentence is dropped, with its reason, when:

- it has no marker, or a marker the draft never gave (``unknown citation``);
- the first participant it names (full display name, or a first name that only one
  participant has) wrote none of the messages it cites (``speaker``): "Ben said X [m1]" where
  m1 is Ana's message is a misattribution;
- it names a member who refused ``quoting`` consent (``refused``), by display name or by any
  part of it of three letters or more that is not a common word, in any case.

Limits: a speaker named only by a pronoun ("she replied") or a nickname is not checked; a
sentence may still say something its cited message does not (only who said it is checked).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from villagegreen.stories.model import Citation, Statement, Story
from villagegreen.stories.sentences import content_words

_MARKER = re.compile(r"\[\s*(m\d+(?:\s*[,;]\s*m\d+)*)\s*\]", re.IGNORECASE)
# "...the answer. [m2]" and "...the answer [m2]." both cite m2 for that sentence.
_MARKERS_AFTER_STOP = re.compile(r"([.!?])((?:\s*\[\s*m\d+(?:\s*[,;]\s*m\d+)*\s*\])+)", re.IGNORECASE)
_SPLIT = re.compile(r"(?<=[.!?])\s+|\n+")


@dataclass(frozen=True, slots=True)
class Source:
    """One marker: the draft's citation and the name of who wrote it (None: a member not named)."""

    marker: str
    citation: Citation
    speaker: str | None


@dataclass(frozen=True, slots=True)
class Dropped:
    sentence: str
    reason: str


@dataclass(slots=True)
class Checked:
    kept: list[Statement] = field(default_factory=list)
    dropped: list[Dropped] = field(default_factory=list)


def _shown(story: Story) -> tuple[Statement, ...]:
    """The statements the model sees: the opener's, the narrative, takeaways and open points."""
    return (*story.context[:1], *story.narrative, *story.takeaways, *story.open_points)


def sources(story: Story) -> dict[str, Source]:
    """Markers for every message the shown statements cite, speakers' own messages first.

    A statement with a speaker (or an act: a member's, not named) speaks for the messages it
    cites; a bookkeeping one ("The question has no accepted answer.") only points at messages,
    which get a marker without a speaker if nothing else cites them.
    """
    speaking = [s for s in _shown(story) if s.speaker is not None or s.act is not None]
    others = [s for s in _shown(story) if s.speaker is None and s.act is None]
    out: dict[str, Source] = {}
    seen: set[str] = set()
    for statements, speaks in ((speaking, True), (others, False)):
        for statement in statements:
            for citation in statement.citations:
                if citation.message_id not in seen:
                    seen.add(citation.message_id)
                    marker = f"m{len(out) + 1}"
                    out[marker] = Source(marker, citation, statement.speaker if speaks else None)
    return out


def draft_lines(story: Story, markers: dict[str, Source]) -> list[str]:
    """The shown statements, each led by the markers of its citations."""
    by_message = {s.citation.message_id: marker for marker, s in markers.items()}
    return ["".join(f"[{by_message[c.message_id]}]" for c in s.citations) + f" {s.text}" for s in _shown(story)]


def _names(markers: dict[str, Source]) -> dict[str, str]:
    """Every way a participant is named in prose (full name, unique first name) -> full name."""
    full = {s.speaker for s in markers.values() if s.speaker}
    firsts = Counter(name.split()[0] for name in full if len(name.split()) > 1)
    out = {name: name for name in full}
    for name in full:
        first = name.split()[0]
        if len(name.split()) > 1 and firsts[first] == 1 and len(first) >= 2 and first not in out:
            out[first] = name
    return out


def _pattern(names: list[str], *, flags: int = 0) -> re.Pattern[str] | None:
    if not names:
        return None
    ordered = sorted(names, key=len, reverse=True)
    return re.compile("|".join(rf"(?<!\w){re.escape(n)}(?!\w)" for n in ordered), flags)


def _refused_pattern(refused_names: set[str]) -> re.Pattern[str] | None:
    words = {n for n in refused_names if n.strip()}
    # Name parts that are ordinary words ("The" of "The Doctor") would drop every sentence.
    words |= {part for n in refused_names for part in n.split() if len(part) >= 3 and content_words(part)}
    return _pattern(sorted(words), flags=re.IGNORECASE)


def split_sentences(text: str) -> list[str]:
    text = _MARKERS_AFTER_STOP.sub(lambda m: f"{m.group(2)}{m.group(1)}", text.strip())
    return [s.strip(" -*•\t") for s in _SPLIT.split(text) if s.strip(" -*•\t")]


def check(response: str, markers: dict[str, Source], refused_names: set[str]) -> Checked:
    """The response's sentences split into kept statements (markers turned into citations) and dropped ones."""
    names = _names(markers)
    named = _pattern(list(names))
    refused = _refused_pattern(refused_names)
    out = Checked()
    for sentence in split_sentences(response):
        cited = [m.lower() for group in _MARKER.findall(sentence) for m in re.split(r"\s*[,;]\s*", group)]
        text = re.sub(r"\s+([.,;:!?])", r"\1", _MARKER.sub("", sentence)).strip()
        text = re.sub(r"\s{2,}", " ", text)
        reason = _reason(text, cited, markers, names, named, refused)
        if reason is not None:
            out.dropped.append(Dropped(sentence, reason))
            continue
        speaker = _first_named(text, names, named)
        unique = list(dict.fromkeys(cited))
        out.kept.append(Statement(text, tuple(markers[m].citation for m in unique), speaker))
    return out


def _first_named(text: str, names: dict[str, str], named: re.Pattern[str] | None) -> str | None:
    found = named.search(text) if named is not None else None
    return names[found.group(0)] if found else None


def _reason(text: str, cited: list[str], markers: dict[str, Source], names: dict[str, str],
            named: re.Pattern[str] | None, refused: re.Pattern[str] | None) -> str | None:  # fmt: skip
    if not cited:
        return "no citation"
    unknown = [m for m in cited if m not in markers]
    if unknown:
        return f"unknown citation {', '.join(unknown)}"
    if not text.strip(" .!?"):
        return "no text"
    if refused is not None and (hit := refused.search(text)) is not None:
        return f"names {hit.group(0)!r}, who asked not to be named"
    speaker = _first_named(text, names, named)
    if speaker is not None and speaker not in {markers[m].speaker for m in cited}:
        authors = ", ".join(sorted({markers[m].speaker or "a member" for m in cited}))
        return f"speaker {speaker} did not write the cited message(s) (by {authors})"
    return None
