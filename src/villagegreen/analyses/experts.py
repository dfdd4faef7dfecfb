"""Who could answer this? Ranking people for a question by the answers they gave before.

Evidence is every past *answer* (dialogue act ``answer`` in ``message_acts``, written by
someone other than the asker), as one document: the question's title and text plus the answer.
For a new question, each answer document gets its TF-IDF cosine similarity to the question,
times a validation weight and a recency decay:

    weight = 1 + ACCEPTED_BONUS x accepted + THANKED_BONUS x thanked + log(1 + approving reactions)
    decay = 0.5 ^ (age in days / HALF_LIFE_DAYS)

A person's *content* score is the sum of their ``TOP_DOCUMENTS`` best answer scores (several
good matches beat one lucky one, without rewarding sheer volume). Their *activity* is their
answer count decayed with a short half-life (``ACTIVITY_HALF_LIFE_DAYS``): who answers these
days. Both are turned into shares of the candidates' total and mixed:

    score = (1 - ACTIVITY_WEIGHT) x content / sum(content) + ACTIVITY_WEIGHT x activity / sum(activity)

The mixture and its half-life were chosen on validation questions asked *before* the test
questions of benchmarks/experts.py (see docs/analyses/experts.md), not on the test questions.
Every suggestion carries its best answers as reasons, and its recent activity.

Only people who answered before can be suggested (a newcomer has no evidence): the limit of
any evidence-based router.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from villagegreen.analyses.experts_arrays import AnswerArrays
from villagegreen.analyses.experts_index import TfIdfIndex
from villagegreen.analyses.inputs import NON_CONTRIBUTION_KINDS
from villagegreen.analyses.roles import NOT_VALIDATION
from villagegreen.store.database import Store

ACCEPTED_BONUS = 2.0
THANKED_BONUS = 1.0
HALF_LIFE_DAYS = 730.0
TOP_DOCUMENTS = 5
ACTIVITY_WEIGHT = 0.5
ACTIVITY_HALF_LIFE_DAYS = 30.0

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
    # Answers decayed with ACTIVITY_HALF_LIFE_DAYS: about "answers in the last few weeks".
    recent_activity: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"person_id": self.person_id, "score": round(self.score, 4), "recent_activity": round(self.recent_activity, 2), "reasons": self.reasons}


@dataclass(frozen=True, slots=True)
class FinderSettings:
    """The knobs benchmarks/experts.py selects on its validation slice."""

    top_documents: int = TOP_DOCUMENTS
    activity_weight: float = ACTIVITY_WEIGHT
    activity_half_life_days: float = ACTIVITY_HALF_LIFE_DAYS


def past_answers(store: Store, before: datetime) -> list[PastAnswer]:
    """Answers (act ``answer`` by someone other than the asker) written before ``before``."""
    return [PastAnswer(*row) for row in store.con.execute(_ANSWERS_SQL, [before]).fetchall()]


@dataclass(slots=True)
class ExpertFinder:
    """An index of past answers that ranks people for a question text."""

    answers: list[PastAnswer]
    now: datetime
    half_life_days: float = HALF_LIFE_DAYS
    settings: FinderSettings = field(default_factory=FinderSettings)
    index: TfIdfIndex = field(init=False)
    prior: list[float] = field(init=False)
    arrays: AnswerArrays = field(init=False)
    _activity: dict[str | None, dict[str, float]] = field(init=False, default_factory=dict)
    _activity_codes: dict[str | None, tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.index = TfIdfIndex([f"{a.title}\n{a.question}\n{a.answer}" for a in self.answers])
        # Validation and decay do not depend on the question: computed once per answer.
        self.prior = [a.validation * 0.5 ** (self._age_days(a) / self.half_life_days) for a in self.answers]
        self.arrays = AnswerArrays(self.index, [a.person_id for a in self.answers], [a.space_id for a in self.answers], self.prior)

    def _age_days(self, answer: PastAnswer) -> float:
        return max((self.now - answer.sent_at).total_seconds(), 0.0) / 86400.0

    def activity(self, space: str | None = None) -> dict[str, float]:
        """person -> answers decayed with the activity half-life (in one space, or all)."""
        if space not in self._activity:
            counts: dict[str, float] = defaultdict(float)
            for a in self.answers:
                if space is None or a.space_id == space:
                    counts[a.person_id] += 0.5 ** (self._age_days(a) / self.settings.activity_half_life_days)
            self._activity[space] = dict(counts)
        return self._activity[space]

    def content(
        self, question: str, *, exclude: Iterable[str] = (), space: str | None = None, top: int | None = None
    ) -> dict[str, list[tuple[float, int, float]]]:
        """person -> their ``top`` best (score, answer index, similarity) for the question, best first."""
        best = self.arrays.best(question, exclude=exclude, space=space, keep=top or self.settings.top_documents)
        persons = self.arrays.persons
        return {persons[int(best.people[i])]: best.entries(int(i)) for i in best.order}

    def rank(self, question: str, *, k: int = 5, exclude: Iterable[str] = (), space: str | None = None) -> list[Suggestion]:
        """The ``k`` best people; nobody when no past answer shares a word with the question
        (activity alone is no reason to ask someone about a topic nobody has discussed).

        Arithmetic on arrays (experts_arrays.py), each sum in the order of the plain loops
        ``content[p] = sum(best scores)``, ``sum(content)``, ``sum(activity)`` over the dicts
        above, so rankings and ties come out exactly as they did."""
        excluded = set(exclude)
        best = self.arrays.best(question, exclude=excluded, space=space, keep=self.settings.top_documents)
        content_total = sum(best.content[best.order].tolist())
        if content_total <= 0:
            return []
        people, values = self._activity_arrays(space)
        wanted = ~np.isin(people, self.arrays.codes(excluded))
        people, values = people[wanted], values[wanted]
        activity_total = sum(values.tolist()) or 1.0
        content = np.zeros(len(self.arrays.persons), dtype=np.float64)
        content[best.people] = best.content
        weight = self.settings.activity_weight
        scores = (1 - weight) * content[people] / content_total + weight * values / activity_total
        # Everyone at or above the k-th best score (ties included), then sorted exactly as before.
        cut = np.partition(scores, len(scores) - k)[len(scores) - k] if k < len(scores) else -np.inf
        candidates = np.flatnonzero(scores >= cut)
        persons = self.arrays.persons
        order = sorted(candidates.tolist(), key=lambda i: (-scores[i], persons[people[i]]))[:k]
        position = {int(code): i for i, code in enumerate(best.people)}
        suggestions = []
        for i in order:
            code = int(people[i])
            entries = best.entries(position[code]) if code in position else []
            reasons = [self._reason(doc_id, score, similarity) for score, doc_id, similarity in entries]
            suggestions.append(Suggestion(persons[code], float(scores[i]), reasons, float(values[i])))
        return suggestions

    def _activity_arrays(self, space: str | None) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """:meth:`activity` as (person codes, values), in its order."""
        if space not in self._activity_codes:
            activity = self.activity(space)
            self._activity_codes[space] = (self.arrays.codes(activity), np.array(list(activity.values()), dtype=np.float64))
        return self._activity_codes[space]

    def _reason(self, doc_id: int, score: float, similarity: float) -> dict[str, Any]:
        a = self.answers[doc_id]
        return {
            "message_id": a.message_id, "conversation_id": a.conversation_id, "title": a.title[:100], "answered_at": a.sent_at.isoformat(),
            "similarity": round(similarity, 4), "accepted": a.accepted, "thanked": a.thanked, "approvals": a.approvals, "score": round(score, 4),
        }  # fmt: skip
