"""Matrix poll results, counted from the room as the spec's polls module (v1.7, from MSC3381) says.

Read with the bot's token: the ``m.poll.start`` event (``GET /rooms/{room}/event/{id}``) for its
answers, then every event that references it (``GET /_matrix/client/v1/rooms/{room}/relations/
{id}/m.reference``, paged with ``next_batch``). Counting rules:

- a poll ends at the first ``m.poll.end`` from the poll's sender; responses sent after it
  (``origin_server_ts``) are ignored (an end from anyone else is ignored: the spec lets only the
  sender or a moderator end it, and power levels are not read here);
- only each user's latest response counts (by ``origin_server_ts``, then event order);
- answer ids not in the poll are dropped and the rest cut to ``max_selections``; a response left
  with none is a spoiled vote, which withdraws that user's earlier vote.

The unstable ``org.matrix.msc3381.poll.*`` forms that some clients still send are read too.
Encrypted rooms are not supported (the events would need decrypting).
"""

from __future__ import annotations

from collections import Counter
from typing import Any
from urllib.parse import quote, unquote, urlencode

from villagegreen.errors import InputError
from villagegreen.publish.delivery import Delivery, Http, answer
from villagegreen.publish.targets import Target

START = ("m.poll.start", "org.matrix.msc3381.poll.start")
RESPONSE = ("m.poll.response", "org.matrix.msc3381.poll.response")
END = ("m.poll.end", "org.matrix.msc3381.poll.end")
MAX_PAGES = 100  # 100 events a page: ten thousand responses is far beyond any community poll


def room_and_event(remote_url: str | None, remote_id: str | None, target: Target) -> tuple[str, str]:
    """The room id and event id of a posted poll, from the recorded matrix.to link."""
    if remote_url and "/#/" in remote_url:
        parts = remote_url.split("/#/", 1)[1].split("/")
        if len(parts) == 2 and parts[0].startswith("!"):
            return unquote(parts[0]), unquote(parts[1])
    if remote_id and not target.text("room").startswith("#"):
        return target.text("room"), remote_id
    raise InputError(f"target {target.name!r}: the poll's room is not recorded; read the results in the room itself")


def _text(block: Any) -> str:
    """The plain text of an ``m.text`` block (a list of representations) or an unstable text."""
    if isinstance(block, list):
        plain = [r.get("body") for r in block if isinstance(r, dict) and r.get("mimetype", "text/plain") == "text/plain"]
        return str(next((b for b in plain if isinstance(b, str)), ""))
    return block if isinstance(block, str) else ""


def poll_of(event: dict[str, Any]) -> tuple[str, list[tuple[str, str]], int]:
    """(question, [(answer id, text)], max_selections) of an ``m.poll.start`` event, stable or unstable."""
    content = event.get("content") or {}
    if "m.poll" in content:
        poll = content["m.poll"]
        answers = [(str(a.get("m.id")), _text(a.get("m.text"))) for a in poll.get("answers") or [] if isinstance(a, dict)]
        return _text((poll.get("question") or {}).get("m.text")), answers, int(poll.get("max_selections") or 1)
    poll = content.get("org.matrix.msc3381.poll.start") or {}
    answers = [(str(a.get("id")), _text(a.get("org.matrix.msc1767.text"))) for a in poll.get("answers") or [] if isinstance(a, dict)]
    return _text((poll.get("question") or {}).get("org.matrix.msc1767.text")), answers, int(poll.get("max_selections") or 1)


def _selections(event: dict[str, Any]) -> list[str]:
    content = event.get("content") or {}
    chosen = content.get("m.selections") if event.get("type") == "m.poll.response" else (content.get(RESPONSE[1]) or {}).get("answers")
    return [str(s) for s in chosen] if isinstance(chosen, list) else []


def count(start: dict[str, Any], related: list[dict[str, Any]]) -> tuple[Counter[str], int, bool]:
    """(votes per answer id, people with a valid vote, ended?) by the rules in the module docstring."""
    _question, answers, max_selections = poll_of(start)
    valid = {answer_id for answer_id, _ in answers}
    ends = [e.get("origin_server_ts", 0) for e in related if e.get("type") in END and e.get("sender") == start.get("sender")]
    ended_at = min(ends) if ends else None
    latest: dict[str, tuple[int, int, list[str]]] = {}
    for order, event in enumerate(related):
        if event.get("type") not in RESPONSE or not isinstance(event.get("sender"), str):
            continue
        sent = int(event.get("origin_server_ts", 0))
        if ended_at is not None and sent > ended_at:
            continue
        if event["sender"] not in latest or (sent, order) >= latest[event["sender"]][:2]:
            latest[event["sender"]] = (sent, order, _selections(event))
    votes: Counter[str] = Counter()
    voters = 0
    for _sent, _order, chosen in latest.values():
        kept = list(dict.fromkeys(s for s in chosen if s in valid))[:max_selections]
        votes.update(kept)
        voters += bool(kept)
    return votes, voters, ended_at is not None


def fetch(target: Target, http: Http, room: str, event_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The poll's start event and every event referencing it (all pages)."""
    token = target.secret()
    what = f"target {target.name!r} (Matrix {target.text('homeserver')})"
    base = f"{target.text('homeserver')}/_matrix"
    room_q, event_q = quote(room, safe=""), quote(event_id, safe="")

    def get(url: str) -> dict[str, Any]:
        return answer(http.send(Delivery(where=f"GET {url}", body="", method="GET", url=url, headers={"Authorization": "Bearer {secret}"}), token,
                                what=what), what)  # fmt: skip

    start = get(f"{base}/client/v3/rooms/{room_q}/event/{event_q}")
    if start.get("type") not in START:
        raise InputError(f"{what}: event {event_id} is a {start.get('type')}, not a poll; check `villagegreen publish list`")
    related: list[dict[str, Any]] = []
    params: dict[str, str] = {"limit": "100", "dir": "f"}  # oldest first: the tie-break in count() needs it
    for _page in range(MAX_PAGES):
        page = get(f"{base}/client/v1/rooms/{room_q}/relations/{event_q}/m.reference?{urlencode(params)}")
        related += [e for e in page.get("chunk") or [] if isinstance(e, dict)]
        if not page.get("next_batch"):
            break
        params["from"] = str(page["next_batch"])
    return start, related
