"""The shipped static model, and embeddings kept incrementally in the store."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from tests.fakes import JsonListConnector, messages
from villagegreen.analyses.embedding_store import embed_messages, load_vectors
from villagegreen.analyses.embeddings import StaticEmbedder, shipped_model_path
from villagegreen.store import Store
from villagegreen.store.ingest import import_path


@pytest.fixture(scope="module")
def embedder() -> StaticEmbedder:
    return StaticEmbedder()


def test_the_shipped_model_is_small_and_says_where_it_comes_from() -> None:
    folder = shipped_model_path()
    size = sum(p.stat().st_size for p in folder.iterdir())
    assert 5e6 < size < 25e6
    meta = json.loads((folder / "villagegreen.json").read_text())
    assert "all-MiniLM-L6-v2" in meta["teacher"] and meta["version"].startswith("m2v-")
    config = json.loads((folder / "config.json").read_text())
    assert not config["tokenizer_name"].startswith("/")  # no build machine's path in the package


def test_vectors_are_unit_length_and_empty_text_is_zero(embedder: StaticEmbedder) -> None:
    vectors = embedder.encode(["How do I bake sourdough bread?", "", "ok"])
    assert vectors.shape == (3, embedder.dim) and vectors.dtype == np.float32
    assert np.linalg.norm(vectors[0]) == pytest.approx(1.0, abs=1e-5)
    assert not vectors[1].any()
    assert embedder.encode([]).shape == (0, embedder.dim)


def test_related_sentences_are_closer_than_unrelated_ones(embedder: StaticEmbedder) -> None:
    bread, loaf, football = embedder.encode(
        ["My sourdough bread did not rise in the oven", "Why is my homemade loaf so flat after baking?", "The striker scored a penalty in the cup final"]
    )
    assert float(bread @ loaf) > float(bread @ football) + 0.1


def test_same_vectors_as_model2vec_itself(embedder: StaticEmbedder) -> None:
    model2vec = pytest.importorskip("model2vec")
    reference = model2vec.StaticModel.from_pretrained(str(shipped_model_path()))
    texts = ["How do I measure a qubit?", "the CRM is useless", "zzzz 1234", "A good sales call starts with the customer's problem. " * 80]
    assert np.abs(embedder.encode(texts) - reference.encode(texts)).max() < 1e-3


def test_embedding_needs_no_torch() -> None:
    code = ("import sys; from villagegreen.analyses.embeddings import StaticEmbedder; StaticEmbedder().encode(['hello world']); "
            "print('torch' in sys.modules, 'sentence_transformers' in sys.modules)")  # fmt: skip
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env={"HF_HUB_OFFLINE": "1", "PATH": ""})
    assert result.stdout.split() == ["False", "False"]


@dataclass
class CountingEmbedder:
    """Wraps the static model, counting texts, with a version the test can change."""

    inner: StaticEmbedder
    version: str = "v1"
    seen: int = 0
    model: str = "counting"

    @property
    def dim(self) -> int:
        return self.inner.dim

    def encode(self, texts: list[str]) -> np.ndarray:  # type: ignore[type-arg]
        self.seen += len(texts)
        return self.inner.encode(texts)


def test_a_second_run_embeds_nothing_and_only_changed_text_is_redone(tmp_path: Path, embedder: StaticEmbedder) -> None:
    items = messages(40)
    items[3]["text"] = "   "  # blank: nothing to embed
    path = tmp_path / "c.jsonlist"
    path.write_text(json.dumps(items))
    counting = CountingEmbedder(embedder)
    with Store.open(tmp_path / "s.duckdb") as store:
        import_path(store, path, connector_class=JsonListConnector)
        first = embed_messages(store, counting)
        assert first.embedded == 39 == counting.seen
        second = embed_messages(store, counting)
        assert (second.embedded, second.up_to_date, counting.seen) == (0, 39, 39)
        store.con.execute("UPDATE messages SET text = 'an edited message' WHERE native_id = '7'")
        third = embed_messages(store, counting)
        assert (third.embedded, counting.seen) == (1, 40)
        counting.version = "v2"
        assert embed_messages(store, counting).embedded == 39
        ((rows,),) = store.con.execute("SELECT count(*) FROM embeddings WHERE model = 'counting'").fetchall()
        assert rows == 39
        vectors = load_vectors(store, "counting")
        (edited,) = [mid for (mid,) in store.con.execute("SELECT id FROM messages WHERE native_id = '7'").fetchall()]
        assert np.allclose(vectors[edited], embedder.encode(["an edited message"])[0], atol=1e-6)


def test_small_batches_and_transactions_store_every_vector_of_the_static_model(
    tmp_path: Path, embedder: StaticEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    from villagegreen.analyses import embedding_store

    monkeypatch.setattr(embedding_store, "BATCH", 4)
    monkeypatch.setattr(embedding_store, "COMMIT_ROWS", 8)
    items = messages(30)
    items[5]["text"] = items[6]["text"]  # duplicates are embedded (and stored) once per message
    path = tmp_path / "c.jsonlist"
    path.write_text(json.dumps(items))
    progress: list[tuple[int, int]] = []
    with Store.open(tmp_path / "s.duckdb") as store:
        import_path(store, path, connector_class=JsonListConnector)
        report = embed_messages(store, embedder, on_progress=lambda done, total: progress.append((done, total)))
        texts = dict(store.con.execute("SELECT id, text FROM messages").fetchall())
        vectors = load_vectors(store, embedder.model)
        hashes = dict(store.con.execute("SELECT message_id, text_hash FROM embeddings").fetchall())
    assert report.embedded == len(texts) == len(vectors) == 30
    assert len(progress) >= 4 and progress[-1] == (30, 30) and [done for done, _ in progress] == sorted(done for done, _ in progress)
    ids = sorted(texts)
    expected = embedder.encode([texts[i] for i in ids])
    assert np.allclose(np.stack([vectors[i] for i in ids]), expected, atol=1e-6)
    assert all(hashes[i] == hashlib.md5(texts[i].encode()).hexdigest() for i in ids)


@dataclass
class FailingEmbedder(CountingEmbedder):
    """Fails on the call that would pass ``fail_after`` texts."""

    fail_after: int = 10**9

    def encode(self, texts: list[str]) -> np.ndarray:  # type: ignore[type-arg]
        if self.seen + len(texts) > self.fail_after:
            raise RuntimeError("the model broke")
        return super().encode(texts)


def test_a_failure_keeps_committed_transactions_stops_the_helper_thread_and_restores_settings(
    tmp_path: Path, embedder: StaticEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from villagegreen.analyses import embedding_store

    monkeypatch.setattr(embedding_store, "BATCH", 4)
    monkeypatch.setattr(embedding_store, "COMMIT_ROWS", 8)
    path = tmp_path / "c.jsonlist"
    path.write_text(json.dumps(messages(30)))
    settings = "SELECT current_setting('write_buffer_row_group_count'), current_setting('disabled_compression_methods')"
    with Store.open(tmp_path / "s.duckdb") as store:
        import_path(store, path, connector_class=JsonListConnector)
        before = store.con.execute(settings).fetchall()
        # Batches of 4, commits every 8 rows: texts 1-16 are in two committed transactions,
        # 17-20 in the third, which the failure on texts 21-24 rolls back.
        with pytest.raises(RuntimeError, match="the model broke"):
            embed_messages(store, FailingEmbedder(embedder, fail_after=20))
        ((stored,),) = store.con.execute("SELECT count(*) FROM embeddings").fetchall()
        assert stored == 16
        assert not [thread for thread in threading.enumerate() if thread.name.startswith("embed")]
        assert store.con.execute(settings).fetchall() == before
        # The next run finishes the job: only the 14 missing messages are embedded.
        retry = CountingEmbedder(embedder)
        assert embed_messages(store, retry).embedded == 14 == retry.seen
