"""Scored suggestions for merging identities into people, each with its reason and evidence.

Rules (docs/people.md has the full table):

- **certain** (1.0): the same normalised email address on two identities (lowercased,
  de-obfuscated, ``+tag`` removed, dots ignored for Gmail);
- **strong** (0.8-0.9): the same username on two different sources; a mangled archive address
  that matches another's address letter for letter; a display name that shows another
  identity's address;
- **weak** (0.45-0.79): the same full name, names that agree up to initials, nearly the same
  name (difflib token-sort ratio), a username or address that spells the other's name, a short
  shared username, a mangled address that fits several clean ones.

Normalisation lives in :mod:`villagegreen.store.identity_keys`.

A pair's score is its best rule's score plus 0.05 for each further rule, kept inside the best
rule's tier: several weak hints never add up to a strong one. Bots are never suggested. Only
names, handles and addresses are compared; nothing is inferred about gender, age or any other
demographic attribute.

Comparisons are blocked: identities are grouped by exact keys (address, username, name) and by
name token, and only identities sharing a block are compared, so the cost grows with the block
sizes, not with the square of the number of identities. A key shared by more identities than a
person plausibly has (a list address, "admin") is skipped and reported, not compared.
"""

from __future__ import annotations

import difflib
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from itertools import combinations
from typing import Any

from villagegreen.connectors.mail.mapping import lossy_shape
from villagegreen.store.database import Store
from villagegreen.store.identity_keys import addresses_in, collapse, handle_key, letters_of, name_spellings, name_tokens, normalise_email


class Tier(StrEnum):
    certain = "certain"
    strong = "strong"
    weak = "weak"


TIER_RANGE: dict[Tier, tuple[float, float]] = {Tier.certain: (1.0, 1.0), Tier.strong: (0.8, 0.95), Tier.weak: (0.4, 0.79)}
EXTRA_RULE_BONUS = 0.05
MAX_EXACT_BLOCK = 12  # identities one exact key may join before it is treated as shared
MAX_TOKEN_BLOCK = 400  # a name token this common ("david") gives no useful block
NEAR_NAME_RATIO = 0.8
MIN_HANDLE_LENGTH = 4


@dataclass(frozen=True, slots=True)
class IdentityFacts:
    """What the rules read about one identity; ``obfuscated_shape`` is a mail archive's lossy key."""

    id: str
    source_id: str
    person_id: str
    display_name: str
    handle: str | None = None
    email: str | None = None
    is_bot: bool = False
    obfuscated_shape: str | None = None


@dataclass(frozen=True, slots=True)
class Evidence:
    rule: str
    tier: Tier
    score: float
    reason: str


@dataclass(slots=True)
class Suggestion:
    """Merge the people of ``identity_ids``; ``score`` and ``tier`` come from ``evidence``."""

    identity_ids: tuple[str, str]
    person_ids: tuple[str, str]
    names: tuple[str, str]
    tier: Tier
    score: float
    evidence: list[Evidence]

    @property
    def reason(self) -> str:
        return "; ".join(e.reason for e in self.evidence)

    def to_dict(self) -> dict[str, Any]:
        return {
            "identity_ids": list(self.identity_ids),
            "person_ids": list(self.person_ids),
            "names": list(self.names),
            "tier": self.tier.value,
            "score": round(self.score, 3),
            "reason": self.reason,
            "evidence": [{"rule": e.rule, "tier": e.tier.value, "score": e.score, "reason": e.reason} for e in self.evidence],
        }


@dataclass(slots=True)
class SuggestionReport:
    suggestions: list[Suggestion]
    identities: int
    skipped_keys: list[str] = field(default_factory=list)
    not_shown: int = 0

    def counts(self) -> dict[str, int]:
        return {tier.value: sum(1 for s in self.suggestions if s.tier is tier) for tier in Tier}

    def to_dict(self) -> dict[str, Any]:
        return {
            "identities": self.identities,
            "counts": self.counts(),
            "not_shown": self.not_shown,
            "skipped_keys": self.skipped_keys,
            "suggestions": [s.to_dict() for s in self.suggestions],
        }


@dataclass(frozen=True, slots=True)
class Profile:
    """An identity's comparable keys, computed once."""

    facts: IdentityFacts
    email: str | None
    email_shape: str | None
    claimed: frozenset[str]
    handle: str | None
    tokens: tuple[str, ...]
    spellings: frozenset[str]


def profile(facts: IdentityFacts) -> Profile:
    email = normalise_email(facts.email)
    tokens = name_tokens(facts.display_name)
    own_spellings = [letters_of(facts.handle or ""), letters_of((facts.email or "").split("@", 1)[0])]
    return Profile(
        facts=facts,
        email=email,
        email_shape=lossy_shape(facts.email.strip()) if facts.email and email else None,
        claimed=frozenset(addresses_in(facts.display_name)) - {email},
        handle=handle_key(facts.handle),
        tokens=tokens,
        spellings=frozenset(s for s in own_spellings if len(s) >= 5),
    )


# --- rules: each is symmetric in (a, b) -----------------------------------------------------


def same_email(a: Profile, b: Profile) -> Evidence | None:
    if a.email is None or a.email != b.email:
        return None
    note = "" if (a.facts.email or "").lower() == (b.facts.email or "").lower() else f" ({a.facts.email} = {b.facts.email})"
    return Evidence("same_email", Tier.certain, 1.0, f"same email address {a.email}{note}")


def same_handle(a: Profile, b: Profile) -> Evidence | None:
    if a.handle is None or a.handle != b.handle or a.facts.source_id == b.facts.source_id:
        return None
    if len(a.handle) < MIN_HANDLE_LENGTH:
        return Evidence("same_handle", Tier.weak, 0.5, f"same short username '{a.handle}' on two sources")
    return Evidence("same_handle", Tier.strong, 0.9, f"same username '{a.handle}' on two sources")


def mangled_address(a: Profile, b: Profile, clean_per_shape: dict[str, int]) -> Evidence | None:
    """A mail archive's lossy address (letters collapsed into ``@`` and ``|``) against another's."""
    sa, sb = a.facts.obfuscated_shape, b.facts.obfuscated_shape
    if sa and sb:
        if sa != sb or a.facts.source_id == b.facts.source_id:
            return None
        return Evidence("mangled_address", Tier.strong, 0.85, f"same mangled address {sa} in two archives")
    shape, clean = (sa, b) if sa else (sb, a)
    if shape is None or clean.email_shape != shape:
        return None
    owners = clean_per_shape.get(shape, 0)
    if owners == 1:
        return Evidence("mangled_address", Tier.strong, 0.85, f"mangled address {shape} matches {clean.email} letter for letter")
    return Evidence("mangled_address", Tier.weak, 0.45, f"mangled address {shape} matches {clean.email} and {owners - 1} other address(es)")


def address_in_name(a: Profile, b: Profile) -> Evidence | None:
    for shown, owner in ((a, b), (b, a)):
        if owner.email is not None and owner.email in shown.claimed:
            return Evidence("address_in_name", Tier.strong, 0.8, f"display name '{shown.facts.display_name}' shows the address {owner.email}")
    return None


def similar_names(a: Profile, b: Profile) -> Evidence | None:
    """Same full name (0.7); the same up to a transliteration such as "ö"/"oe" (0.65) or up to
    initials and dropped middle names (0.6); nearly the same (0.5): difflib's token-sort ratio at
    least 0.8 and every differing word a short form ("Max"/"Maxime", "Jenny"/"Jennifer") or a typo
    of a long word. One-word names are too ambiguous to use."""
    ta, tb = a.tokens, b.tokens
    if len(ta) < 2 or len(tb) < 2:
        return None
    names = f"({a.facts.display_name} / {b.facts.display_name})"
    if sorted(ta) == sorted(tb):
        return Evidence("same_name", Tier.weak, 0.7, f"same full name {names}")
    if not (a.facts.display_name + b.facts.display_name).isascii() and sorted(map(collapse, ta)) == sorted(map(collapse, tb)):
        return Evidence("transliterated_name", Tier.weak, 0.65, f"same name up to transliteration {names}")
    if initials_agree(ta, tb):
        return Evidence("initials", Tier.weak, 0.6, f"names agree up to initials {names}")
    ratio = token_sort_ratio(ta, tb)
    if ratio >= NEAR_NAME_RATIO and words_nearly_agree(ta, tb):
        return Evidence("near_name", Tier.weak, 0.5, f"nearly the same name, ratio {ratio:.2f} {names}")
    return None


def words_nearly_agree(ta: tuple[str, ...], tb: tuple[str, ...]) -> bool:
    """At least one word in common, and the others pair up as prefixes or typos of long words."""
    left, right = [w for w in ta if w not in tb], [w for w in tb if w not in ta]
    if len(left) == len(ta) or len(left) != len(right):
        return False
    for word in left:
        match = next((w for w in right if _nearly_same_word(word, w)), None)
        if match is None:
            return False
        right.remove(match)
    return True


def _nearly_same_word(x: str, y: str) -> bool:
    # Short forms of given names: "Max"/"Maxime", "Jenny"/"Jennifer" (four letters in common).
    short, long = sorted((x, y), key=len)
    if (len(short) >= 3 and long.startswith(short)) or (len(short) >= 5 and short[:4] == long[:4]):
        return True
    return len(short) >= 5 and difflib.SequenceMatcher(None, x, y, autojunk=False).ratio() >= 0.8


def spelled_name(a: Profile, b: Profile) -> Evidence | None:
    for owner, named in ((a, b), (b, a)):
        forms = name_spellings(named.tokens)
        for spelling in sorted(owner.spellings):
            if spelling in forms:
                return Evidence("spelled_name", Tier.weak, 0.5, f"username or address '{spelling}' spells {named.facts.display_name} ({forms[spelling]})")
    return None


def token_sort_ratio(ta: tuple[str, ...], tb: tuple[str, ...]) -> float:
    return difflib.SequenceMatcher(None, " ".join(sorted(ta)), " ".join(sorted(tb)), autojunk=False).ratio()


def initials_agree(ta: tuple[str, ...], tb: tuple[str, ...]) -> bool:
    """True when the full words agree and every other word is an initial of a word opposite, or a
    middle initial only one side writes: "R. Turner" ~ "Rolf Turner", "Ann B Lee" ~ "Ann Lee".
    Needs two agreeing words (one may be an initial) and at least one full word in common."""
    left, right = list(ta), list(tb)
    full_common = 0
    for word in [w for w in left if len(w) > 1]:
        if word in right:
            left.remove(word)
            right.remove(word)
            full_common += 1
    if full_common == 0:
        return False
    agreeing = full_common
    for word in list(left):
        match = next((w for w in right if (len(word) == 1 or len(w) == 1) and w[0] == word[0]), None)
        if match is not None:
            left.remove(word)
            right.remove(match)
            agreeing += 1
    # Whatever is left may only be initials on one side (a middle initial the other omits).
    return agreeing >= 2 and all(len(w) == 1 for w in left + right) and not (left and right)


def compare(a: Profile, b: Profile, clean_per_shape: dict[str, int]) -> list[Evidence]:
    found = [
        same_email(a, b),
        same_handle(a, b),
        mangled_address(a, b, clean_per_shape),
        address_in_name(a, b),
        similar_names(a, b),
        spelled_name(a, b),
    ]
    return sorted((e for e in found if e is not None), key=lambda e: (-e.score, e.rule))


def combined_score(evidence: list[Evidence]) -> tuple[Tier, float]:
    """The best rule's score plus a bonus per further rule, clipped to the best rule's tier."""
    best = max(evidence, key=lambda e: e.score)
    low, high = TIER_RANGE[best.tier]
    extra = len({e.rule for e in evidence}) - 1
    return best.tier, round(min(high, max(low, best.score + EXTRA_RULE_BONUS * extra)), 3)


# --- blocking and ranking -------------------------------------------------------------------


def _block_keys(p: Profile) -> Iterator[tuple[str, str]]:
    if p.email:
        yield "address", p.email
        yield "shape", p.email_shape or ""
    for claimed in p.claimed:
        yield "address", claimed
    if p.facts.obfuscated_shape:
        yield "shape", p.facts.obfuscated_shape
    if p.handle:
        yield "username", p.handle
    if len(p.tokens) >= 2:
        yield "name", " ".join(sorted(p.tokens))
        yield "name", " ".join(sorted(map(collapse, p.tokens)))
        for form in name_spellings(p.tokens):
            yield "spelling", form
        for token in set(p.tokens):
            if len(token) > 1:
                yield "name word", token
    for spelling in p.spellings:
        yield "spelling", spelling


def candidate_pairs(profiles: list[Profile], skipped: list[str]) -> Iterator[tuple[Profile, Profile]]:
    """Each pair of identities that share a block, once; oversized blocks are named in ``skipped``."""
    blocks: dict[tuple[str, str], list[int]] = defaultdict(list)
    for index, p in enumerate(profiles):
        for key in dict.fromkeys(_block_keys(p)):
            if key[1]:
                blocks[key].append(index)
    seen: set[tuple[int, int]] = set()
    for (kind, value), members in sorted(blocks.items()):
        limit = MAX_TOKEN_BLOCK if kind == "name word" else MAX_EXACT_BLOCK
        if len(members) > limit:
            skipped.append(f"{kind} '{value}' is shared by {len(members)} identities, too many to be one person; not compared on it")
            continue
        for i, j in combinations(members, 2):
            if (i, j) not in seen and profiles[i].facts.person_id != profiles[j].facts.person_id:
                seen.add((i, j))
                yield profiles[i], profiles[j]


def suggest(
    identities: Iterable[IdentityFacts],
    *,
    rejected: Iterable[tuple[str, str]] = (),
    min_score: float = 0.0,
    per_person: int = 5,
    limit: int | None = None,
) -> SuggestionReport:
    """Ranked merge suggestions, one per pair of people, best first.

    Bots are left out. A pair of people is not suggested when any pair of their identities is
    in ``rejected``. Each person keeps at most ``per_person`` suggestions (the best ones), and
    at most ``limit`` are returned; what is cut is counted in ``not_shown``.
    """
    profiles = [profile(f) for f in identities if not f.is_bot]
    clean_per_shape: dict[str, int] = defaultdict(int)
    for p in profiles:
        if p.email_shape:
            clean_per_shape[p.email_shape] += 1
    rejected_set = {tuple(sorted(pair)) for pair in rejected}
    skipped: list[str] = []
    best: dict[tuple[str, str], Suggestion] = {}
    vetoed: set[tuple[str, str]] = set()
    for a, b in candidate_pairs(profiles, skipped):
        people = (a.facts.person_id, b.facts.person_id)
        key = (min(people), max(people))
        if tuple(sorted((a.facts.id, b.facts.id))) in rejected_set:
            vetoed.add(key)
            continue
        evidence = compare(a, b, clean_per_shape)
        if not evidence:
            continue
        tier, score = combined_score(evidence)
        current = best.get(key)
        if current is None or score > current.score:
            best[key] = Suggestion((a.facts.id, b.facts.id), people, (a.facts.display_name, b.facts.display_name), tier, score, evidence)
    ranked = sorted(
        (s for key, s in best.items() if key not in vetoed and s.score >= min_score),
        key=lambda s: (-s.score, s.names, s.identity_ids),
    )
    kept: list[Suggestion] = []
    per: dict[str, int] = defaultdict(int)
    for s in ranked:
        if all(per[person] < per_person for person in s.person_ids):
            kept.append(s)
            for person in s.person_ids:
                per[person] += 1
    shown = kept if limit is None else kept[:limit]
    return SuggestionReport(shown, identities=len(profiles), skipped_keys=skipped, not_shown=len(ranked) - len(shown))


def identity_facts(store: Store, person_ids: Iterable[str] | None = None) -> list[IdentityFacts]:
    """Identities in the store (of ``person_ids`` only, when given); a mail archive's lossy key
    ``obfuscated:SHAPE`` gives its shape."""
    query = "SELECT id, source_id, person_id, display_name, handle, email, is_bot, native_id FROM identities"
    people = list(person_ids) if person_ids is not None else None
    if people is not None:
        query += f" WHERE person_id IN ({', '.join('?' for _ in people)})" if people else " WHERE false"
    rows = store.con.execute(query + " ORDER BY id", people or []).fetchall()
    return [
        IdentityFacts(
            id=i,
            source_id=src,
            person_id=person,
            display_name=name,
            handle=handle,
            email=email,
            is_bot=bool(bot),
            obfuscated_shape=native.removeprefix("obfuscated:") if native.startswith("obfuscated:") else None,
        )
        for i, src, person, name, handle, email, bot, native in rows
    ]


def rejected_pairs(store: Store) -> list[tuple[str, str]]:
    return [(a, b) for a, b in store.con.execute("SELECT identity_a, identity_b FROM people_merge_rejections").fetchall()]


def suggestions_from_store(store: Store, *, min_score: float = 0.0, per_person: int = 5, limit: int | None = None) -> SuggestionReport:
    """:func:`suggest` over the store's identities, leaving out rejected pairs."""
    return suggest(identity_facts(store), rejected=rejected_pairs(store), min_score=min_score, per_person=per_person, limit=limit)
