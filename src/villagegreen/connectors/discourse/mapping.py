"""Pure functions from Discourse topic and post payloads to canonical records.

A live API sync (``/t/<id>.json`` and ``/posts.json``) returns the same payloads as an export
of topic files, so both paths share these functions and produce identical rows.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from villagegreen.connectors.base import ReadContext
from villagegreen.connectors.html_text import Style, html_to_text
from villagegreen.connectors.html_tokens import Attrs
from villagegreen.model import Conversation, Identity, JsonDict, Message, Reaction, Space

# actions_summary ids (Discourse PostActionType): 2 is "like"; the others are flags and
# bookmarks that public topic JSON does not report with counts.
LIKE_ACTION = 2
# post_type values: 1 regular, 2 moderator action, 3 small action ("closed", "pinned", "split"),
# 4 whisper (staff only).
POST_KINDS = {2: "moderator_action", 3: "small_action", 4: "whisper"}
# Counters kept on every message so analyses can rely on the key being present.
POST_COUNTERS = ("reads", "readers_count", "reply_count", "quote_count", "incoming_link_count", "score")


def _image(attrs: Attrs) -> str:
    values = dict(attrs)
    cls = values.get("class") or ""
    # Avatars (in quote headers) and favicons (in oneboxes) are chrome, not what anyone posted.
    if "avatar" in cls or "site-icon" in cls:
        return ""
    return (values.get("alt") or "").strip() or "[image]"


def _onebox(tag: str, cls: str, attrs: Attrs) -> str | None:
    """The URL a onebox (a link preview Discourse generates) stands for; "" for its first link."""
    if not (("onebox" in cls and tag in ("aside", "div", "pre")) or "lazyYT" in cls):
        return None
    values = dict(attrs)
    url = values.get("data-onebox-src") or ""
    if not url and values.get("data-youtube-id"):
        url = f"https://www.youtube.com/watch?v={values['data-youtube-id']}"
    # Older oneboxes carry the pasted URL only on their first link.
    return url


# Analyses (topics, expertise, sentiment) must see what a person wrote, not what they quoted,
# so quotes (<aside class="quote"> and <blockquote>) are kept apart. Dropped classes: the quote
# header (avatar + "name:"), lightbox image metadata ("1000×563") and its icons.
COOKED = Style(
    separate_quotes=True,
    image=_image,
    preview=_onebox,
    drop_classes=frozenset({"title", "meta", "quote-controls", "informations"}),
)


def parse_time(value: Any) -> datetime:
    """A UTC datetime from Discourse's ISO 8601 strings ("2014-08-12T03:20:44.000Z")."""
    if not isinstance(value, str):
        raise ValueError(f"timestamp is {type(value).__name__}, not a string")
    parsed = datetime.fromisoformat(value)
    # A timestamp without an offset comes from a hand-edited or foreign dump; Discourse itself
    # always writes UTC, so that is the only sensible reading.
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def post_problem(post: Any) -> str | None:
    """Why ``post`` cannot become a message, or None when it can."""
    if not isinstance(post, dict):
        return "post is not a JSON object"
    if not isinstance(post.get("id"), int) or not isinstance(post.get("post_number"), int):
        return "post has no numeric id or post_number"
    try:
        parse_time(post.get("created_at"))
    except ValueError:
        return "post has no valid created_at"
    if not isinstance(post.get("cooked", ""), str):
        return "post body (cooked) is not text"
    return None


def category_space(context: ReadContext, category_id: Any, name: str | None = None, slug: str | None = None) -> Space:
    meta: JsonDict = {"slug": slug} if slug else {}
    native = str(category_id) if category_id is not None else "none"
    return Space(
        id=context.id("space", native),
        source_id=context.source_id,
        native_id=native,
        name=name or (f"category {category_id}" if category_id is not None else "uncategorised"),
        kind="category",
        meta=meta,
    )


def identity_native_id(post: JsonDict) -> str | None:
    """``user_id`` when present, else the username; None for a post with neither (author unknown)."""
    user_id = post.get("user_id")
    if isinstance(user_id, int):
        return str(user_id)
    username = post.get("username")
    return username if isinstance(username, str) and username else None


def post_identity(context: ReadContext, post: JsonDict, seen_flags: JsonDict) -> Identity:
    """The author of ``post``; ``seen_flags`` are staff roles seen on any of their posts."""
    user_id = post.get("user_id")
    native = identity_native_id(post) or ""
    handle = post.get("username") if isinstance(post.get("username"), str) and post["username"] else None
    meta: JsonDict = {key: True for key in ("staff", "moderator", "admin") if seen_flags.get(key)}
    if isinstance(post.get("trust_level"), int):
        meta["trust_level"] = post["trust_level"]
    return Identity(
        id=context.id("identity", native),
        source_id=context.source_id,
        native_id=native,
        display_name=post.get("name") or handle or f"user {native}",
        handle=handle,
        # Discourse's own accounts (system, discobot) have negative ids.
        is_bot=isinstance(user_id, int) and user_id < 0,
        meta=meta,
    )


def topic_conversation(context: ReadContext, topic: JsonDict, root: Message, stream_length: int, accepted_numbers: list[int]) -> Conversation:
    accepted = topic.get("accepted_answer")
    meta: JsonDict = {
        "topic_id": topic.get("id"),
        "slug": topic.get("slug"),
        "views": topic.get("views"),
        "posts_count": topic.get("posts_count"),
        "like_count": topic.get("like_count"),
        "category_id": topic.get("category_id"),
        "tags": [t if isinstance(t, str) else t.get("name") for t in topic.get("tags") or [] if isinstance(t, str | dict)],
        "participant_count": topic.get("participant_count"),
    }
    if isinstance(accepted, dict) and isinstance(accepted.get("post_number"), int):
        meta["accepted_answer_post_number"] = accepted["post_number"]
    elif accepted_numbers:
        # Older solved-plugin versions flag the post but leave the topic summary out.
        meta["accepted_answer_post_number"] = min(accepted_numbers)
    if len(accepted_numbers) > 1:
        meta["accepted_answer_post_numbers"] = sorted(accepted_numbers)
    if stream_length != topic.get("posts_count"):
        # A topic JSON response embeds at most ~20 posts; a dump that did not page through
        # /t/<id>/posts.json has fewer posts than the topic says it has.
        meta["posts_in_export"] = stream_length
    if root.meta.get("post_number") != 1:
        # The first post was deleted or is missing; the earliest surviving post is the root.
        meta["root_missing"] = True
    for flag in ("closed", "archived", "pinned", "pinned_globally"):
        if topic.get(flag):
            meta[flag] = True
    try:
        started_at = parse_time(topic.get("created_at"))
    except ValueError:
        started_at = root.sent_at
    return Conversation(
        id=root.id,
        source_id=context.source_id,
        space_id=root.space_id,
        title=topic.get("title") or topic.get("fancy_title"),
        started_at=started_at,
        meta=meta,
    )


def post_message(
    context: ReadContext,
    post: JsonDict,
    *,
    conversation_id: str,
    reply_to_id: str | None,
    space_id: str,
    author_id: str | None,
    reply_target_missing: bool,
) -> Message:
    text, quotes = html_to_text(post.get("cooked") or "", COOKED)
    meta: JsonDict = {name: post.get(name) for name in POST_COUNTERS}
    meta["post_number"] = post["post_number"]
    if post.get("reply_to_post_number") is not None:
        meta["reply_to_post_number"] = post["reply_to_post_number"]
        if reply_target_missing:
            # The post it answered was deleted or is missing from the export; it hangs off the root.
            meta["reply_to_missing"] = True
    if quotes:
        meta["quotes"] = len(quotes)
        meta["quoted_text"] = "\n\n".join(quotes)
    if post.get("accepted_answer"):
        meta["accepted_answer"] = True
    if post.get("action_code"):
        meta["action_code"] = post["action_code"]
    updated = post.get("updated_at")
    if post.get("version", 1) != 1 and isinstance(updated, str):
        meta["edited_at"] = updated
        meta["version"] = post["version"]
    for flag in ("hidden", "wiki", "via_email", "user_deleted"):
        if post.get(flag):
            meta[flag] = True
    kind = POST_KINDS.get(post.get("post_type", 1), "message")
    if kind == "message" and post.get("accepted_answer"):
        kind = "answer"
    return Message(
        id=context.id("message", post["id"]),
        source_id=context.source_id,
        native_id=str(post["id"]),
        conversation_id=conversation_id,
        reply_to_id=reply_to_id,
        space_id=space_id,
        author_id=author_id,
        sent_at=parse_time(post["created_at"]),
        text=text,
        kind=kind,
        meta=meta,
    )


def post_reactions(context: ReadContext, post: JsonDict, message_id: str) -> list[Reaction]:
    """Likes (counts only: topic JSON never says who liked) and discourse-reactions emoji counts."""
    found: list[Reaction] = []
    for action in post.get("actions_summary") or ():
        if isinstance(action, dict) and action.get("id") == LIKE_ACTION and isinstance(action.get("count"), int) and action["count"] > 0:
            found.append(_reaction(context, post, message_id, "like", action["count"]))
    for reaction in post.get("reactions") or ():
        # The discourse-reactions plugin records its heart as an ordinary like too; skip it there.
        if (
            isinstance(reaction, dict)
            and isinstance(reaction.get("id"), str)
            and reaction["id"] != "heart"
            and isinstance(reaction.get("count"), int)
            and reaction["count"] > 0
        ):
            found.append(_reaction(context, post, message_id, reaction["id"], reaction["count"]))
    return found


def _reaction(context: ReadContext, post: JsonDict, message_id: str, kind: str, count: int) -> Reaction:
    return Reaction(
        id=context.id("reaction", f"{post['id']}:{kind}"),
        source_id=context.source_id,
        message_id=message_id,
        identity_id=None,
        kind=kind,
        count=count,
    )
