"""Fuzz the export readers: SourceTree + detect + connector.read on mutated small inputs.

Usage (atheris, i.e. libFuzzer, must be installed: ``pip install atheris``)::

    python fuzz/fuzz_readers.py -max_total_time=60          # bounded run, seeds generated
    python fuzz/fuzz_readers.py -max_total_time=600 -jobs=2  # longer, in parallel
    python fuzz/fuzz_readers.py --replay                     # the seeds once, no atheris needed

An input is one byte choosing a *template* and the bytes of that template's variable file.
Templates are the small fixtures under tests/data: a lone file (WhatsApp text, mbox, Telegram
or Discord JSON, ...) whose content is replaced, one file of a multi-file export (a Slack day
file, Posts.xml, a Zulip messages file, ...) with the rest kept as it is, or a whole zip whose
bytes are the input. Seeds are the fixtures unchanged, written to a temporary folder at start.

The property: reading never raises anything but InputError (ItemError, UnknownFormatError) or
RecursionError (which ``import_path`` turns into an InputError), whatever the bytes.
"""

from __future__ import annotations

import io
import os
import shutil
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "tests" / "data"
sys.path.insert(0, str(REPO / "src"))

try:
    import atheris
except ImportError:  # --replay works without it
    atheris = None
if "--replay" in sys.argv:
    atheris = None  # instrumenting costs seconds and a replay needs no coverage

if atheris is not None:
    with atheris.instrument_imports(include=["villagegreen"]):
        from villagegreen.connectors.base import ReadContext
        from villagegreen.connectors.registry import detect, registered_connectors
        from villagegreen.connectors.tree import SourceTree
        from villagegreen.errors import InputError

        # Connectors load lazily; load them here so that their code is instrumented too.
        registered_connectors()
else:
    from villagegreen.connectors.base import ReadContext
    from villagegreen.connectors.registry import detect, registered_connectors
    from villagegreen.connectors.tree import SourceTree
    from villagegreen.errors import InputError

# Per process: an input this large is not "small" and only slows the fuzzer down.
MAX_INPUT = 64 * 1024


@dataclass(frozen=True)
class Template:
    """``folder``: the fixture folder copied around the variable file (None: a lone file);
    ``variable``: the file, relative to the folder, that the input replaces; ``zip``: the input
    is a whole zip archive."""

    name: str
    folder: Path | None
    variable: str
    zip: bool = False


TEMPLATES = (
    Template("whatsapp", None, "WhatsApp Chat with Fuzz.txt"),
    Template("mbox", None, "list.mbox"),
    Template("telegram", None, "result.json"),
    Template("discord", None, "Guild - general [920000000000000001].json"),
    Template("matrix", None, "matrix - Room - Chat Export - 2024-04-20.json"),
    Template("mattermost", None, "import.jsonl"),
    Template("slack-day", DATA / "slack" / "synthetic", "general/2020-01-01.json"),
    Template("slack-channels", DATA / "slack" / "synthetic", "channels.json"),
    Template("stackexchange-posts", DATA / "stackexchange" / "conlang", "Posts.xml"),
    Template("zulip-messages", DATA / "zulip" / "export", "zulip-export-riverside/messages-000001.json"),
    Template("teams-messages", DATA / "teams" / "export", "general/messages-1.json"),
    Template("discourse-topic", DATA / "discourse" / "forum", "topics/welcome-and-first-steps.10.json"),
    Template("slack-zip", DATA / "slack" / "synthetic", "", zip=True),
)
_SEED_FILES = {
    "whatsapp": DATA / "whatsapp" / "ios-12h.txt",
    "mbox": DATA / "mail" / "standard.mbox",
    "telegram": DATA / "telegram" / "chat" / "result.json",
    "discord": next((DATA / "discord" / "export").glob("*general*920*.json"), DATA / "discord" / "README.md"),
    "matrix": next((DATA / "matrix" / "element").glob("*.json"), DATA / "matrix" / "README.md"),
    "mattermost": DATA / "mattermost" / "bulk" / "import.jsonl",
}


def seeds() -> Iterator[bytes]:
    for index, template in enumerate(TEMPLATES):
        if template.zip and template.folder is not None:
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
                for path in sorted(template.folder.rglob("*")):
                    if path.is_file():
                        archive.write(path, path.relative_to(template.folder).as_posix())
            content = buffer.getvalue()
        elif template.folder is not None:
            content = (template.folder / template.variable).read_bytes()
        else:
            content = _SEED_FILES[template.name].read_bytes()
        yield bytes([index]) + content[:MAX_INPUT]


# libFuzzer ends the process with exit(), so no Python clean-up runs: the work folders live in
# one place, and each run removes those of processes that are gone.
FUZZ_HOME = Path(tempfile.gettempdir()) / "villagegreen-fuzz"


def _remove_stale_workspaces() -> None:
    for folder in FUZZ_HOME.glob("work-*"):
        try:
            os.kill(int(folder.name.removeprefix("work-")), 0)
        except (ValueError, ProcessLookupError):
            shutil.rmtree(folder, ignore_errors=True)
        except PermissionError:  # alive, someone else's
            continue


class Workspace:
    """Folders prepared once per template; each input only rewrites the variable file."""

    def __init__(self) -> None:
        _remove_stale_workspaces()
        self.root = FUZZ_HOME / f"work-{os.getpid()}"
        shutil.rmtree(self.root, ignore_errors=True)
        self.root.mkdir(parents=True)
        self.paths: list[Path] = []
        for index, template in enumerate(TEMPLATES):
            base = self.root / str(index)
            if template.zip:
                base.mkdir()
                self.paths.append(base / "export.zip")
            elif template.folder is not None:
                shutil.copytree(template.folder, base)
                self.paths.append(base)
            else:
                base.mkdir()
                self.paths.append(base / template.variable)

    def place(self, data: bytes) -> Path:
        index = data[0] % len(TEMPLATES)
        template, target = TEMPLATES[index], self.paths[index]
        written = target if template.zip or template.folder is None else target / template.variable
        written.write_bytes(data[1:])
        return target


def check_one(workspace: Workspace, data: bytes) -> None:
    """Read one input as the importer would; only the expected errors may escape."""
    if not data or len(data) > MAX_INPUT:
        return
    path = workspace.place(data)
    context = ReadContext(source_id="fuzz", source_name="fuzz", include_private=True, fetched_at=datetime(2024, 1, 1, tzinfo=UTC))
    try:
        with SourceTree(path) as tree:
            connector = detect(tree)()
            connector.source_key(tree)
            for _record in connector.read(tree, context):
                pass
    except (InputError, RecursionError):
        return


def main() -> None:
    registered_connectors()
    workspace = Workspace()
    try:
        if "--replay" in sys.argv:
            for seed in seeds():
                check_one(workspace, seed)
            print(f"replayed {len(TEMPLATES)} seeds without a crash")
            return
        if atheris is None:
            sys.exit("atheris is not installed: pip install atheris (or run with --replay)")
        args = [*sys.argv, f"-max_len={MAX_INPUT}"]
        if not any(not arg.startswith("-") for arg in sys.argv[1:]):
            # No corpus folder or saved input named: the shared corpus, grown by earlier runs
            # and started from the seeds.
            corpus = FUZZ_HOME / "corpus"
            corpus.mkdir(parents=True, exist_ok=True)
            for number, seed in enumerate(seeds()):
                (corpus / f"seed-{number:02d}").write_bytes(seed)
            args.append(str(corpus))
        atheris.Setup(args, lambda data: check_one(workspace, data))
        atheris.Fuzz()
    finally:
        shutil.rmtree(workspace.root, ignore_errors=True)


if __name__ == "__main__":
    main()
