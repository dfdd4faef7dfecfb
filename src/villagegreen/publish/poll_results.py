"""``villagegreen publish poll-results``: read back how members answered the polls we posted.

Computed on demand from the platform, never stored: results change until a poll closes, and the
platform is the only place that knows them. For every ``poll`` row of the ``publications``
table (optionally one poll or one target), with the target's credentials:

- matrix: ``m.poll.response`` events counted per the spec's rules (matrix_polls.py);
- discourse: the post's ``polls`` field (the poll plugin's counts) from ``GET /t/{topic}.json``,
  or ``GET /t/{topic}/posts.json?post_ids[]=`` when the post is not among the first posts;
- slack: ``reactions.get`` on the poll message; option N is the number emoji N (``:one:`` ...),
  the options are read from the message's text; one person may react with several numbers;
- mattermost: the same with ``GET /api/v4/posts/{id}`` (the options) and ``.../reactions``.

Other kinds (site, e-mail, Zulip) answer with a note saying where to look.
A poll that cannot be read (token missing, message deleted) gets a note; the others still run.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

from villagegreen.errors import InputError, VillageGreenError
from villagegreen.publish import matrix_polls
from villagegreen.publish.delivery import Delivery, Http, answer
from villagegreen.publish.records import Publication, list_publications
from villagegreen.publish.slack import NUMBERS, call
from villagegreen.publish.targets import Target
from villagegreen.store.database import Store

READABLE = ("matrix", "discourse", "slack", "mattermost")
_TAG = re.compile(r"<[^>]+>")
_NUMBERED = re.compile(r"^(\d+)\. (.+)$", re.MULTILINE)
_NUMBER_EMOJI = re.compile(r"^:([a-z_]+): (.+)$", re.MULTILINE)
_TOPIC_IN_URL = re.compile(r"/t/[^/]+/(\d+)(?:/\d+)?$")


@dataclass(frozen=True, slots=True)
class PollResults:
    """One posted poll's answers now: ``votes`` in option order; ``voters`` distinct people (None if unknown)."""

    poll_id: str
    target: str
    target_kind: str
    question: str | None
    votes: tuple[tuple[str, int], ...]
    voters: int | None
    closed: bool
    read_at: datetime
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"poll_id": self.poll_id, "target": self.target, "target_kind": self.target_kind, "question": self.question,
                "options": [{"option": o, "votes": v} for o, v in self.votes], "voters": self.voters, "closed": self.closed,
                "read_at": self.read_at.isoformat(), "note": self.note}  # fmt: skip


def _matrix(publication: Publication, target: Target, http: Http) -> PollResults:
    room, event_id = matrix_polls.room_and_event(publication.remote_url, publication.remote_id, target)
    start, related = matrix_polls.fetch(target, http, room, event_id)
    question, answers, _max = matrix_polls.poll_of(start)
    votes, voters, ended = matrix_polls.count(start, related)
    return _result(publication, question, tuple((text, votes[answer_id]) for answer_id, text in answers), voters, ended)


def _discourse(publication: Publication, target: Target, http: Http) -> PollResults:
    topic = _TOPIC_IN_URL.search(urlsplit(publication.remote_url or "").path)
    if topic is None or not publication.remote_id:
        raise InputError(f"target {target.name!r}: the poll's topic is not recorded; read the results on the forum")
    token, what = target.secret(), f"target {target.name!r} (Discourse {target.text('url')})"
    headers = {"Api-Key": "{secret}", "Api-Username": target.text("username"), "Accept": "application/json"}

    def posts(url: str) -> list[Any]:
        page = answer(http.send(Delivery(where=f"GET {url}", body="", method="GET", url=url, headers=headers), token, what=what), what, "post_stream")
        found = page["post_stream"].get("posts") if isinstance(page["post_stream"], dict) else None
        return found if isinstance(found, list) else []

    base = f"{target.text('url')}/t/{topic.group(1)}"
    wanted = str(publication.remote_id)
    post = next((p for p in posts(f"{base}.json") if isinstance(p, dict) and str(p.get("id")) == wanted), None)
    if post is None:  # a reply deep in a long topic: the first page holds only the first posts
        post = next((p for p in posts(f"{base}/posts.json?{urlencode({'post_ids[]': wanted})}") if isinstance(p, dict) and str(p.get("id")) == wanted), None)
    polls = [p for p in (post or {}).get("polls") or [] if isinstance(p, dict)]
    if not polls:
        raise InputError(f"{what}: post {wanted} has no poll now (deleted or edited?); look at the topic")
    poll = next((p for p in polls if p.get("name") == "poll"), polls[0])
    options = [o for o in poll.get("options") or [] if isinstance(o, dict)]
    hidden = any("votes" not in o for o in options)
    votes = tuple((html.unescape(_TAG.sub("", str(o.get("html", "")))).strip(), int(o.get("votes") or 0)) for o in options)
    voters = poll.get("voters")
    note = "the forum hides the counts until the poll closes or you vote (its results setting)" if hidden else None
    return _result(publication, poll.get("title") or None, votes, voters if isinstance(voters, int) else None, poll.get("status") == "closed", note)


def _slack(publication: Publication, target: Target, http: Http) -> PollResults:
    channel, _, ts = (publication.remote_id or "").partition("/")
    if not ts:
        raise InputError(f"target {target.name!r}: posted through an incoming webhook, which gives no message id; count the reactions in Slack")
    message = call(target, http, target.secret(), "reactions.get", {"channel": channel, "timestamp": ts, "full": "true"}).get("message") or {}
    text = html.unescape(str(message.get("text") or ""))  # Slack's entities: &amp; &lt; &gt;
    numbered = {int(n): option.strip() for n, option in _NUMBERED.findall(text)}
    options = [numbered.get(n, f"option {n}") for n in range(1, max(numbered, default=0) + 1)]
    counts = {r.get("name"): r for r in message.get("reactions") or [] if isinstance(r, dict)}
    votes = tuple((option, int((counts.get(NUMBERS[n]) or {}).get("count") or 0)) for n, option in enumerate(options[: len(NUMBERS)]))
    voters = {u for n in range(len(options)) for u in (counts.get(NUMBERS[n]) or {}).get("users") or []}
    question = next((line.strip("*").strip() for line in text.splitlines() if line.strip()), None)
    note = None if options else "the message has no numbered options any more (edited?); reactions not counted"
    return _result(publication, question, votes, len(voters), False, note)


def _mattermost(publication: Publication, target: Target, http: Http) -> PollResults:
    if not publication.remote_id:
        raise InputError(f"target {target.name!r}: the poll's post id is not recorded; count the reactions in Mattermost")
    token, what = target.secret(), f"target {target.name!r} (Mattermost {target.text('url')})"
    url = f"{target.text('url')}/api/v4/posts/{publication.remote_id}"
    headers = {"Authorization": "Bearer {secret}"}
    post = answer(http.send(Delivery(where=f"GET {url}", body="", method="GET", url=url, headers=headers), token, what=what), what, "message")
    reactions = http.send(Delivery(where=f"GET {url}/reactions", body="", method="GET", url=f"{url}/reactions", headers=headers), token, what=what)
    try:
        listed = reactions.json()
    except ValueError:
        listed = None
    if listed is not None and not isinstance(listed, list):  # the server answers null when nobody reacted
        raise InputError(f"{what}: HTTP {reactions.status_code} but not a list of reactions; check the target's URL")
    message = str(post["message"])
    lines = {emoji: option.strip() for emoji, option in _NUMBER_EMOJI.findall(message)}
    options = [lines[name] for name in NUMBERS if name in lines]
    voted: dict[str, set[str]] = {}
    for reaction in listed or []:
        if isinstance(reaction, dict):
            voted.setdefault(str(reaction.get("emoji_name")), set()).add(str(reaction.get("user_id")))
    numbers = [name for name in NUMBERS if name in lines]
    votes = tuple((option, len(voted.get(name, ()))) for name, option in zip(numbers, options, strict=True))
    voters = {user for name in numbers for user in voted.get(name, ())}
    question = next((line.lstrip("#").strip() for line in message.splitlines() if line.strip()), None)
    note = None if options else "the post has no numbered options any more (edited?); reactions not counted"
    return _result(publication, question, votes, len(voters), False, note)


def _result(publication: Publication, question: str | None, votes: tuple[tuple[str, int], ...], voters: int | None, closed: bool,
            note: str | None = None) -> PollResults:  # fmt: skip
    return PollResults(publication.item_id, publication.target, publication.target_kind, question, votes, voters, closed, datetime.now(UTC), note)


_READERS = {"matrix": _matrix, "discourse": _discourse, "slack": _slack, "mattermost": _mattermost}


def read_results(store: Store, targets: Sequence[Target], *, poll_id: str | None = None, target: str | None = None,
                 http: Http | None = None) -> list[PollResults]:  # fmt: skip
    """Results of every posted poll (or ``poll_id``, or those on ``target``), oldest post first."""
    rows = [p for p in list_publications(store, target=target) if p.item_kind == "poll" and poll_id in (None, p.item_id)]
    if poll_id is not None and not rows:
        raise InputError(f"poll {poll_id!r} was not published{' to ' + target if target else ''}; `villagegreen publish list` shows what was")
    configured = {t.name: t for t in targets}
    client = http or Http()
    found = []
    try:
        for publication in rows:
            where = configured.get(publication.target)
            reader = _READERS.get(publication.target_kind)
            if where is None or reader is None:
                why = (f"target {publication.target!r} is no longer configured" if where is None
                       else f"{publication.target_kind} polls are not read back; look at the answers where it was posted")  # fmt: skip
                found.append(_result(publication, None, (), None, False, why))
                continue
            try:
                found.append(reader(publication, where, client))
            except VillageGreenError as error:
                found.append(_result(publication, None, (), None, False, f"not read: {error}"))
    finally:
        if http is None:
            client.close()
    return found
