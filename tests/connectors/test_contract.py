"""One contract, checked over every registered connector."""

from __future__ import annotations

from pathlib import Path

import pytest

from villagegreen.connectors.base import Connector, ReadContext
from villagegreen.connectors.registry import detect, registered_connectors
from villagegreen.connectors.tree import SourceTree
from villagegreen.errors import InputError, UnknownFormatError
from villagegreen.model import Message, Skipped

CONNECTORS = sorted(registered_connectors().items())

# Real datasets and the connector that must claim each (paths under ../shared/data).
REAL_DATASETS: dict[str, str | None] = {
    "slack/olake/export": "slack",
    "slack/viewer-test/testarchive.zip": "slack",
    "discourse/urho3d/topics": "discourse",
    "stackexchange/conlang": "stackexchange",
    "stackexchange/quantumcomputing": "stackexchange",
    "mail/r-package-devel": "mail",
    "formats/chat-analytics-samples/tests/samples/discord": "discord",
    "formats/chat-analytics-samples/tests/samples/telegram": "telegram",
    "formats/chat-analytics-samples/tests/samples/whatsapp/4A_11M.zip": "whatsapp",
    "formats/chat-analytics-samples/tests/samples/whatsapp/2A_5M.txt": "whatsapp",
    "slack/haskell-jp": "slack",
    "formats/perceval-fixtures/tests/data/mattermost": "mattermost",
    # Formats no connector reads yet: nobody may claim them.
    "discord/komodo": "discord",
    "formats/chat-analytics-samples/tests/samples/messenger": None,
}


@pytest.mark.parametrize(("name", "connector"), CONNECTORS)
def test_connector_declares_itself(name: str, connector: type[Connector]) -> None:
    assert connector.name == name
    assert connector.version and connector.formats


@pytest.mark.parametrize(("name", "connector"), CONNECTORS)
def test_sniff_rejects_what_is_not_its_format(name: str, connector: type[Connector], tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    binary = tmp_path / "noise.bin"
    binary.write_bytes(bytes(range(256)) * 64)
    text = tmp_path / "notes.txt"
    text.write_text("shopping list\nmilk\n")
    for path in (tmp_path / "empty", binary, text):
        with SourceTree(path) as tree:
            assert connector.sniff(tree) is False, f"{name} claims {path.name}"


@pytest.mark.parametrize(("name", "connector"), CONNECTORS)
def test_wrong_input_is_an_input_error_not_a_crash(name: str, connector: type[Connector], tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.json"
    garbage.write_bytes(b"\x00\xff{[not json or xml or mail" * 100)
    with SourceTree(garbage) as tree:
        context = ReadContext(source_id="test")
        try:
            records = list(connector().read(tree, context))
        except InputError as error:
            assert str(error).strip() and "\n" not in str(error)
        else:
            # Tolerated only if nothing was taken for a message and the garbage was reported.
            assert not any(isinstance(r, Message) for r in records)
            assert any(isinstance(r, Skipped) for r in records)


@pytest.mark.realdata
@pytest.mark.parametrize(("relative", "expected"), sorted(REAL_DATASETS.items()))
def test_exactly_the_right_connector_claims_each_real_dataset(shared_data: Path, relative: str, expected: str | None) -> None:
    with SourceTree(shared_data / relative) as tree:
        claimed = {name for name, connector in CONNECTORS if connector.sniff(tree)}
        assert claimed == ({expected} if expected else set())
        if expected:
            assert detect(tree).name == expected
        else:
            with pytest.raises(UnknownFormatError, match="--platform"):
                detect(tree)
