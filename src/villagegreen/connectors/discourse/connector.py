"""The Discourse export connector: detection, the community's name, and reading."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from itertools import islice
from pathlib import Path

from villagegreen.connectors.base import Connector, ReadContext
from villagegreen.connectors.discourse.export import CATEGORY_FILES, TOPIC_NAME, TopicReader, basename, topic_names
from villagegreen.connectors.tree import SourceTree
from villagegreen.model import Record

# Uploaded avatars live under /user_avatar/<site host>/..., the one place topic JSON names the
# site; letter avatars on the shared CDN do not, so several files are sampled.
_SITE_HOST = re.compile(rb"/user_avatar/([A-Za-z0-9][A-Za-z0-9-]*(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})/")
_SNIFF_BYTES = 64 * 1024
_KEY_SAMPLE_FILES = 12
_KEY_SAMPLE_BYTES = 512 * 1024
# Folder names a scraper gives the topics folder; the community is named one level up.
_GENERIC_FOLDERS = frozenset({"topics", "topic", "t", "json", "posts", "export", "data"})


class DiscourseConnector(Connector):
    name = "discourse"
    version = "1"
    formats = "folder or zip of Discourse topic JSON files (/t/<slug>/<id>.json responses, saved as <slug>.<id>.json)"
    priority = 40

    @classmethod
    def sniff(cls, tree: SourceTree) -> bool:
        # Lazily, as topic_names would list every JSON file of a 95,000-file Slack export first.
        named = (name for name in tree.glob(".json") if TOPIC_NAME.search(name) and basename(name) not in CATEGORY_FILES)
        candidates = islice(named, 2)
        # Native topic responses start with "post_stream"; Slack, Discord and chat exports never
        # contain that key.
        return any(b'"post_stream"' in tree.head(name, _SNIFF_BYTES) for name in candidates)

    def source_key(self, tree: SourceTree) -> str:
        hosts: Counter[str] = Counter()
        for name in islice(topic_names(tree), _KEY_SAMPLE_FILES):
            hosts.update(match.decode("ascii").lower() for match in _SITE_HOST.findall(tree.head(name, _KEY_SAMPLE_BYTES)))
        if hosts:
            # Most common first, then alphabetical, so the same files always give the same key.
            return min(hosts.items(), key=lambda item: (-item[1], item[0]))[0]
        return _folder_key(tree)

    def read(self, tree: SourceTree, context: ReadContext) -> Iterator[Record]:
        return TopicReader(self, tree, context).read()


def _folder_key(tree: SourceTree) -> str:
    path = tree.path.resolve()
    if tree.kind == "folder":
        folder = path
    elif tree.kind == "zip":
        folder = path.with_suffix("")
    else:
        folder = path.parent
    if folder.name.lower() in _GENERIC_FOLDERS and folder.parent != folder:
        folder = folder.parent
    return folder.name or str(Path(basename(str(path))))
