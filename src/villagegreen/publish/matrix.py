"""Matrix: a formatted ``m.room.message`` (client-server API v3, ``PUT /rooms/{room}/send``).

``body`` is the Markdown (the plain-text fallback every client shows), ``formatted_body`` the
sanitised HTML with ``format = org.matrix.custom.html``. A poll is an ``m.poll.start`` event as
the spec (v1.7, from MSC3381) defines it: a disclosed single-choice poll with a text fallback.
The transaction id is derived from the content hash, so a retried request after a lost answer
is deduplicated by the homeserver. A room alias (``#room:server``) is resolved at send time.
A wrap-up of a conversation from the target room itself (named by room id) goes into its thread.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from villagegreen.publish.delivery import Delivery, Http, Remote, answer, check_length, json_body
from villagegreen.publish.formats import sanitise_html
from villagegreen.publish.items import Item
from villagegreen.publish.targets import Target

ROOM = "{room}"
MAX_CONTENT = 60_000  # a whole event may be 65,536 bytes; room for the envelope Synapse adds


def content(item: Item) -> tuple[str, dict[str, Any]]:
    """The event type and content for ``item``."""
    if item.poll is not None:
        fallback = item.poll.question + "\n" + "\n".join(f"{n}. {o}" for n, o in enumerate(item.poll.options, 1))
        answers = [{"m.id": f"option-{n}", "m.text": [{"body": option}]} for n, option in enumerate(item.poll.options, 1)]
        poll = {"kind": "m.disclosed", "max_selections": 1, "question": {"m.text": [{"body": item.poll.question}]}, "answers": answers}
        return "m.poll.start", {"m.poll": poll, "m.text": [{"body": fallback}]}
    return "m.room.message", {"msgtype": "m.text", "body": item.markdown, "format": "org.matrix.custom.html",
                              "formatted_body": sanitise_html(item.html)}  # fmt: skip


def in_thread(item: Item, room: str) -> dict[str, Any] | None:
    """A thread relation to the conversation's root when it lives in this very room (by room id)."""
    origin = item.origin
    if origin is None or origin.connector != "matrix" or origin.space_native_id != room or not origin.root_native_id:
        return None
    # As a thread-unaware client expects it: the thread plus a falling-back reply to the root.
    return {"rel_type": "m.thread", "event_id": origin.root_native_id, "is_falling_back": True, "m.in_reply_to": {"event_id": origin.root_native_id}}


def prepare(item: Item, target: Target) -> Delivery:
    kind, body = content(item)
    room = target.text("room")
    if relation := in_thread(item, room):
        body["m.relates_to"] = relation
    check_length(json_body(body), MAX_CONTENT, target.name, "bytes")
    txn = f"vg-{item.kind}-{item.content_hash()[:24]}"
    url = f"{target.text('homeserver')}/_matrix/client/v3/rooms/{ROOM if room.startswith('#') else quote(room, safe='')}/send/{kind}/{txn}"
    where = f"PUT {url}" + (f"  ({ROOM} = the room id of {room}, looked up first)" if room.startswith("#") else "")
    return Delivery(where=where, body=json_body(body), method="PUT", url=url,
                    headers={"Authorization": "Bearer {secret}", "Content-Type": "application/json"})  # fmt: skip


def send(delivery: Delivery, target: Target, http: Http) -> Remote:
    token = target.secret()
    room = target.text("room")
    what = f"target {target.name!r} (Matrix {target.text('homeserver')})"
    url = delivery.url
    if room.startswith("#"):
        lookup = Delivery(where="", body="", method="GET", url=f"{target.text('homeserver')}/_matrix/client/v3/directory/room/{quote(room, safe='')}",
                          headers={"Authorization": "Bearer {secret}"})  # fmt: skip
        room = str(answer(http.send(lookup, token, what=what), what, "room_id")["room_id"])
        url = url.replace(ROOM, quote(room, safe=""))
    event_id = str(answer(http.send(delivery, token, what=what, url=url), what, "event_id")["event_id"])
    return Remote(event_id, f"https://matrix.to/#/{quote(room, safe='!:')}/{quote(event_id, safe='$:')}")
