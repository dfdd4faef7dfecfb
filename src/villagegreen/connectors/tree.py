"""A read-only view over an input path: a folder, a zip archive or a single file.

Connectors read their input only through :class:`SourceTree`, so every one of them gets the
same protections for free: zip members with absolute or ``..`` paths are refused, the total
uncompressed size and the compression ratio of each member and of the whole archive are
bounded (zip bombs, including many small ones), and a corrupt archive is one clear error
instead of a traceback.
"""

from __future__ import annotations

import io
import os
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath
from types import TracebackType
from typing import IO

from villagegreen.errors import InputError

# Generous for real exports (a large Slack workspace zip is a few GB uncompressed) while
# stopping a bomb long before it exhausts memory or disk.
MAX_UNCOMPRESSED_BYTES = 20 * 1024**3
MAX_COMPRESSION_RATIO = 200
# Many members each under the per-member check can still add up to a bomb, so the whole
# archive's ratio is checked too once it expands past this much.
AGGREGATE_RATIO_FLOOR = 64 * 1024**2


class SourceTree:
    """Files under one input, addressed by relative POSIX paths."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._zip: zipfile.ZipFile | None = None
        self._names: list[str]
        if not path.exists():
            raise InputError(f"{path}: no such file or folder; check the path and try again")
        if path.is_dir():
            self.kind = "folder"
            self._names = sorted(_walk(path))
        elif zipfile.is_zipfile(path):
            self.kind = "zip"
            self._zip = _open_zip(path)
            self._names = sorted(_checked_members(self._zip, path))
        elif path.suffix.lower() == ".zip":
            raise InputError(f"{path}: not a readable zip archive (corrupt or truncated); re-download or re-export it")
        else:
            self.kind = "file"
            self._names = [path.name]
        self._name_set = frozenset(self._names)
        self._by_depth: dict[str, list[str]] = {}

    def __enter__(self) -> SourceTree:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def reopen(self) -> None:
        """Open the archive again, for a forked process: a zip's file offset is shared across a fork.

        The members were checked when the tree was first opened; only the file handle is new.
        """
        if self._zip is not None:
            self._zip = _open_zip(self.path)

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()
            self._zip = None

    @property
    def location(self) -> str:
        return str(self.path.resolve())

    def names(self) -> list[str]:
        """Every file's relative path, sorted."""
        return list(self._names)

    def exists(self, name: str) -> bool:
        return name in self._name_set

    def by_depth(self, suffix: str) -> list[str]:
        """Files whose lower-cased paths end with ``suffix``, shallowest first, then by path.

        Cached: detection asks several connectors' sniffs for the same listing, and sorting a
        95,000-file export's names once per sniff cost about 2 CPU-s of a 1M-message import.
        """
        cached = self._by_depth.get(suffix)
        if cached is None:
            cached = [name for name in self._names if name.lower().endswith(suffix)]
            cached.sort(key=_depth)  # stable, and the names are sorted: (depth, path) order
            self._by_depth[suffix] = cached
        return list(cached)

    def glob(self, suffix: str = "", under: str = "") -> Iterator[str]:
        """Relative paths under the folder ``under`` whose names end with ``suffix``."""
        prefix = f"{under.rstrip('/')}/" if under else ""
        for name in self._names:
            if name.startswith(prefix) and name.endswith(suffix):
                yield name

    def open(self, name: str) -> IO[bytes]:
        """A binary stream of one file; the caller closes it."""
        if name not in self._name_set:
            raise InputError(f"{self.path}: expected file {name!r} is missing; is this a complete export?")
        try:
            if self._zip is not None:
                return io.BufferedReader(_CheckedMember(self._zip.open(name), self.describe(name)))
            if self.kind == "file":
                return self.path.open("rb")
            return (self.path / name).open("rb")
        # NotImplementedError: a compression method zipfile lacks; RuntimeError: encrypted.
        except (OSError, zipfile.BadZipFile, NotImplementedError, RuntimeError, ValueError) as error:
            raise InputError(f"{self.path}: cannot read {name!r} ({error}); re-export or check permissions") from error

    def read_bytes(self, name: str) -> bytes:
        try:
            with self.open(name) as stream:
                return stream.read()
        except (OSError, zipfile.BadZipFile, EOFError) as error:
            raise InputError(f"{self.path}: {name!r} is corrupt or truncated ({error}); re-export it") from error

    def head(self, name: str, size: int) -> bytes:
        """The first ``size`` bytes of a file, or b"" when it cannot be read: for ``sniff``,
        which must answer "not mine" rather than fail on someone else's broken input."""
        try:
            with self.open(name) as stream:
                return stream.read(size)
        except (InputError, OSError, EOFError, zipfile.BadZipFile):
            return b""

    def size(self, name: str) -> int:
        if self._zip is not None:
            return self._zip.getinfo(name).file_size
        if self.kind == "file":
            return self.path.stat().st_size
        return (self.path / name).stat().st_size

    def describe(self, name: str) -> str:
        """``name`` as a user would locate it, for error messages."""
        return str(self.path) if self.kind == "file" else f"{self.path}/{name}" if self.kind == "folder" else f"{self.path}!{name}"


class _CheckedMember(io.RawIOBase):
    """A zip member whose corrupt compressed data (zlib.error, a bad CRC, a short read) is one
    InputError, because zipfile raises those mid-read where no connector expects them."""

    def __init__(self, stream: IO[bytes], where: str) -> None:
        super().__init__()
        self._stream = stream
        self._where = where

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        try:
            data = self._stream.read(len(buffer))
        except (zlib.error, zipfile.BadZipFile, EOFError, OSError) as error:
            raise InputError(f"{self._where}: corrupt or truncated inside the archive ({error}); re-download or re-export it") from None
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._stream.close()
        super().close()


def first_named(names: list[str], preferred: Callable[[str], bool]) -> list[str]:
    """``names`` with those whose lower-cased base name is ``preferred`` first; both keep their order."""
    first: list[str] = []
    rest: list[str] = []
    for name in names:
        (first if preferred(name.rpartition("/")[2].lower()) else rest).append(name)
    return first + rest


def _depth(name: str) -> int:
    return name.count("/")


def _walk(root: Path) -> Iterator[str]:
    """Relative POSIX paths of the files under ``root``, hidden files and folders left out.

    Built as strings, not Path objects: a 1M-message Slack export has 95,000 files, and the
    Path version took 1.47 CPU-s of the import's serial start against 0.15 (measured at 1M).
    """
    base = os.fspath(root)
    for directory, dirnames, filenames in os.walk(base):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        rel = os.path.relpath(directory, base)
        prefix = "" if rel == os.curdir else rel.replace(os.sep, "/") + "/"
        yield from (prefix + filename for filename in filenames if not filename.startswith("."))


def _open_zip(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    # NotImplementedError: a damaged header claiming a zip version zipfile does not know.
    except (zipfile.BadZipFile, OSError, NotImplementedError, ValueError, EOFError) as error:
        raise InputError(f"{path}: not a readable zip archive ({error}); re-download or re-export it") from error


def _checked_members(archive: zipfile.ZipFile, path: Path) -> Iterator[str]:
    total = compressed = 0
    for info in archive.infolist():
        if not info.filename:
            raise InputError(f"{path}: an archive member has no name (a damaged archive); re-download or re-export it")
        if info.is_dir():
            continue
        name = info.filename
        pure = PurePosixPath(name)
        if name.startswith(("/", "\\")) or ".." in pure.parts or ":" in pure.parts[0]:
            raise InputError(f"{path}: archive member {name!r} points outside the archive; refusing to read it")
        ratio = info.file_size / max(info.compress_size, 1)
        total += info.file_size
        compressed += info.compress_size
        if ratio > MAX_COMPRESSION_RATIO and info.file_size > 1024**2:
            raise InputError(f"{path}: member {name!r} expands {ratio:.0f}x (a zip bomb?); refusing to read it")
        if total > AGGREGATE_RATIO_FLOOR and total / max(compressed, 1) > MAX_COMPRESSION_RATIO:
            raise InputError(f"{path}: its members expand {total / max(compressed, 1):.0f}x together (a zip bomb?); refusing to read it")
        if total > MAX_UNCOMPRESSED_BYTES:
            raise InputError(f"{path}: archive expands beyond {MAX_UNCOMPRESSED_BYTES // 1024**3} GB; unpack it yourself and import the folder")
        if any(part.startswith(".") or part == "__MACOSX" for part in pure.parts):
            continue
        yield name
