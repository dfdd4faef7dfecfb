"""Conversation roots from reply links, shared by every connector whose platform links replies.

Chat platforms (Discord, Telegram) link a reply to the message it answers, not to the thread
root, so the root is found by following links. Kept here, beside the connectors that use it,
because it is the same rule for each of them.
"""

from __future__ import annotations

from collections.abc import Mapping


def resolve_roots(parents: Mapping[str, str | None]) -> dict[str, str]:
    """Each message's conversation root: follow reply links while they stay inside the file.

    ``parents`` maps every message of the file to the native id it replies to (or None). A
    reply to a message outside the file is rooted at that message (the store infers the
    conversation). A reply cycle, which only a corrupt file can hold, is cut where it closes:
    that message becomes a root.
    """
    roots: dict[str, str] = {}
    for start in parents:
        path: list[str] = []
        on_path: set[str] = set()
        current = start
        while True:
            if current in roots:
                root = roots[current]
                break
            parent = parents[current]
            path.append(current)
            on_path.add(current)
            if parent is None or parent == current or parent in on_path:
                root = current
                break
            if parent not in parents:
                root = parent
                break
            current = parent
        for node in path:
            roots[node] = root
    return roots
