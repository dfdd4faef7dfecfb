"""The member-facing privacy notice: ``villagegreen privacy`` and the dashboard's privacy page.

Generated, not written by hand, from the analyses that are actually registered, so it cannot
fall behind the code: each analysis' title, summary, metrics (with their plain explanations)
and limits, and whether it computes figures about individual people. The store layer cannot
import the analyses (data flows one way), so callers pass them in
(``privacy_notice(villagegreen.analyses.runner.ANALYSES)``); anything with ``name``,
``title``, ``summary``, ``metrics`` and ``limits`` will do.

An analysis is person-level when it says so (a ``person_level`` class attribute) or when its
module's ``SCOPES`` include ``person``; when neither tells, the notice says it *may* compute
per-person figures, erring on the side of telling members more.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from villagegreen.store.consent import PURPOSES

STORED = (
    "Messages: their text, when they were sent, where (channel, list, forum) and what they reply to.",
    "Reactions (likes, votes, emoji) and who gave them where the platform says so.",
    "Accounts: the display name, handle and email address the platform shows, and whether the account is a bot.",
    "People: accounts that a facilitator has confirmed belong to the same person on several platforms.",
    "A verbatim copy of what each platform exported, so that the import can be repeated without fetching again.",
    "Results of the analyses listed below, and the facilitators' audit log (merges, consent changes, erasures, publications).",
    "For routing questions to people who can answer them: whether you said you are away or how many open questions you take, "
    "and a log of who was suggested for which question, when and by whom (nobody is suggested after refusing 'routing').",
    "Stories the facilitators drafted, every version of them with who edited it, and where each was published.",
)
NEVER = (
    "No inference of gender, age, ethnicity, religion, health, sexuality, nationality or any other demographic trait, anywhere.",
    "Private channels, direct messages and group DMs are not imported unless the facilitator includes them on purpose.",
)


@dataclass(frozen=True, slots=True)
class AnalysisNotice:
    name: str
    title: str
    summary: str
    person_level: bool | None
    metrics: list[tuple[str, str]] = field(default_factory=list)
    limits: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "title": self.title, "summary": self.summary, "person_level": self.person_level,
            "metrics": [{"name": n, "explanation": e} for n, e in self.metrics], "limits": self.limits,
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class PrivacyNotice:
    analyses: list[AnalysisNotice]
    stored: tuple[str, ...] = STORED
    never: tuple[str, ...] = NEVER
    purposes: dict[str, str] = field(default_factory=lambda: dict(PURPOSES))

    def to_dict(self) -> dict[str, Any]:
        return {
            "stored": list(self.stored), "never": list(self.never), "analyses": [a.to_dict() for a in self.analyses],
            "consent_purposes": self.purposes, "opt_out": OPT_OUT, "erasure": ERASURE, "exports": EXPORTS,
        }  # fmt: skip

    def to_markdown(self) -> str:
        lines = ["# What Village Green keeps and computes about members", "", INTRO, "", "## What is stored", ""]
        lines += [f"- {item}" for item in self.stored]
        lines += ["", "## What is never done", ""] + [f"- {item}" for item in self.never]
        lines += ["", "## What is computed, and why", ""]
        for a in self.analyses:
            level = _LEVEL_WORDS[a.person_level]
            lines += [f"### {a.title}", "", f"{a.summary} ({level}.)", ""]
            lines += [f"- **{name.replace('_', ' ')}**: {explanation}" for name, explanation in a.metrics]
            if a.limits:
                lines += ["", "Known limits:", ""] + [f"- {limit}" for limit in a.limits]
            lines.append("")
        lines += ["## Your choices (consent)", "", CONSENT_INTRO, ""]
        lines += [f"- **{purpose}**: {meaning}" for purpose, meaning in self.purposes.items()]
        lines += ["", "## How to opt out", "", OPT_OUT, "", "## Being forgotten", "", ERASURE, "", "## Exports", "", EXPORTS, ""]
        return "\n".join(lines)


INTRO = (
    "Village Green helps the facilitators of this community see whether conversations are alive, "
    "whether questions get answered and whether everyone gets a say. This page says, in plain words, "
    "what it keeps about members and what it computes. It is generated from the analyses that are installed, "
    "so it changes when they do."
)
CONSENT_INTRO = (
    "Each choice applies to you as a person, on every platform at once (all your accounts that facilitators have linked). "
    "If you have not said anything, figures about you are shown only inside groups of several people, never alone."
)
OPT_OUT = (
    "Ask a facilitator. They record your choice with `villagegreen people consent YOU --purpose analysis --refuse` "
    "(or quoting, routing, records), and it applies at once everywhere. Every change is written to an audit log with who made it and when. "
    "You can change your mind the same way (`--grant`)."
)
ERASURE = (
    "Ask a facilitator to run `villagegreen people forget YOU`. It removes your accounts, your messages, reactions, "
    "raw platform copies and analysis results, and replaces your name, handle and email wherever others mentioned them. "
    "Messages that others replied to stay as empty placeholders without an author, so their replies still make sense. "
    "Your accounts are remembered only as a one-way fingerprint, so that a later import does not bring you back. "
    "Words of yours that others quoted inside their own messages are not removed."
)
EXPORTS = (
    "Facilitators can export the data in open formats. A pseudonymised export (`--pseudonymise`) replaces every person "
    "with a code that stays the same between exports made with the same secret, and removes names, handles and email addresses."
)


_LEVEL_WORDS: dict[bool | None, str] = {
    True: "figures about individual people",
    False: "figures about spaces and the whole community only",
    None: "may include figures about individual people",
}


def is_person_level(analysis: Any) -> bool | None:
    declared = getattr(analysis, "person_level", None)
    if isinstance(declared, bool):
        return declared
    scopes = getattr(sys.modules.get(getattr(analysis, "__module__", ""), None), "SCOPES", None)
    if isinstance(scopes, (tuple, list)):
        kinds = {scope[0] if isinstance(scope, (tuple, list)) else scope for scope in scopes}
        return "person" in kinds
    return None


def privacy_notice(analyses: Sequence[Any]) -> PrivacyNotice:
    """The notice for these analyses (pass ``villagegreen.analyses.runner.ANALYSES``)."""
    notices = [
        AnalysisNotice(
            name=a.name,
            title=a.title,
            summary=a.summary,
            person_level=is_person_level(a),
            metrics=[(m.name, m.explanation) for m in a.metrics],
            limits=list(a.limits),
        )
        for a in analyses
    ]
    return PrivacyNotice(analyses=notices)
