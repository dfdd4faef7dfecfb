"""The expert finder's scoring on numpy arrays: the same numbers as the dict version, faster.

The Expertise page ranks every open question of the last 90 days to count each person's load
(2,598 questions at a million messages). Scoring each with Python dicts (a dict of document
scores, then a list per person) made the page's first build take 52 s. Here the same arithmetic
runs on arrays: posting lists become index and weight arrays, scores are added term by term,
and the per-person top documents come from one sort.

Identical results, not merely close ones: a ranking decides between people by comparing sums of
floats, so every sum is made in the order the dict version made it (documents in the order
their first matching term reached them, people in the order their first document appeared,
each person's best documents from the best down). tests/analyses/test_experts_arrays.py
compares both on real data, question by question.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from villagegreen.analyses.experts_index import TfIdfIndex

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class BestAnswers:
    """Per person with a matching answer: their ``keep`` best (score, answer, similarity).

    ``people`` are person codes in ascending order; ``order`` lists them (as positions in
    ``people``) in the order the dict version meets them; ``content`` is the sum of each
    person's best scores; entries ``start[i]:start[i + 1]`` are person i's, best first."""

    people: Ints
    order: Ints
    content: Floats
    start: Ints
    scores: Floats
    answers: Ints
    similarities: Floats

    def entries(self, position: int) -> list[tuple[float, int, float]]:
        """(score, answer index, similarity) of the person at ``position``, best first."""
        span = slice(int(self.start[position]), int(self.start[position + 1]))
        return list(zip(self.scores[span].tolist(), self.answers[span].tolist(), self.similarities[span].tolist(), strict=True))


class AnswerArrays:
    """The finder's past answers as arrays: who wrote each, where, and its prior weight."""

    def __init__(self, index: TfIdfIndex, person_ids: Sequence[str], space_ids: Sequence[str], prior: Sequence[float]) -> None:
        self.index = index
        self.persons = list(dict.fromkeys(person_ids))
        self.person_code = {person: code for code, person in enumerate(self.persons)}
        self.person_of: Ints = np.array([self.person_code[p] for p in person_ids], dtype=np.int64)
        space_code = {space: code for code, space in enumerate(dict.fromkeys(space_ids))}
        self.space_code = space_code
        self.space_of: Ints = np.array([space_code[s] for s in space_ids], dtype=np.int64)
        self.prior: Floats = np.array(prior, dtype=np.float64)
        self._postings: dict[str, tuple[Ints, Floats]] = {}

    def codes(self, people: Iterable[str]) -> Ints:
        return np.array([self.person_code[p] for p in people if p in self.person_code], dtype=np.int64)

    def _posting(self, term: str) -> tuple[Ints, Floats]:
        found = self._postings.get(term)
        if found is None:
            pairs = self.index.postings[term]
            ids = np.fromiter((doc_id for doc_id, _ in pairs), dtype=np.int64, count=len(pairs))
            weights = np.fromiter((weight for _, weight in pairs), dtype=np.float64, count=len(pairs))
            found = self._postings[term] = (ids, weights)
        return found

    def best(self, question: str, *, exclude: Iterable[str] = (), space: str | None = None, keep: int) -> BestAnswers:
        """What ``ExpertFinder.content`` finds for ``question``, as arrays."""
        weights, norm = self.index.query_weights(question)
        similarity: Floats = np.zeros(len(self.person_of), dtype=np.float64)
        reached: list[Ints] = []
        for term, weight in weights.items():
            ids, doc_weights = self._posting(term)
            similarity[ids] += weight / norm * doc_weights  # (weight / norm) x doc weight, as TfIdfIndex.search
            reached.append(ids)
        if not reached:
            return _nothing()
        unique, first = np.unique(np.concatenate(reached), return_index=True)
        docs = unique[np.argsort(first, kind="stable")]  # the order a dict of scores fills in
        people = self.person_of[docs]
        wanted = np.ones(len(docs), dtype=bool)
        excluded = self.codes(exclude)
        if len(excluded):
            wanted &= ~np.isin(people, excluded)
        if space is not None:
            wanted &= self.space_of[docs] == self.space_code.get(space, -1)
        docs, people = docs[wanted], people[wanted]
        if not len(docs):
            return _nothing()
        unique_people, first_seen = np.unique(people, return_index=True)
        sims = similarity[docs]
        scores = sims * self.prior[docs]  # similarity x prior, as ExpertFinder.content
        # By person, then best score first, then the larger answer index (heapq.nlargest on tuples).
        sort = np.lexsort((-docs, -scores, people))
        docs, people, scores, sims = docs[sort], people[sort], scores[sort], sims[sort]
        group_start = np.flatnonzero(np.r_[True, people[1:] != people[:-1]])
        group = np.repeat(np.arange(len(group_start)), np.diff(np.r_[group_start, len(people)]))
        rank = np.arange(len(people)) - group_start[group]
        kept = rank < keep
        docs, scores, sims, group, rank = docs[kept], scores[kept], sims[kept], group[kept], rank[kept]
        content: Floats = np.zeros(len(group_start), dtype=np.float64)
        for position in range(keep):  # best first, one addition at a time: what sum() of the list does
            at = rank == position
            content[group[at]] += scores[at]
        start = np.searchsorted(group, np.arange(len(unique_people) + 1))
        return BestAnswers(unique_people, np.argsort(first_seen, kind="stable"), content, start, scores, docs, sims)


def _nothing() -> BestAnswers:
    empty_ints, empty_floats = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
    return BestAnswers(empty_ints, empty_ints, empty_floats, np.zeros(1, dtype=np.int64), empty_floats, empty_ints, empty_floats)
