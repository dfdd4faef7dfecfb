"""Read a folder (or zip) of Discourse topic JSON files, one topic at a time.

Each file is a ``/t/<slug>/<id>.json`` response. Only one topic is held in memory at a time,
so an archive of any size streams. A file that is not valid JSON means the export is broken
(usually a download cut short), and importing the rest would silently lose a topic, so it is
fatal and names the file; a single malformed post inside a readable topic is skipped and
counted instead.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from villagegreen.connectors.base import Connector, ReadContext
from villagegreen.connectors.discourse import mapping
from villagegreen.connectors.tree import SourceTree
from villagegreen.errors import InputError
from villagegreen.model import JsonDict, Message, Record, Skipped

# Side files a scraper may save next to the topics; they name the categories.
CATEGORY_FILES = ("categories.json", "site.json")
TOPIC_NAME = re.compile(r"(?:^|[./])(\d+)\.json$")


def basename(name: str) -> str:
    return name.rsplit("/", 1)[-1]


def topic_names(tree: SourceTree) -> list[str]:
    return [name for name in tree.glob(".json") if basename(name) not in CATEGORY_FILES]


def load_json(tree: SourceTree, name: str) -> Any:
    data = tree.read_bytes(name)
    try:
        return json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        detail = f"{error.msg} at line {error.lineno} column {error.colno}" if isinstance(error, json.JSONDecodeError) else str(error)
        raise InputError(
            f"{tree.describe(name)}: not valid JSON ({detail}); the export looks truncated or corrupt, re-download this topic and import again"
        ) from None


def category_names(tree: SourceTree) -> dict[str, tuple[str, str | None]]:
    """Category id -> (name, slug) from ``categories.json`` or ``site.json`` when the export has one."""
    found: dict[str, tuple[str, str | None]] = {}
    for name in tree.names():
        if basename(name) not in CATEGORY_FILES:
            continue
        payload = load_json(tree, name)
        listing = payload.get("category_list", payload) if isinstance(payload, dict) else {}
        categories = listing.get("categories") if isinstance(listing, dict) else None
        for category in categories if isinstance(categories, list) else ():
            if isinstance(category, dict) and category.get("id") is not None and isinstance(category.get("name"), str):
                found[str(category["id"])] = (category["name"], category.get("slug"))
    return found


class TopicReader:
    """State shared across topic files: spaces and identities already emitted."""

    def __init__(self, connector: Connector, tree: SourceTree, context: ReadContext) -> None:
        self.connector = connector
        self.tree = tree
        self.context = context
        self.categories = category_names(tree)
        self.spaces: set[str] = set()
        # native id -> (a post by them, staff flags seen on any of their posts)
        self.authors: dict[str, tuple[JsonDict, JsonDict]] = {}

    def read(self) -> Iterator[Record]:
        for name in topic_names(self.tree):
            self.context.on_file(basename(name))
            topic = load_json(self.tree, name)
            stream = topic.get("post_stream") if isinstance(topic, dict) else None
            posts = stream.get("posts") if isinstance(stream, dict) else None
            if not isinstance(posts, list):
                yield Skipped(kind="topic", reason="not a Discourse topic (no post_stream.posts)", where=self.tree.describe(name))
                continue
            yield from self.topic(name, topic, posts)
        for post, flags in self.authors.values():
            yield mapping.post_identity(self.context, post, flags)

    def topic(self, name: str, topic: JsonDict, posts: list[Any]) -> Iterator[Record]:
        context, where = self.context, self.tree.describe(name)
        topic_id = topic.get("id")
        if not isinstance(topic_id, int):
            match = TOPIC_NAME.search(name)
            topic_id = int(match.group(1)) if match else basename(name)
        yield self.connector.raw(context, "topic", topic_id, {key: value for key, value in topic.items() if key != "post_stream"})
        valid: list[JsonDict] = []
        for post in posts:
            problem = mapping.post_problem(post)
            if problem is None:
                valid.append(post)
            else:
                number = post.get("post_number", "?") if isinstance(post, dict) else "?"
                yield Skipped(kind="message", reason=problem, where=f"{where} post #{number}")
        if not valid:
            yield Skipped(kind="topic", reason="topic has no readable posts", where=where)
            return
        category_id = topic.get("category_id")
        space_key = str(category_id) if category_id is not None else "none"
        space_id = context.id("space", space_key)
        if space_key not in self.spaces:
            self.spaces.add(space_key)
            known = self.categories.get(space_key)
            yield mapping.category_space(context, category_id, *(known or (None, None)))
        # A topic whose first post was deleted still needs a root; its earliest surviving post
        # stands in, and the conversation says so.
        root = next((p for p in valid if p["post_number"] == 1), None) or min(valid, key=lambda p: int(p["post_number"]))
        root_id = context.id("message", root["id"])
        by_number = {p["post_number"]: context.id("message", p["id"]) for p in valid}
        accepted: list[int] = []
        root_message: Message | None = None
        for post in valid:
            yield self.connector.raw(context, "post", post["id"], post)
            author_id = self.author(post)
            number = post["post_number"]
            target = post.get("reply_to_post_number")
            if post is root:
                reply_to_id, missing = None, False
            elif isinstance(target, int) and target != number and target in by_number:
                reply_to_id, missing = by_number[target], False
            else:
                reply_to_id, missing = root_id, target is not None
            message = mapping.post_message(
                context,
                post,
                conversation_id=root_id,
                reply_to_id=reply_to_id,
                space_id=space_id,
                author_id=author_id,
                reply_target_missing=missing,
            )
            if post is root:
                root_message = message
            if post.get("accepted_answer"):
                accepted.append(number)
            yield message
            yield from mapping.post_reactions(context, post, message.id)
        assert root_message is not None
        yield mapping.topic_conversation(context, topic, root_message, len(posts), accepted)

    def author(self, post: JsonDict) -> str | None:
        native = mapping.identity_native_id(post)
        if native is None:
            return None
        known = self.authors.get(native)
        if known is None:
            known = (post, {})
            self.authors[native] = known
        flags = known[1]
        for key in ("staff", "moderator", "admin"):
            if post.get(key):
                flags[key] = True
        return self.context.id("identity", native)
