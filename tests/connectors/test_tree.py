"""SourceTree: one safe way to read folders, zips and files."""

from __future__ import annotations

import zipfile
from pathlib import Path, PurePosixPath

import pytest
from hypothesis import given
from hypothesis import strategies as st

from villagegreen.connectors.tree import SourceTree, first_named
from villagegreen.errors import InputError


def test_folder_lists_relative_paths_and_skips_hidden(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.json").write_text("[]")
    (tmp_path / ".hidden").write_text("secret")
    (tmp_path / "top.json").write_text("{}")
    tree = SourceTree(tmp_path)
    assert tree.names() == ["a/x.json", "top.json"]
    assert tree.read_bytes("a/x.json") == b"[]"
    assert list(tree.glob(".json", under="a")) == ["a/x.json"]


def test_nested_folders_list_as_posix_paths_and_hidden_folders_are_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for relative in ("c/2020/01.json", "c/2020/.git/x.json", ".cache/y.json", "c/d e/ünï.json", "z.txt"):
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text("[]")
    expected = ["c/2020/01.json", "c/d e/ünï.json", "z.txt"]
    assert SourceTree(tmp_path).names() == expected
    monkeypatch.chdir(tmp_path / "c")  # the same folder reached by a relative path with ".."
    assert SourceTree(Path("..")).names() == expected


def test_zip_members_are_readable(tmp_path: Path) -> None:
    path = tmp_path / "e.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("c/2020-01-01.json", "[1]")
        archive.writestr("__MACOSX/c/._junk", "x")
    with SourceTree(path) as tree:
        assert tree.kind == "zip"
        assert tree.names() == ["c/2020-01-01.json"]
        assert tree.read_bytes("c/2020-01-01.json") == b"[1]"


@pytest.mark.parametrize("name", ["../escape.json", "/etc/passwd", "a/../../b.json"])
def test_zip_paths_outside_the_archive_are_refused(tmp_path: Path, name: str) -> None:
    path = tmp_path / "evil.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(name, "x")
    with pytest.raises(InputError, match="outside the archive"):
        SourceTree(path)


def test_zip_bomb_is_refused_before_expansion(tmp_path: Path) -> None:
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("big.json", b"0" * (50 * 1024**2))
    with pytest.raises(InputError, match="zip bomb"):
        SourceTree(path)


def test_corrupt_zip_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.zip"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 40)
    with pytest.raises(InputError, match="not a readable zip archive"):
        SourceTree(path)


def test_missing_path_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file or folder"):
        SourceTree(tmp_path / "nope")


def test_missing_member_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(InputError, match="users.json.*complete export"):
        SourceTree(tmp_path).open("users.json")


def _old_depth_order(names: list[str], suffix: str) -> list[str]:
    # The per-connector sort the cached listing replaces.
    return sorted((n for n in names if n.lower().endswith(suffix)), key=lambda n: (n.count("/"), n))


@given(st.lists(st.text(alphabet="ab/.JSONjson", min_size=1, max_size=12), max_size=40, unique=True))
def test_first_named_orders_as_the_sort_it_replaces(names: list[str]) -> None:
    ordered = _old_depth_order(names, "")
    expected = sorted(ordered, key=lambda n: ("post" not in PurePosixPath(n).name.lower(), n.count("/"), n))
    assert first_named(ordered, lambda base: "post" in base) == expected


@pytest.mark.parametrize("suffix", [".json", ".jsonl", ".csv", ".txt"])
def test_by_depth_lists_as_the_sort_it_replaces(tmp_path: Path, suffix: str) -> None:
    data = Path(__file__).resolve().parent.parent / "data"
    archive = tmp_path / "mixed.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for name in ("b/x.JSON", "a.json", "a/b/c.json", "z.jsonl", "A.Json", "m/n.txt", "m/n.csv", "import.jsonl"):
            out.writestr(name, "{}")
    for path in (data, archive):
        with SourceTree(path) as tree:
            expected = _old_depth_order(tree.names(), suffix)
            assert tree.by_depth(suffix) == expected
            assert tree.by_depth(suffix) == expected  # cached: the same again, and a copy
            tree.by_depth(suffix).clear()
            assert tree.by_depth(suffix) == expected
