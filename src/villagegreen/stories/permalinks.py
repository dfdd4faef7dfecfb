"""Links to a message on its own platform, where the platform has stable ones.

- Stack Exchange: ``https://<site>/q/<id>`` for questions, ``/a/<id>`` for answers, and for a
  comment the post it comments on with ``#comment<id>_<post>`` (the site's own comment link);
  the site comes from the space's ``meta.url`` or its name (``conlang.stackexchange.com``).
- Discourse: ``https://<host>/t/<slug>/<topic_id>/<post_number>`` from the topic and post meta;
  the host is the source name when it looks like one (``discourse.urho3d.io``).
- Everything else: None (the message id still cites it).
"""

from __future__ import annotations

from villagegreen.analyses.lifecycle_threads import Thread, ThreadMessage


def _base(url_or_host: object) -> str | None:
    text = str(url_or_host or "").strip().rstrip("/")
    if not text:
        return None
    if text.startswith(("https://", "http://")):
        return text
    return f"https://{text}" if "." in text and "/" not in text and " " not in text else None


def permalink(thread: Thread, message: ThreadMessage) -> str | None:
    if thread.connector == "stackexchange":
        base = _base(thread.space_meta.get("url")) or _base(thread.space_name)
        if base is None:
            return None
        if message.kind == "comment" and message.native_id.startswith("c"):
            parent = thread.by_id().get(message.reply_to_id or "")
            if parent is None:
                return None
            return f"{base}/{'q' if parent.kind == 'question' else 'a'}/{parent.native_id}#comment{message.native_id[1:]}_{parent.native_id}"
        return f"{base}/{'q' if message.kind == 'question' else 'a'}/{message.native_id}"
    if thread.connector == "discourse":
        base = _base(thread.source_name)
        topic, slug = thread.meta.get("topic_id"), thread.meta.get("slug")
        number = message.post_number
        if base is None or topic is None or number is None:
            return None
        return f"{base}/t/{slug or 'topic'}/{topic}/{number}"
    return None
