"""``export --pseudonymise``: no real name, handle or email leaves; pseudonyms are stable per salt.

The garden is invented (tests/store/test_people.py); the real-data test uses the olake Slack export.
"""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.store.test_people import build_garden
from villagegreen.store import Store
from villagegreen.store.export import export_convokit, export_parquet
from villagegreen.store.ingest import import_path
from villagegreen.store.privacy_pseudonyms import SALT_ENV, Pseudonymiser, resolve_salt, salt_path


def exported_text(folder: Path) -> str:
    """Everything an export holds, as text: the bytes of every file, Parquet cells decoded.

    Parquet pages are compressed, so their bytes can neither show nor hide a name reliably
    (a compressor may cut "Annabel" into "Anna" and a back-reference): read the cells instead.
    """
    parts = []
    for path in sorted(folder.iterdir()):
        if path.suffix == ".parquet":
            parts.append(json.dumps(pq.read_table(path).to_pylist(), default=str, ensure_ascii=False))
        else:
            parts.append(path.read_bytes().decode("utf-8", "replace"))
    return "\n".join(parts)


def identifying_strings(store: Store) -> set[str]:
    rows = store.con.execute("SELECT display_name, handle, email FROM identities UNION ALL SELECT display_name, NULL, NULL FROM people").fetchall()
    return {v for row in rows for v in row if v and len(v) >= 3}


def leaks(text: str, strings: set[str]) -> set[str]:
    """The strings found as whole words (a fast substring test first, then word boundaries)."""
    folded = text.casefold()
    candidates = [s for s in strings if s.casefold() in folded]
    return {s for s in candidates if re.search(r"(?<!\w)" + re.escape(s) + r"(?!\w)", text, re.IGNORECASE)}


@pytest.fixture
def garden(store: Store) -> Store:
    build_garden(store)
    # Mentions inside text, as members write them.
    store.con.execute("UPDATE messages SET text = 'thanks Ana López, write to ana.lopez@corp.example or ping @bochen' WHERE id = 'm1'")
    store.con.execute("UPDATE messages SET meta = '{\"to\": \"Bo Chen <chen.bo@uni.example>\"}' WHERE id = 'm2'")
    return store


@pytest.mark.parametrize("exporter", [export_parquet, export_convokit])
def test_no_real_name_handle_or_email_leaves_in_a_pseudonymised_export(garden: Store, tmp_path: Path, exporter: object) -> None:
    plain, masked = tmp_path / "plain", tmp_path / "masked"
    exporter(garden, plain)  # type: ignore[operator]
    exporter(garden, masked, pseudonymiser=Pseudonymiser.from_store(garden, "s3cret"))  # type: ignore[operator]
    strings = identifying_strings(garden)
    assert leaks(exported_text(plain), strings)  # the scan would catch them
    text = exported_text(masked)
    assert leaks(text, strings) == set()
    assert "s3cret" not in text
    # Mentions became the person's pseudonym, so the text still says *someone* was thanked.
    ana = Pseudonymiser.from_store(garden, "s3cret").person("id-slack-ana")
    assert f"thanks {ana}, write to" in text


def test_the_same_salt_gives_the_same_pseudonyms_and_another_salt_does_not(garden: Store, tmp_path: Path) -> None:
    def speakers(folder: Path, salt: str) -> set[str]:
        export_convokit(garden, folder, pseudonymiser=Pseudonymiser.from_store(garden, salt))
        return set(json.loads((folder / "speakers.json").read_text(encoding="utf-8")))

    first, second, other = speakers(tmp_path / "a", "salt-1"), speakers(tmp_path / "b", "salt-1"), speakers(tmp_path / "c", "salt-2")
    assert first == second and len(first) == 6  # five posting people and the unattributed "unknown" speaker
    assert first.isdisjoint(other - {"unknown"})
    # Parquet and ConvoKit agree: one person, one pseudonym.
    export_parquet(garden, tmp_path / "p", pseudonymiser=Pseudonymiser.from_store(garden, "salt-1"))
    people = {row["id"] for row in pq.read_table(tmp_path / "p" / "people.parquet").to_pylist()}
    assert first - {"unknown"} <= people
    identities = pq.read_table(tmp_path / "p" / "identities.parquet").to_pylist()
    assert all(row["handle"] is None and row["email"] is None and row["meta"] is None for row in identities)
    messages = pq.read_table(tmp_path / "p" / "messages.parquet").to_pylist()
    assert {row["author_id"] for row in messages} - {None} <= {row["id"] for row in identities}  # joins still work


def test_the_salt_comes_from_the_option_the_environment_or_a_private_file_beside_the_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "acme.duckdb"
    monkeypatch.delenv(SALT_ENV, raising=False)
    assert resolve_salt(db, "given") == ("given", "--salt")
    generated, where = resolve_salt(db)
    assert where.endswith("(new)") and len(generated) == 64
    assert stat.S_IMODE(salt_path(db).stat().st_mode) == 0o600
    assert resolve_salt(db)[0] == generated  # reused: exports of one store agree
    monkeypatch.setenv(SALT_ENV, "from-env")
    assert resolve_salt(db) == ("from-env", f"${SALT_ENV}")


@pytest.mark.realdata
def test_a_real_slack_export_leaves_pseudonymised(shared_data: Path, tmp_path: Path) -> None:
    with Store.open(tmp_path / "olake.duckdb") as store:
        import_path(store, shared_data / "slack" / "olake")
        strings = identifying_strings(store)
        texts = [t for (t,) in store.con.execute("SELECT text FROM messages").fetchall()]
        # This export writes mentions as "@Display Name" (release notes quoting contributors).
        mentions = sum(1 for t in texts if any(f"@{s}" in t for s in strings))
        native_ids = {n for (n,) in store.con.execute("SELECT native_id FROM identities").fetchall()}
        mapping = Pseudonymiser.from_store(store, "salt")
        export_convokit(store, tmp_path / "ck", pseudonymiser=mapping)
        export_parquet(store, tmp_path / "pq", pseudonymiser=mapping)
    text = exported_text(tmp_path / "ck") + exported_text(tmp_path / "pq")
    assert mentions > 0 and len(strings) > 100
    assert leaks(text, strings) == set()
    assert leaks(text, native_ids) == set()  # Slack user ids (U0...) are replaced too
