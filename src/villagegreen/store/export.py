"""Open exports of the canonical store: Parquet tables and ConvoKit corpora.

No lock-in: everything Village Green knows can leave in formats other tools read. Private
spaces stay out unless asked for, the same rule as on import. With a :class:`Pseudonymiser`
(``export --pseudonymise``), people and accounts become stable salted pseudonyms, handles,
emails, identity meta and source locations are dropped, and mentions of names inside text,
titles and meta are replaced (see :mod:`villagegreen.store.privacy_pseudonyms` for the limits).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from villagegreen.errors import ConfigError
from villagegreen.store.database import Store
from villagegreen.store.privacy_pseudonyms import Pseudonymiser

CANONICAL_TABLES = ("sources", "spaces", "people", "identities", "conversations", "messages", "reactions", "events")

# Row filters that keep private spaces out of an export; tables without a space are exported whole.
_PRIVATE_FILTER = {
    "spaces": "NOT private",
    "conversations": "space_id IN (SELECT id FROM spaces WHERE NOT private)",
    "messages": "space_id IN (SELECT id FROM spaces WHERE NOT private)",
    "reactions": "message_id IN (SELECT id FROM messages WHERE space_id IN (SELECT id FROM spaces WHERE NOT private))",
    "events": "space_id IS NULL OR space_id IN (SELECT id FROM spaces WHERE NOT private)",
}


def _prepare(out: Path) -> None:
    if out.exists() and any(out.iterdir()):
        raise ConfigError(f"{out}: folder exists and is not empty; choose a new folder")
    out.mkdir(parents=True, exist_ok=True)


def _where(table: str, include_private: bool) -> str:
    return "" if include_private or table not in _PRIVATE_FILTER else f" WHERE {_PRIVATE_FILTER[table]}"


def export_parquet(store: Store, out: Path, *, include_private: bool = False, pseudonymiser: Pseudonymiser | None = None) -> dict[str, int]:
    """One Parquet file per canonical table; returns rows written per table."""
    _prepare(out)
    written = {}
    for table in CANONICAL_TABLES:
        query = f'SELECT * FROM "{table}"{_where(table, include_private)}'
        if pseudonymiser is not None:
            written[table] = _write_pseudonymised(store, table, query, out / f"{table}.parquet", pseudonymiser)
            continue
        target = str(out / f"{table}.parquet").replace("'", "''")
        store.con.execute(f"COPY ({query}) TO '{target}' (FORMAT parquet)")
        ((count,),) = store.con.execute(f"SELECT count(*) FROM ({query})").fetchall()
        written[table] = int(count)
    return written


def _write_pseudonymised(store: Store, table: str, query: str, target: Path, p: Pseudonymiser) -> int:
    # JSON columns leave as plain strings, as COPY writes them.
    reader = store.con.execute(f"SELECT * FROM ({query})").to_arrow_reader(10_000)
    schema = pa.schema([pa.field(f.name, pa.string()) if _is_text(f.type) else f for f in reader.schema])
    rows = 0
    with pq.ParquetWriter(target, schema) as writer:
        for batch in reader:
            columns = {name: batch.column(name).to_pylist() for name in batch.schema.names}
            _pseudonymise_columns(table, columns, p)
            writer.write_batch(pa.RecordBatch.from_pydict(columns, schema=schema))
            rows += batch.num_rows
    return rows


def _is_text(kind: pa.DataType) -> bool:
    return pa.types.is_string(kind) or pa.types.is_large_string(kind) or isinstance(kind, pa.ExtensionType)


def _pseudonymise_columns(table: str, c: dict[str, list[Any]], p: Pseudonymiser) -> None:
    """Rewrite one batch's columns in place: ids to pseudonyms, contact details dropped, mentions replaced."""
    blank = [None] * len(next(iter(c.values()), []))
    if table == "people":
        c["display_name"] = c["id"] = [p.person(v) for v in c["id"]]
    elif table == "identities":
        c["display_name"] = c["person_id"] = [p.person(v) for v in c["person_id"]]
        c["native_id"] = c["id"] = [p.identity(v) for v in c["id"]]
        c["handle"], c["email"], c["meta"] = blank, blank, blank
    elif table == "sources":
        c["name"], c["location"] = [p.text(v) for v in c["name"]], blank
    else:
        for column in ("author_id", "identity_id"):
            if column in c:
                c[column] = [p.identity(v) for v in c[column]]
        for column in ("text", "title", "name", "native_id"):
            if column in c:
                c[column] = [p.text(v) for v in c[column]]
        if "meta" in c:
            c["meta"] = [p.json_text(v) for v in c["meta"]]


def _type_index(records: list[dict[str, Any]]) -> dict[str, list[str]]:
    index: dict[str, list[str]] = {}
    for record in records:
        for key, value in record.items():
            index.setdefault(key, [f"<class '{type(value).__name__}'>"])
    return index


def export_convokit(store: Store, out: Path, *, include_private: bool = False, pseudonymiser: Pseudonymiser | None = None) -> dict[str, int]:
    """A ConvoKit corpus folder: utterances.jsonl, speakers.json, conversations.json, corpus.json, index.json.

    Speakers are people (merged identities), so one person active on two platforms is one speaker.
    """
    _prepare(out)
    p = pseudonymiser
    visible = "" if include_private else "WHERE NOT sp.private"
    cursor = store.con.execute(
        f"""
        SELECT m.id, coalesce(i.person_id, 'unknown'), m.conversation_id, m.reply_to_id,
               epoch(m.sent_at)::BIGINT, m.text, m.kind, sp.name, m.meta
        FROM messages m JOIN spaces sp ON sp.id = m.space_id LEFT JOIN identities i ON i.id = m.author_id
        {visible}
        ORDER BY m.sent_at, m.id
        """
    )
    utterances = 0
    speaker_ids: set[str] = set()
    utterance_meta_sample: list[dict[str, Any]] = []
    with (out / "utterances.jsonl").open("w", encoding="utf-8") as handle:
        while batch := cursor.fetchmany(10_000):
            for mid, speaker, conversation, reply_to, timestamp, text, kind, space, meta in batch:
                if p is not None:
                    speaker = p.person(speaker) if speaker != "unknown" else speaker
                    text, space, meta = p.text(text), p.text(space), p.json_text(meta)
                utterance_meta = {"kind": kind, "space": space, **(json.loads(meta) if meta else {})}
                if len(utterance_meta_sample) < 1000:
                    utterance_meta_sample.append(utterance_meta)
                record = {
                    "id": mid,
                    "speaker": speaker,
                    "conversation_id": conversation,
                    "reply-to": reply_to,
                    "timestamp": timestamp,
                    "text": text,
                    "meta": utterance_meta,
                    "vectors": [],
                }
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
                utterances += 1
                speaker_ids.add(speaker)
    # Only people who speak in the exported spaces, so a private-only member is not named.
    people = store.con.execute("SELECT id, display_name FROM people ORDER BY id").fetchall()
    if p is not None:
        people = [(pseudonym, pseudonym) for pseudonym in (p.person(pid) for pid, _ in people)]
    speakers = {pid: {"name": name} for pid, name in people if pid in speaker_ids}
    conversations = {
        cid: {"title": p.text(title), "space": p.text(space)} if p is not None else {"title": title, "space": space}
        for cid, title, space in store.con.execute(
            f"SELECT c.id, c.title, sp.name FROM conversations c JOIN spaces sp ON sp.id = c.space_id {visible} ORDER BY c.id"
        ).fetchall()
    }
    (out / "speakers.json").write_text(json.dumps(speakers, ensure_ascii=False), encoding="utf-8")
    (out / "conversations.json").write_text(json.dumps(conversations, ensure_ascii=False), encoding="utf-8")
    (out / "corpus.json").write_text(json.dumps({"exported_by": "villagegreen"}), encoding="utf-8")
    index = {
        "utterances-index": _type_index(utterance_meta_sample),
        "speakers-index": {"name": ["<class 'str'>"]},
        "conversations-index": {"title": ["<class 'str'>"], "space": ["<class 'str'>"]},
        "overall-index": {"exported_by": ["<class 'str'>"]},
        "version": 1,
        "vectors": [],
    }
    (out / "index.json").write_text(json.dumps(index), encoding="utf-8")
    return {"utterances": utterances, "speakers": len(speakers), "conversations": len(conversations)}
