"""Tone arcs: do complaint threads turn into proposals?

Per conversation with at least :data:`MIN_MESSAGES` member messages, each message gets VADER's
compound sentiment (-1..1; vaderSentiment ships its lexicon, nothing is downloaded). A
conversation is a **complaint** when its opening message scores at most
:data:`COMPLAINT_COMPOUND` or uses a complaint word ("useless", "broken", "frustrating"...).
A complaint thread **turned constructive** when a later message makes a proposal ("we could",
"what if", "how about", "I suggest", "let's"...) and the mean sentiment of the second half of the
replies rose by at least :data:`LIFT` above the opening and is positive (at least
:data:`POSITIVE`). Otherwise it is ``proposals, still
negative`` (proposals made, mood did not lift), ``mood lifted, no proposal`` (often a question
answered) or ``stayed negative`` (neither).

English cue words and a lexicon: a first reading that points a facilitator to threads worth
reading, with the opening and the first proposal quoted; not a judgement of people.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from villagegreen.analyses.programme_mapping import quote
from villagegreen.analyses.topics_corpus import Corpus

MIN_MESSAGES = 3
OUTCOMES = ("turned constructive", "proposals, still negative", "mood lifted, no proposal", "stayed negative")
COMPLAINT_COMPOUND = -0.3
STRONGLY_NEGATIVE = -0.6
LIFT = 0.3
# VADER's own cut-off for a positive text (Hutto and Gilbert 2014).
POSITIVE = 0.05
_COMPLAINT = re.compile(
    r"\b(useless|broken|frustrat\w*|annoying|terrible|awful|waste of time|doesn'?t work|does not work|fed up|sick of|hate|pointless|nightmare)\b",
    re.IGNORECASE,
)
_PROPOSAL = re.compile(
    r"\b(we could|we should|could we|what if|how about|why don'?t we|i suggest|i propose|let'?s|maybe we|one option|an idea|my suggestion|"
    r"would it help|we might|you could|you might want|i'?d suggest|i would suggest|have you tried)\b",
    re.IGNORECASE,
)


def is_proposal(text: str) -> bool:
    return bool(_PROPOSAL.search(text))


def is_complaint(text: str, compound: float) -> bool:
    """Negative *and* complaining, or strongly negative: technical words ("error", "limit") make
    questions mildly negative without any complaint in them."""
    return compound <= STRONGLY_NEGATIVE or (compound <= COMPLAINT_COMPOUND and bool(_COMPLAINT.search(text)))


def proposal_sentence(text: str) -> str:
    """The sentence holding the first proposal cue, so the quote shows the proposal itself."""
    match = _PROPOSAL.search(text)
    if match is None:
        return ""
    start = max(text.rfind(mark, 0, match.start()) for mark in (". ", "? ", "! ", "\n")) + 1
    return quote(text[start:].lstrip())


@dataclass(slots=True)
class ToneArc:
    conversation_id: str
    title: str
    outcome: str  # one of OUTCOMES
    arc: list[float]
    opening: str
    proposal: str

    def to_dict(self) -> dict[str, Any]:
        return {"conversation_id": self.conversation_id, "title": self.title, "outcome": self.outcome,
                "arc": [round(v, 3) for v in self.arc], "opening": self.opening, "first_proposal": self.proposal}  # fmt: skip


@dataclass(slots=True)
class ToneReport:
    window: str
    conversations: int
    complaints: list[ToneArc] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for arc in self.complaints if arc.outcome == outcome)

    def to_dict(self) -> dict[str, Any]:
        outcomes = OUTCOMES
        return {"window": self.window, "conversations_read": self.conversations, "complaint_threads": len(self.complaints),
                "outcomes": {o: self.count(o) for o in outcomes}, "threads": [a.to_dict() for a in self.complaints]}  # fmt: skip


def classify(texts: list[str], compounds: list[float]) -> str | None:
    """The outcome of one conversation (texts in order), or None when it is not a complaint thread."""
    if len(texts) < MIN_MESSAGES or not is_complaint(texts[0], compounds[0]):
        return None
    replies = compounds[1:]
    later = replies[len(replies) // 2 :]
    mood = sum(later) / len(later)
    # Both: from very negative, plain neutral replies would already be a large rise.
    lifted = mood - compounds[0] >= LIFT and mood >= POSITIVE
    proposed = any(is_proposal(text) for text in texts[1:])
    if proposed:
        return "turned constructive" if lifted else "proposals, still negative"
    return "mood lifted, no proposal" if lifted else "stayed negative"


def tone_arcs(corpus: Corpus, window_key: str) -> ToneReport:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    report = ToneReport(window_key, len(corpus))
    for row, messages in enumerate(corpus.messages):
        if len(messages) < MIN_MESSAGES:
            continue
        # The opening decides whether the thread is read at all: most are not complaints.
        opening = analyzer.polarity_scores(messages[0].text)["compound"]
        if not is_complaint(messages[0].text, opening):
            continue
        texts = [m.text for m in messages]
        compounds = [opening] + [analyzer.polarity_scores(text)["compound"] for text in texts[1:]]
        outcome = classify(texts, compounds)
        if outcome is None:
            continue
        first_proposal = next((proposal_sentence(text) for text in texts[1:] if is_proposal(text)), "")
        report.complaints.append(ToneArc(corpus.ids[row], corpus.titles[row], outcome, compounds, quote(texts[0]), first_proposal))
    return report
