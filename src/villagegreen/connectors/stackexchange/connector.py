"""``StackExchangeConnector``: detection, the site name and reading of a data dump."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import ClassVar

from villagegreen.connectors.base import Connector, ReadContext
from villagegreen.connectors.stackexchange.export import DumpReader, locate
from villagegreen.connectors.tree import SourceTree
from villagegreen.errors import InputError
from villagegreen.model import Record

# After an optional BOM, XML declaration and comments, the root is <posts> (a DOCTYPE naming
# posts also counts, so that a hostile file reaches the reader and is refused by name there).
_POSTS_ROOT = re.compile(rb"^(?:\xef\xbb\xbf)?(?:\s|<\?.*?\?>|<!--.*?-->)*<(?:posts[\s>/]|!DOCTYPE\s+posts\b)", re.DOTALL)

_SITE_HOST = re.compile(
    r"(?<![\w.-])((?:[a-z0-9-]+\.)*(?:stackexchange\.com|stackoverflow\.com|superuser\.com|serverfault\.com"
    r"|askubuntu\.com|mathoverflow\.net|stackapps\.com))(?![\w-])",
    re.IGNORECASE,
)
# Hosts a readme or licence mentions that are not the site the dump is of.
_NOT_THE_SITE = frozenset({"stackexchange.com", "meta.stackexchange.com", "data.stackexchange.com", "api.stackexchange.com"})
_NOTE_FILES = re.compile(r"^(readme|license|licence|source|attribution)[^/]*$", re.IGNORECASE)
_NOTE_MAX_BYTES = 64 * 1024
_ARCHIVE_SUFFIX = re.compile(r"\.(7z|zip)$", re.IGNORECASE)


class StackExchangeConnector(Connector):
    name: ClassVar[str] = "stackexchange"
    version: ClassVar[str] = "1.0.0"
    formats: ClassVar[str] = "Stack Exchange data dump: one site's folder or zip of Posts.xml, Users.xml, Comments.xml, Votes.xml (unpack the .7z first)"
    # Posts.xml with a <posts> root is unambiguous, so it may be asked before looser sniffers.
    priority: ClassVar[int] = 20

    @classmethod
    def sniff(cls, tree: SourceTree) -> bool:
        posts = locate(tree).get("Posts.xml")
        if posts is None:
            return False
        try:
            with tree.open(posts) as stream:
                head = stream.read(1024)
        except (InputError, OSError, EOFError):
            return False
        return _POSTS_ROOT.match(head) is not None

    def source_key(self, tree: SourceTree) -> str:
        """The site's host (``conlang.stackexchange.com``) where the folder name or a note names it."""
        labels = _labels(tree)
        for label in labels:
            if (found := _SITE_HOST.search(label)) is not None:
                return found.group(1).lower()
        if (noted := _host_in_notes(tree)) is not None:
            return noted
        return labels[0].lower() if labels and labels[0] else "stackexchange"

    def read(self, tree: SourceTree, context: ReadContext) -> Iterator[Record]:
        return DumpReader(self, tree, context, context.source_name or self.source_key(tree)).read()


def _labels(tree: SourceTree) -> list[str]:
    """Names that may carry the site: the folder holding Posts.xml, then the input's own name."""
    labels: list[str] = []
    posts = locate(tree).get("Posts.xml", "")
    parent = PurePosixPath(posts).parent.name
    if parent:
        labels.append(parent)
    if tree.kind == "folder":
        labels.append(tree.path.resolve().name)
    elif tree.kind == "zip":
        labels.append(_ARCHIVE_SUFFIX.sub("", tree.path.name))
    else:
        labels.append(tree.path.resolve().parent.name)
    return [_ARCHIVE_SUFFIX.sub("", label) for label in labels]


def _host_in_notes(tree: SourceTree) -> str | None:
    """A site host named in a readme, licence, SOURCE or ATTRIBUTION file beside Posts.xml."""
    posts = locate(tree).get("Posts.xml")
    if posts is None or tree.kind == "file":
        return None
    folder = posts.rpartition("/")[0]
    for name in tree.names():
        directory, _, base = name.rpartition("/")
        if directory != folder or not _NOTE_FILES.match(base) or tree.size(name) > _NOTE_MAX_BYTES:
            continue
        text = tree.read_bytes(name).decode("utf-8", errors="replace")
        for found in _SITE_HOST.finditer(text):
            host = found.group(1).lower()
            if host not in _NOT_THE_SITE:
                return host
    return None
