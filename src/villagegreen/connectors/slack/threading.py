"""Conversations for a Slack channel's unthreaded messages, by flat-channel disentanglement.

Slack records threads, and people in busy channels also just answer in the channel. The rule,
chosen so that no recorded thread is ever split or merged:

- a reply inside a thread keeps its thread (it is not in the channel's stream, so it is never
  chosen as anyone's parent);
- a thread root that has replies stays the root of its own conversation, but a later
  unthreaded message may join it (an answer given in the channel instead of the thread);
- every other top-level message (no replies) may join an earlier unthreaded message's or
  thread root's conversation, with ``reply_to_id`` = the inferred parent and
  ``meta.reply_inferred`` = true, or starts a conversation of its own.

A space's records are held until all of it is read (memory grows with the largest channel).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from villagegreen.connectors.base import ReadContext
from villagegreen.connectors.disentangle import place_messages
from villagegreen.connectors.slack.directory import Directory
from villagegreen.model import Conversation, Message, Record


def thread_space(records: Iterable[Record], people: Directory, context: ReadContext) -> Iterator[Record]:
    """One space's records, with its unthreaded messages threaded (see the module's rule).

    A Conversation the mapper yielded for a message that has now joined an earlier
    conversation is dropped; the others (titles and all) are kept as they were.
    """
    held = list(records)
    messages = [record for record in held if isinstance(record, Message)]
    in_threads = {message.id for message in messages if message.conversation_id != message.id}
    with_replies = {message.conversation_id for message in messages if message.conversation_id != message.id}
    # Names are read after the space is mapped: authors missing from users.json are known only then.
    place_messages(messages, people.names_by_identity(context), keep_roots=with_replies, off_stream=in_threads)
    joined = {message.id for message in messages if message.conversation_id != message.id}
    for record in held:
        if not (isinstance(record, Conversation) and record.id in joined):
            yield record
