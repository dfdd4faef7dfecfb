"""Pure functions from Stack Exchange dump rows (attribute dicts) to canonical records.

A row is the attribute dict of one ``<row .../>`` element, exactly as the dump has it (all
values strings). Functions raise :class:`~villagegreen.errors.ItemError` for a row that cannot
be mapped, which the reader turns into a counted skip.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime

from villagegreen.connectors.base import ReadContext
from villagegreen.connectors.html_text import Style, html_to_text
from villagegreen.connectors.html_tokens import Attrs
from villagegreen.errors import ItemError
from villagegreen.model import Conversation, Identity, JsonDict, Message, Reaction

Row = Mapping[str, str]

QUESTION = 1
ANSWER = 2

# The dump's documented PostTypeId values; only questions and answers are conversation.
POST_TYPES = {
    1: "question",
    2: "answer",
    3: "orphaned tag wiki",
    4: "tag wiki excerpt",
    5: "tag wiki",
    6: "moderator nomination",
    7: "wiki placeholder",
    8: "privilege wiki",
    9: "article",
    10: "collection",
}

VOTE_KINDS = {
    1: "accept",
    2: "upvote",
    3: "downvote",
    4: "offensive",
    5: "favorite",
    6: "close",
    7: "reopen",
    8: "bounty_start",
    9: "bounty_close",
    10: "deletion",
    11: "undeletion",
    12: "spam",
    13: "inform_moderator",
    15: "moderator_review",
    16: "approve_edit_suggestion",
}

# SE's image dialog pre-fills this alt text; it says nothing about the image.
_DEFAULT_ALT = "enter image description here"


def _image(attrs: Attrs) -> str:
    alt = (dict(attrs).get("alt") or "").strip()
    return f" [image: {alt}] " if alt and alt != _DEFAULT_ALT else " [image] "


# Bodies are rendered Markdown, so the text reads like the Markdown: quotes inline as "> "
# lines, nested lists indented, a "---" rule.
BODY = Style(outline=True, rule="---", image=_image)

# Older dumps write tags as "<a><b>", newer ones as "|a|b|".
_TAG = re.compile(r"[^<>|]+")

# The Community user (-1) is the site's background process, not a person.
COMMUNITY_USER = -1


def required_int(row: Row, name: str) -> int:
    try:
        return int(row[name])
    except (KeyError, ValueError):
        raise ItemError(f"{name} is missing or not a number") from None


def optional_int(row: Row, name: str) -> int | None:
    value = row.get(name)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        return None


def parse_time(value: str | None) -> datetime:
    """Dump timestamps are naive ISO strings in UTC; the API's carry an offset."""
    if not value:
        raise ItemError("CreationDate is missing")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ItemError(f"CreationDate {value[:40]!r} is not an ISO timestamp") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def parse_tags(value: str | None) -> list[str]:
    return _TAG.findall(value) if value else []


def post_type_name(type_id: int) -> str:
    return POST_TYPES.get(type_id, f"post type {type_id}")


def vote_kind(type_id: int) -> str:
    return VOTE_KINDS.get(type_id, f"vote_type_{type_id}")


def identity_from_user(context: ReadContext, row: Row) -> Identity:
    user_id = required_int(row, "Id")
    meta: JsonDict = {"reputation": optional_int(row, "Reputation") or 0}
    account = optional_int(row, "AccountId")
    if account is not None:
        # The network-wide account links one person's profiles across sites.
        meta["account_id"] = account
    return Identity(
        id=context.id("identity", user_id),
        source_id=context.source_id,
        native_id=str(user_id),
        display_name=row.get("DisplayName") or f"user{user_id}",
        is_bot=user_id == COMMUNITY_USER,
        meta=meta,
    )


def placeholder_identity(context: ReadContext, user_id: int | None, display_name: str | None) -> Identity:
    """An author the dump names but Users.xml lacks: a deleted account, or no Users.xml."""
    if user_id is None:
        name = display_name or "unknown"
        return Identity(
            id=context.id("identity", f"name:{name}"),
            source_id=context.source_id,
            native_id=f"name:{name}",
            display_name=name,
            meta={"deleted": True},
        )
    return Identity(
        id=context.id("identity", user_id),
        source_id=context.source_id,
        native_id=str(user_id),
        display_name=display_name or f"user{user_id}",
        is_bot=user_id == COMMUNITY_USER,
        meta={"not_in_users_xml": True},
    )


def conversation_from_question(context: ReadContext, row: Row, space_id: str) -> Conversation:
    post_id = required_int(row, "Id")
    meta: JsonDict = {
        "tags": parse_tags(row.get("Tags")),
        "score": optional_int(row, "Score") or 0,
        "view_count": optional_int(row, "ViewCount") or 0,
        "answer_count": optional_int(row, "AnswerCount") or 0,
    }
    accepted = optional_int(row, "AcceptedAnswerId")
    if accepted is not None:
        meta["accepted_answer_id"] = str(accepted)
    if row.get("ClosedDate"):
        meta["closed_at"] = parse_time(row["ClosedDate"]).isoformat()
    return Conversation(
        id=context.id("message", post_id),
        source_id=context.source_id,
        space_id=space_id,
        title=row.get("Title"),
        started_at=parse_time(row.get("CreationDate")),
        meta=meta,
    )


def message_from_post(
    context: ReadContext,
    row: Row,
    *,
    question_id: int,
    space_id: str,
    author_id: str | None,
    accepted: bool = False,
    edits: int = 0,
) -> Message:
    """A question (the conversation's root) or an answer (a reply to the question)."""
    post_id = required_int(row, "Id")
    is_question = post_id == question_id
    root = context.id("message", question_id)
    meta: JsonDict = {"score": optional_int(row, "Score") or 0}
    if accepted:
        meta["accepted"] = True
    if edits:
        meta["edits"] = edits
    if "ContentLicense" in row:
        # Stories quote posts; the licence version decides how they must attribute them.
        meta["license"] = row["ContentLicense"]
    return Message(
        id=root if is_question else context.id("message", post_id),
        source_id=context.source_id,
        native_id=str(post_id),
        conversation_id=root,
        reply_to_id=None if is_question else root,
        space_id=space_id,
        author_id=author_id,
        sent_at=parse_time(row.get("CreationDate")),
        text=html_to_text(row.get("Body") or "", BODY)[0],
        kind="question" if is_question else "answer",
        meta=meta,
    )


def message_from_comment(context: ReadContext, row: Row, *, post_id: int, question_id: int, space_id: str, author_id: str | None) -> Message:
    """A comment replies to the post it is on; its text is already plain (light markdown)."""
    comment_id = required_int(row, "Id")
    meta: JsonDict = {"score": optional_int(row, "Score") or 0}
    if "ContentLicense" in row:
        meta["license"] = row["ContentLicense"]
    return Message(
        id=context.id("message", f"c{comment_id}"),
        source_id=context.source_id,
        native_id=f"c{comment_id}",
        conversation_id=context.id("message", question_id),
        reply_to_id=context.id("message", post_id),
        space_id=space_id,
        author_id=author_id,
        sent_at=parse_time(row.get("CreationDate")),
        text=row.get("Text") or "",
        kind="comment",
        meta=meta,
    )


def reaction_from_vote(context: ReadContext, row: Row, *, post_id: int, kind: str, identity_id: str | None) -> Reaction:
    """A vote whose voter the dump names (favorites, bounties): one reaction per vote."""
    vote_id = required_int(row, "Id")
    return Reaction(
        id=context.id("reaction", f"v{vote_id}"),
        source_id=context.source_id,
        message_id=context.id("message", post_id),
        identity_id=identity_id,
        kind=kind,
        reacted_at=parse_time(row.get("CreationDate")),
    )


def aggregate_reaction(context: ReadContext, *, post_id: int, kind: str, count: int, first: datetime | None) -> Reaction:
    """Anonymous votes of one kind on one post, as one row: who voted is not in the dump anyway."""
    return Reaction(
        id=context.id("reaction", f"{post_id}:{kind}"),
        source_id=context.source_id,
        message_id=context.id("message", post_id),
        identity_id=None,
        kind=kind,
        count=count,
        reacted_at=first,
    )
