"""The digest as Markdown and as an e-mail-safe HTML fragment (no CSS, no script, all escaped)."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from villagegreen.stories.digest import Digest

NOTHING = {
    "stories": "No story was approved this week.",
    "ripe": "No conversation is waiting for its story.",
    "unanswered": "Every question has an answer.",
}


def _credits(story: dict[str, Any]) -> str:
    names = list(story["contributors"])
    if story["unnamed_contributors"]:
        names.append(f"{story['unnamed_contributors']} member(s) who asked not to be named")
    return ", ".join(names) or "the group"


def _experts(question: dict[str, Any]) -> str:
    names = question["suggested_experts"]
    return f"could answer: {', '.join(names)}" if names else "nobody suggested yet"


def digest_markdown(digest: Digest) -> str:
    lines = [f"# {digest.title}", "", "## Health highlights", ""]
    lines += [f"- {h['text']}" for h in digest.highlights]
    lines += ["", "## Stories approved this week", ""]
    for s in digest.stories:
        link = f" ({s['link']})" if s["link"] else ""
        lines.append(f"### {s['title']}")
        lines += ["", f"*{s['space']}*{link}", ""] + [f"- {point}" for point in s["takeaways"]]
        lines += ["", f"Credited: {_credits(s)}.", ""]
    if not digest.stories:
        lines += [NOTHING["stories"], ""]
    lines += ["## Ripe for wrap-up", ""]
    lines += [f"- {r['title']} ({r['space']}): {r['reason']}" for r in digest.ripe] or [NOTHING["ripe"]]
    lines += ["", "## Unanswered questions", ""]
    lines += [f"- {q['title']} ({q['space']}, since {q['opened_at'][:10]}); {_experts(q)}" for q in digest.unanswered] or [NOTHING["unanswered"]]
    return "\n".join(lines).rstrip() + "\n"


def digest_html(digest: Digest) -> str:
    e = html.escape
    parts = [f'<article class="digest"><h1>{e(digest.title)}</h1>', "<h2>Health highlights</h2><ul>"]
    parts += [f"<li>{e(h['text'])}</li>" for h in digest.highlights]
    parts.append("</ul><h2>Stories approved this week</h2>")
    for s in digest.stories:
        heading = f'<a href="{e(s["link"])}">{e(s["title"])}</a>' if s["link"] else e(s["title"])
        points = "".join(f"<li>{e(point)}</li>" for point in s["takeaways"])
        parts.append(f"<h3>{heading}</h3><p><em>{e(s['space'])}</em></p><ul>{points}</ul><p>Credited: {e(_credits(s))}.</p>")
    if not digest.stories:
        parts.append(f"<p>{NOTHING['stories']}</p>")
    parts.append("<h2>Ripe for wrap-up</h2>")
    items = "".join(f"<li>{e(r['title'])} <em>({e(r['space'])})</em>: {e(r['reason'])}</li>" for r in digest.ripe)
    parts.append(f"<ul>{items}</ul>" if items else f"<p>{NOTHING['ripe']}</p>")
    parts.append("<h2>Unanswered questions</h2>")
    items = "".join(f"<li>{e(q['title'])} <em>({e(q['space'])}, since {e(q['opened_at'][:10])})</em>; {e(_experts(q))}</li>" for q in digest.unanswered)
    parts.append(f"<ul>{items}</ul>" if items else f"<p>{NOTHING['unanswered']}</p>")
    return "\n".join(parts) + "</article>\n"
