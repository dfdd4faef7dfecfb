"""DiscordChatExporter CSV exports: read, threaded by disentanglement, checked against counts
made independently with the csv module.

The small exports here are invented, in the layout DCE 2.x writes (``;``-separated, a trailing
separator, ``dd-MMM-yy hh:mm tt`` dates) and the later one (``,``, ISO dates); see
https://github.com/Tyrrrz/DiscordChatExporter (CsvMessageWriter).
"""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from villagegreen.connectors.base import ReadContext
from villagegreen.connectors.discord import DiscordConnector
from villagegreen.connectors.discord.csv_export import parse_date
from villagegreen.connectors.registry import detect
from villagegreen.connectors.tree import SourceTree
from villagegreen.errors import ItemError
from villagegreen.model import Message, Reaction, Skipped
from villagegreen.store import Store
from villagegreen.store.ingest import import_path

KOMODO = "discord/komodo"
HEADER_V2 = "AuthorID;Author;Date;Content;Attachments;Reactions;\n"


def scalar(store: Store, sql: str, *params: object) -> Any:
    return store.con.execute(sql, list(params)).fetchone()[0]  # type: ignore[index]


def v2_row(author_id: str, author: str, date: str, content: str, attachments: str = "", reactions: str = "") -> str:
    fields = [author_id, author, date, content, attachments, reactions]
    return ";".join('"' + f.replace('"', '""') + '"' for f in fields) + ";\n"


def write_channel(folder: Path, pages: list[list[str]]) -> Path:
    folder.mkdir(parents=True)
    for number, rows in enumerate(pages, start=1):
        (folder / f"{number}.csv").write_text(HEADER_V2 + "".join(rows), encoding="utf-8")
    return folder


# -- real data ------------------------------------------------------------------------------


def count_records(root: Path) -> tuple[int, set[str]]:
    """Records and distinct author ids, read with the csv module alone."""
    records, authors = 0, set()
    for path in root.rglob("*.csv"):
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle, delimiter=";")
            next(reader)
            for row in reader:
                records += 1
                authors.add(row[0])
    return records, authors


@pytest.mark.realdata
def test_komodo_imports_every_record_threaded_and_reimports_as_nothing(shared_data: Path, store: Store) -> None:
    root = shared_data / KOMODO
    records, authors = count_records(root)
    with SourceTree(root) as tree:
        assert detect(tree).name == "discord"

    report = import_path(store, root)

    assert report.connector == "discord"
    assert not report.skipped
    assert scalar(store, "SELECT count(*) FROM messages") == records
    assert scalar(store, "SELECT count(*) FROM identities") == len(authors)
    # The data README: two channels, #support and #dev-general.
    assert sorted(r[0] for r in store.con.execute("SELECT name FROM spaces").fetchall()) == ["dev-general", "support"]
    # Threading: every conversation is rooted at a message of its own, which is its earliest,
    # and there are far fewer conversations than messages but more than one per channel.
    assert scalar(store, "SELECT count(*) FROM messages m ANTI JOIN conversations c ON c.id = m.conversation_id") == 0
    assert scalar(store, "SELECT count(*) FROM conversations c ANTI JOIN messages m ON m.id = c.id") == 0
    early = "SELECT count(*) FROM messages m JOIN messages r ON r.id = m.conversation_id WHERE m.sent_at < r.sent_at"
    assert scalar(store, early) == 0
    conversations = scalar(store, "SELECT count(*) FROM conversations")
    assert 2 < conversations < records / 2
    assert scalar(store, "SELECT count(*) FROM messages WHERE reply_to_id IS NULL") == conversations

    before = store.table_counts()
    again = import_path(store, root)
    assert again.rows_added == 0
    assert {k: v for k, v in store.table_counts().items() if k != "import_runs"} == {k: v for k, v in before.items() if k != "import_runs"}


# -- invented exports -----------------------------------------------------------------------


def test_threads_follow_addresses_and_reactions_and_attachments_are_kept(store: Store, tmp_path: Path) -> None:
    channel = write_channel(
        tmp_path / "export" / "help-desk",
        [
            [
                v2_row("101", "Ash#0001", "02-Jul-18 08:50 PM", "how do I restore my wallet from a seed?"),
                v2_row("102", "Birch#0002", "02-Jul-18 08:51 PM", "is the testnet down again?", reactions="👍 (2),😢 (1)"),
            ],
            [
                v2_row("103", "Cedar#0003", "02-Jul-18 08:52 PM", "@Ash use the restore option in the wallet menu"),
                v2_row("104", "Dale#0004", "02-Jul-18 08:52 PM", "Birch: yes, the seed node is being upgraded", attachments="https://cdn.example/a/status.png"),
            ],
        ],
    )
    report = import_path(store, channel.parent)
    assert report.connector == "discord"
    rows = store.con.execute("SELECT text, reply_to_id, conversation_id, id FROM messages ORDER BY sent_at, text").fetchall()
    by_text = {text[:6]: (reply, conversation, ident) for text, reply, conversation, ident in rows}
    assert by_text["@Ash u"][0] == by_text["how do"][2]
    assert by_text["Birch:"][0] == by_text["is the"][2]
    assert by_text["how do"][1] != by_text["is the"][1]
    assert scalar(store, "SELECT sum(count) FROM reactions") == 3
    assert scalar(store, "SELECT meta->'attachments'->0->>'url' FROM messages WHERE text LIKE 'Birch:%'") == "https://cdn.example/a/status.png"
    assert scalar(store, "SELECT display_name FROM identities WHERE native_id = '101'") == "Ash"
    assert scalar(store, "SELECT min(sent_at) FROM messages") == datetime(2018, 7, 2, 20, 50, tzinfo=UTC)


def test_a_malformed_record_is_skipped_and_counted(store: Store, tmp_path: Path) -> None:
    channel = write_channel(
        tmp_path / "general",
        [
            [
                v2_row("101", "Ash", "02-Jul-18 08:50 PM", "hello"),
                v2_row("102", "Birch", "the day after tomorrow", "bad date"),
                '"103";"Cedar"\n',
                v2_row("not-an-id", "Dale", "02-Jul-18 08:51 PM", "bad author id"),
                v2_row("104", "Elm", "02-Jul-18 08:52 PM", "Ash: hi"),
            ]
        ],
    )
    report = import_path(store, channel)
    assert sum(n for (kind, _reason), n in report.skipped.items() if kind == "message") == 3
    assert scalar(store, "SELECT count(*) FROM messages") == 2


def test_comma_separated_iso_export_in_one_file(tmp_path: Path) -> None:
    path = tmp_path / "Green Valley - Garden - seeds [930000000000000001].csv"
    path.write_text(
        "AuthorID,Author,Date,Content,Attachments,Reactions\n"
        '"201","Fern","2023-04-01T10:00:00.000+02:00","which tomato seeds do well in shade?","",""\n'
        '"202","Gorse","2023-04-01T10:03:00.000+02:00","Fern: cherry ones, in my experience","",""\n',
        encoding="utf-8",
    )
    with SourceTree(path) as tree:
        connector = DiscordConnector()
        assert DiscordConnector.sniff(tree)
        assert connector.source_key(tree) == "Green Valley"
        records = list(connector.read(tree, ReadContext(source_id="s")))
    messages = [r for r in records if isinstance(r, Message)]
    assert [m.sent_at for m in messages] == [datetime(2023, 4, 1, 8, 0, tzinfo=UTC), datetime(2023, 4, 1, 8, 3, tzinfo=UTC)]
    assert messages[1].reply_to_id == messages[0].id == messages[1].conversation_id
    assert messages[1].meta["reply_inferred"] is True
    assert not any(isinstance(r, (Skipped, Reaction)) for r in records)


def test_other_csv_files_are_not_claimed(tmp_path: Path) -> None:
    path = tmp_path / "sales.csv"
    path.write_text("Date,Amount\n2024-01-01,3\n")
    with SourceTree(path) as tree:
        assert DiscordConnector.sniff(tree) is False


def test_dates_in_every_layout_dce_wrote() -> None:
    expected = datetime(2018, 7, 2, 20, 51, tzinfo=UTC)
    for text in ("02-Jul-18 08:51 PM", "02-Jul-2018 08:51 PM", "2018-07-02T22:51:00+02:00", "2018-07-02 20:51"):
        assert parse_date(text) == expected, text
    with pytest.raises(ItemError):
        parse_date("yesterday")
