"""Who could answer this? Ranking people for a question by the answers they gave before.

Evidence is every past *answer* (dialogue act ``answer`` in ``message_acts``, written by
someone other than the asker), as one document: the question's title and text plus the answer.
For a new question, each answer document gets its TF-IDF cosine similarity to the question,
times a validation weight and a recency decay:

    weight = 1 + ACCEPTED_BONUS x accepted + THANKED_BONUS x thanked + log(1 + approving reactions)
    decay = 0.5 ^ (age in days / HALF_LIFE_DAYS)

and a person's score is the sum of their ``TOP_DOCUMENTS`` best answer scores (several good
matches beat one lucky one, without rewarding sheer volume). Every suggestion carries those
answers as its reasons.

Only people who answered before can be suggested (a newcomer has no evidence): the limit of
any evidence-based router.
"""

from __future__ import annotations

import heapq
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from villagegreen.analyses.experts_index import TfIdfIndex
from villagegreen.analyses.inputs import NON_CONTRIBUTION_KINDS
from villagegreen.analyses.roles import NOT_VALIDATION
from villagegreen.store.database import Store

ACCEPTED_BONUS = 2.0
THANKED_BONUS = 1.0
HALF_LIFE_DAYS = 730.0
TOP_DOCUMENTS = 5

_KINDS = ", ".join(f"'{kind}'" for kind in NON_CONTRIBUTION_KINDS)
_NOT_VALIDATION = ", ".join(f"'{kind}'" for kind in NOT_VALIDATION)
# Past answers with their question and validation; the parameter is the cut-off time.
_ANSWERS_SQL = f"""
WITH authored AS (
    SELECT m.*, i.person_id FROM messages m JOIN identities i ON i.id = m.author_id
    JOIN spaces s ON s.id = m.space_id
    WHERE NOT i.is_bot AND NOT s.private AND m.kind NOT IN ({_KINDS}) AND m.sent_at < ?
),
approvals AS (
    SELECT message_id, sum(count) AS approvals, bool_or(kind = 'accept') AS accept_vote FROM reactions
    WHERE kind NOT IN ({_NOT_VALIDATION}) GROUP BY message_id
),
thanked AS (
    SELECT DISTINCT reply.reply_to_id AS message_id FROM authored reply
    JOIN message_acts a ON a.message_id = reply.id AND a.act = 'appreciation'
    JOIN authored target ON target.id = reply.reply_to_id AND target.person_id <> reply.person_id
)
SELECT ans.id, ans.conversation_id, ans.space_id, ans.person_id, ans.sent_at, coalesce(c.title, ''), root.text, ans.text,
       coalesce(ap.accept_vote, false) OR coalesce(CAST(ans.meta AS VARCHAR) LIKE '%"accepted%":true%', false),
       coalesce(ap.approvals, 0), t.message_id IS NOT NULL
FROM authored ans
JOIN message_acts act ON act.message_id = ans.id AND act.act = 'answer'
JOIN authored root ON root.id = ans.conversation_id AND root.person_id <> ans.person_id
LEFT JOIN conversations c ON c.id = ans.conversation_id
LEFT JOIN approvals ap ON ap.message_id = ans.id
LEFT JOIN thanked t ON t.message_id = ans.id
ORDER BY ans.sent_at
"""


@dataclass(frozen=True, slots=True)
class PastAnswer:
    message_id: str
    conversation_id: str
    space_id: str
    person_id: str
    sent_at: datetime
    title: str
    question: str
    answer: str
    accepted: bool
    approvals: float
    thanked: bool

    @property
    def validation(self) -> float:
        return 1.0 + ACCEPTED_BONUS * self.accepted + THANKED_BONUS * self.thanked + math.log1p(max(self.approvals, 0.0))


@dataclass(frozen=True, slots=True)
class Suggestion:
    person_id: str
    score: float
    reasons: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {"person_id": self.person_id, "score": round(self.score, 4), "reasons": self.reasons}


def past_answers(store: Store, before: datetime) -> list[PastAnswer]:
    """Answers (act ``answer`` by someone other than the asker) written before ``before``."""
    return [PastAnswer(*row) for row in store.con.execute(_ANSWERS_SQL, [before]).fetchall()]


@dataclass(slots=True)
class ExpertFinder:
    """An index of past answers that ranks people for a question text."""

    answers: list[PastAnswer]
    now: datetime
    half_life_days: float = HALF_LIFE_DAYS
    index: TfIdfIndex = field(init=False)
    prior: list[float] = field(init=False)

    def __post_init__(self) -> None:
        self.index = TfIdfIndex([f"{a.title}\n{a.question}\n{a.answer}" for a in self.answers])
        # Validation and decay do not depend on the question: computed once per answer.
        self.prior = [a.validation * 0.5 ** (max((self.now - a.sent_at).total_seconds(), 0.0) / 86400.0 / self.half_life_days) for a in self.answers]

    def rank(self, question: str, *, k: int = 5, exclude: Iterable[str] = (), space: str | None = None) -> list[Suggestion]:
        excluded = set(exclude)
        per_person: dict[str, list[tuple[float, int, float]]] = defaultdict(list)
        answers, prior = self.answers, self.prior
        for doc_id, similarity in self.index.search(question).items():
            answer = answers[doc_id]
            if answer.person_id in excluded or (space is not None and answer.space_id != space):
                continue
            per_person[answer.person_id].append((similarity * prior[doc_id], doc_id, similarity))
        totals = {person: heapq.nlargest(TOP_DOCUMENTS, scored) for person, scored in per_person.items()}
        order = sorted(totals, key=lambda person: (-sum(s for s, _, _ in totals[person]), person))[:k]
        return [Suggestion(p, sum(s for s, _, _ in totals[p]), [self._reason(doc_id, s, sim) for s, doc_id, sim in totals[p]]) for p in order]

    def _reason(self, doc_id: int, score: float, similarity: float) -> dict[str, Any]:
        a = self.answers[doc_id]
        return {
            "message_id": a.message_id, "conversation_id": a.conversation_id, "title": a.title[:100], "answered_at": a.sent_at.isoformat(),
            "similarity": round(similarity, 4), "accepted": a.accepted, "thanked": a.thanked, "approvals": a.approvals, "score": round(score, 4),
        }  # fmt: skip
