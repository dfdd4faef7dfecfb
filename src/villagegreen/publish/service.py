"""Publish one item to one target: refuse what is not approved, never post twice, record it.

Order of a real run: prepare (no network) -> already recorded for this target? stop -> send
(retries inside) -> record the publication and its audit entry in one transaction -> a story
moves to ``published`` (stories/desk.py). A failure before the record leaves nothing behind; a
crash between the record and the state change is repaired by the next run, which finds the
record, posts nothing and completes the state change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from villagegreen.errors import InputError
from villagegreen.publish import discourse, mail, matrix, mattermost, site, slack, zulip
from villagegreen.publish.delivery import Delivery, Http, Remote
from villagegreen.publish.items import PUBLISHABLE, Item
from villagegreen.publish.records import Publication, find, record
from villagegreen.publish.targets import Target
from villagegreen.store.audit import default_actor
from villagegreen.store.database import Store

PREPARE: dict[str, Callable[[Item, Target], Delivery]] = {
    "site": site.prepare, "email": mail.prepare, "matrix": matrix.prepare, "discourse": discourse.prepare,
    "slack": slack.prepare, "zulip": zulip.prepare, "mattermost": mattermost.prepare,
}  # fmt: skip
_HTTP_SEND: dict[str, Callable[[Delivery, Target, Http], Remote]] = {
    "matrix": matrix.send, "discourse": discourse.send, "slack": slack.send, "zulip": zulip.send, "mattermost": mattermost.send,
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class PublishReport:
    """``status``: ``published``, ``dry run`` or ``already published`` (nothing sent)."""

    status: str
    item_kind: str
    item_id: str
    title: str
    target: str
    delivery: Delivery
    publication: Publication | None = None
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "item_kind": self.item_kind, "item_id": self.item_id, "title": self.title, "target": self.target,
                "publication": self.publication.to_dict() if self.publication else None, "note": self.note,
                "delivery": self.delivery.to_dict() if self.status == "dry run" else None}  # fmt: skip


def _check_story(store: Store, item: Item) -> str | None:
    """The story's state now (it may have changed since the item was built); refused if unpublishable."""
    if item.story_id is None:
        return None
    from villagegreen.stories.desk import get_record

    state = get_record(store, item.story_id).state
    if state not in PUBLISHABLE:
        raise InputError(f"story {item.story_id} is {state}, not approved; approve it first (villagegreen stories approve {item.story_id})")
    return state


def _finish_story(store: Store, item: Item, target: Target, actor: str) -> None:
    if item.story_id is not None and _check_story(store, item) == "approved":
        from villagegreen.stories.desk import set_state

        set_state(store, item.story_id, "published", actor=actor, note=f"published to {target.name}")


def publish(
    store: Store,
    item: Item,
    target: Target,
    *,
    dry_run: bool = False,
    actor: str | None = None,
    http: Http | None = None,
    include_private: bool = False,
) -> PublishReport:
    """Publish ``item`` to ``target`` once; ``http`` carries a test transport (a fresh client otherwise).

    An item from a private space is refused unless ``include_private``: what was said in a DM or
    a private channel must not reach a wider audience by default.
    """
    if item.private_space is not None and not include_private:
        raise InputError(
            f"{item.kind} {item.item_id} comes from the private space {item.private_space!r}; "
            "pass --include-private to publish it anyway (check who can read the target first)"
        )
    _check_story(store, item)
    delivery = PREPARE[target.kind](item, target)
    done = find(store, item.kind, item.item_id, target.name)
    if done is not None:
        changed = "; its content has changed since, and was not re-posted" if done.content_hash != item.content_hash() else ""
        if not dry_run:
            _finish_story(store, item, target, done.actor)
        return PublishReport("already published", item.kind, item.item_id, item.title, target.name, delivery, done,
                             f"published {done.published_at:%Y-%m-%d %H:%M} UTC by {done.actor}{changed}")  # fmt: skip
    if dry_run:
        return PublishReport("dry run", item.kind, item.item_id, item.title, target.name, delivery)
    who = actor or default_actor()
    remote = _send(delivery, target, http)
    publication = Publication(item.kind, item.item_id, target.name, target.kind, remote.remote_id, remote.url, item.content_hash(), datetime.now(UTC), who)
    record(store, publication)
    _finish_story(store, item, target, who)
    return PublishReport("published", item.kind, item.item_id, item.title, target.name, delivery, publication, remote.note)


def _send(delivery: Delivery, target: Target, http: Http | None) -> Remote:
    if target.kind == "site":
        return site.send(delivery, target)
    if target.kind == "email":
        return mail.send(delivery, target)
    client = http or Http()
    try:
        return _HTTP_SEND[target.kind](delivery, target, client)
    finally:
        if http is None:
            client.close()
