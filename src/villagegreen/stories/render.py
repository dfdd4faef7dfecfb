"""One Story, three renderings: Markdown, HTML (every text escaped) and JSON.

Citations render as numbered references; a message without a permalink is cited by its id.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable

from villagegreen.stories.model import Citation, Statement, Story

_SECTIONS = (("Context", "context"), ("How the group built its answer", "narrative"), ("Key takeaways", "takeaways"),
             ("Open or contested", "open_points"))  # fmt: skip


def _refs(citations: Iterable[Citation]) -> str:
    return " ".join(f"[{c.message_id}]({c.permalink})" if c.permalink else f"[{c.message_id}]" for c in citations)


def to_markdown(story: Story) -> str:
    ids = ", ".join(f"`{cid}`" for cid in story.conversation_ids())
    lines = [f"# {story.title}", "", f"*{story.space}* · conversation{'s' if story.conversations else ''} {ids}", ""]
    for heading, attr in _SECTIONS:
        statements: tuple[Statement, ...] = getattr(story, attr)
        if statements:
            lines += [f"## {heading}", ""] + [f"- {s.text} {_refs(s.citations)}" for s in statements] + [""]
    lines += ["## Contributors", ""]
    for c in story.contributors:
        acts = ", ".join(f"{n} {a}" for a, n in sorted(c.acts.items()))
        lines.append(f"- {c.name}: {c.messages} message{'s' if c.messages != 1 else ''} ({acts}) {_refs(c.citations)}")
    if story.unnamed_contributors:
        lines.append(f"- and {story.unnamed_contributors} member(s) who asked not to be named")
    lines += [""] + [f"*{note}*" for note in story.notes]
    return "\n".join(lines).rstrip() + "\n"


def _html_refs(citations: Iterable[Citation]) -> str:
    out = []
    for c in citations:
        ident = html.escape(c.message_id)
        out.append(f'<a href="{html.escape(c.permalink)}">[{ident}]</a>' if c.permalink else f"[{ident}]")
    return f' <span class="cite">{" ".join(out)}</span>'


def to_html(story: Story) -> str:
    e = html.escape
    parts = [f'<article class="story"><h1>{e(story.title)}</h1>', f'<p class="meta">{e(story.space)}</p>']
    for heading, attr in _SECTIONS:
        statements: tuple[Statement, ...] = getattr(story, attr)
        if statements:
            items = "".join(f"<li>{e(s.text)}{_html_refs(s.citations)}</li>" for s in statements)
            parts.append(f"<h2>{e(heading)}</h2><ul>{items}</ul>")
    people = "".join(f"<li>{e(c.name)}: {c.messages} messages{_html_refs(c.citations)}</li>" for c in story.contributors)
    if story.unnamed_contributors:
        people += f"<li>and {story.unnamed_contributors} member(s) who asked not to be named</li>"
    parts.append(f"<h2>Contributors</h2><ul>{people}</ul>")
    parts += [f'<p class="note">{e(note)}</p>' for note in story.notes]
    return "\n".join(parts) + "</article>\n"


def to_json(story: Story) -> str:
    return json.dumps(story.to_dict(), indent=2, ensure_ascii=False)


def render(story: Story, fmt: str) -> str:
    renderers = {"md": to_markdown, "html": to_html, "json": to_json}
    return renderers[fmt](story)
