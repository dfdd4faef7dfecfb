"""The static site: a folder of Markdown and HTML pages with an index, for a wiki or an intranet.

Layout under the target's ``path``: ``<kind>/<slug>.md`` and ``<kind>/<slug>.html`` per item,
``index.md`` and ``index.html`` listing every page newest first, and ``index.json`` (the list
the indexes are rebuilt from: kind, id, title, pages, published date). Pages are overwritten in
place, so a folder synced into a wiki stays tidy. HTML pages are sanitised (formats.py).
"""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from villagegreen.errors import InputError
from villagegreen.publish.delivery import Delivery, Remote
from villagegreen.publish.formats import html_document
from villagegreen.publish.items import Item
from villagegreen.publish.targets import Target

MANIFEST = "index.json"


def slug(item: Item) -> str:
    return re.sub(r"[^a-z0-9]+", "-", item.item_id.lower()).strip("-") or "item"


def _manifest(folder: Path) -> list[dict[str, Any]]:
    path = folder / MANIFEST
    if not path.is_file():
        return []
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        raise InputError(f"{path} is not valid JSON; fix or delete it (the index is rebuilt from it)") from None
    return [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []


def prepare(item: Item, target: Target) -> Delivery:
    folder = Path(target.text("path"))
    page = f"{item.kind}/{slug(item)}"
    entry = {"kind": item.kind, "id": item.item_id, "title": item.title, "markdown": f"{page}.md", "html": f"{page}.html",
             "published": f"{datetime.now(UTC):%Y-%m-%d}"}  # fmt: skip
    entries = [entry] + [e for e in _manifest(folder) if (e.get("kind"), e.get("id")) != (item.kind, item.item_id)]
    index_md = "# Community stories\n\n" + "".join(f"- {e['published']} [{e['title']}]({e['markdown']}) ({e['kind']})\n" for e in entries)
    listing = "".join(f'<li>{html.escape(str(e["published"]))} <a href="{html.escape(str(e["html"]))}">{html.escape(str(e["title"]))}</a> '
                      f"({html.escape(str(e['kind']))})</li>" for e in entries)  # fmt: skip
    files = {
        f"{page}.md": item.markdown,
        f"{page}.html": html_document(item.title, item.html),
        "index.md": index_md,
        "index.html": html_document("Community stories", f"<h1>Community stories</h1><ul>{listing}</ul>", relative_links=True),
        MANIFEST: json.dumps(entries, ensure_ascii=False, indent=1) + "\n",
    }
    return Delivery(where=f"write {len(files)} files under {folder}", body="", files=files, method="WRITE", url=str(folder))


def send(delivery: Delivery, target: Target) -> Remote:
    folder = Path(delivery.url)
    written: list[Path] = []
    try:
        for relative, content in delivery.files.items():
            path = folder / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_suffix(path.suffix + ".tmp")
            temporary.write_text(content, encoding="utf-8")
            written.append(temporary)
        # Renamed only once every file is written: a failure leaves the old pages intact.
        for temporary in written:
            temporary.replace(temporary.with_suffix(""))
    except OSError as error:
        for temporary in written:
            temporary.unlink(missing_ok=True)
        raise InputError(f"target {target.name!r}: cannot write under {folder} ({error.strerror}); check the path and permissions") from None
    page = next(iter(delivery.files))
    return Remote(page, str((folder / page).resolve()))
