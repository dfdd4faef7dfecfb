"""The static model's fast path (whitespace chunks, cached, sparse pooling) gives the vectors of the plain recipe.

The reference here is the textbook computation, written independently of the embedder: tokenise
each text whole with the shipped tokenizer, keep the first 512 ids, drop the unknown token, average
those rows of the shipped matrix, normalise.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from safetensors.numpy import load_file
from tokenizers import Tokenizer, models, pre_tokenizers

from villagegreen.analyses import embeddings_tokens
from villagegreen.analyses.embeddings import StaticEmbedder, shipped_model_path
from villagegreen.analyses.embeddings_tokens import _splitting_is_exact

EMBEDDER = StaticEmbedder()
TOKENIZER = Tokenizer.from_file(str(shipped_model_path() / "tokenizer.json"))
MATRIX = load_file(str(shipped_model_path() / "model.safetensors"))["embeddings"].astype(np.float32)
TOKENIZER.no_truncation()  # the file asks for 512; the reference cuts by itself, visibly
UNK = TOKENIZER.token_to_id("[UNK]")


def reference(texts: list[str]) -> npt.NDArray[np.float32]:
    out = np.zeros((len(texts), MATRIX.shape[1]), dtype=np.float32)
    for row, all_ids in enumerate(token_ids(texts)):
        ids = [i for i in all_ids[:512] if i != UNK]
        if ids:
            mean = MATRIX[ids].astype(np.float64).mean(axis=0)
            out[row] = mean / np.linalg.norm(mean)
    return out


def token_ids(texts: list[str]) -> list[list[int]]:
    return [encoding.ids for encoding in TOKENIZER.encode_batch(texts, add_special_tokens=False)]


def token_count(text: str) -> int:
    return len(token_ids([text])[0])


def real_texts(shared_data: Path) -> dict[str, list[str]]:
    """Message texts read straight from three real archives (Japanese chat, Q&A HTML with LaTeX, mail)."""
    chat = []
    for path in sorted((shared_data / "slack" / "haskell-jp").rglob("*.json"))[:200]:
        chat += [item["text"] for item in json.loads(path.read_text(encoding="utf-8")) if isinstance(item, dict) and item.get("text")]
    posts = [row.get("Body", "") for row in ET.parse(shared_data / "stackexchange" / "quantumcomputing" / "Posts.xml").getroot()][:1200]
    archive = (shared_data / "mail" / "r-package-devel" / "2020q1.txt").read_text(encoding="utf-8", errors="replace")
    mails = [part for part in archive.split("\nFrom ") if part.strip()]
    return {"slack/haskell-jp": chat[:3000], "stackexchange/quantumcomputing": posts, "mail/r-package-devel": mails}


@pytest.mark.realdata
def test_real_texts_get_the_reference_vectors(shared_data: Path) -> None:
    ids: list[list[int]] = []
    for name, texts in real_texts(shared_data).items():
        assert len(texts) > 100, name
        fast = np.concatenate([EMBEDDER.encode(texts[i : i + 1000]) for i in range(0, len(texts), 1000)])
        assert np.abs(fast - reference(texts)).max() < 1e-5, name
        ids += token_ids(texts)
        if name == "slack/haskell-jp":  # kana and kanji: no spaces between words
            assert sum(any("\u3040" <= char <= "\u9fff" for char in text) for text in texts) > 100
    # The cases the fast path treats apart really occur in these texts.
    assert sum(len(text_ids) > 512 for text_ids in ids) > 10  # cut at 512 tokens
    assert sum(UNK in text_ids for text_ids in ids) > 10


def test_arrow_input_and_list_input_agree() -> None:
    texts = ["Sourdough  starter\tfeeding", None, "", "  ", "naïve café Σίσυφος", "漢字かな交じり文"]
    from_arrow = EMBEDDER.encode(pa.array(texts, pa.string()))
    from_list = EMBEDDER.encode([text or "" for text in texts])
    assert np.array_equal(from_arrow, from_list)
    assert not from_arrow[1:4].any() and from_arrow[4:].any()


# Characters where a naive split would go wrong: separators BERT deletes (\x1c-\x1f) or treats as
# spaces (\x0b, \x0c, U+00A0, U+3000), control and zero-width characters, combining accents,
# CJK (each character its own word), special-token text, and very long words (-> [UNK]).
_PIECES = ["a", "bread", "Oven", "é", "e\u0301", "Σ", "İ", "漢", "かな", "😀", "[UNK]", "[PAD]", "x" * 120, "3.14", "don't",
           "http://example.org/a?b=c", " ", "  ", "\t", "\n", "\r\n", "\x0b", "\x0c", "\x1c", "\x1f", "\u00a0", "\u3000",
           "\u200b", "\x00", "\x7f", "\ufffd", "\u0301", ",", "!!", "-"]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.sampled_from(_PIECES), max_size=40).map("".join), min_size=1, max_size=12))
def test_any_mix_of_tricky_characters_gets_the_reference_vectors(texts: list[str]) -> None:
    assert np.abs(EMBEDDER.encode(texts) - reference(texts)).max() < 1e-5


def test_texts_over_512_tokens_are_cut_where_the_tokenizer_cuts_them() -> None:
    texts = ["bread " * 600 + "football " * 50, "football " * 510 + "bread bread bread", "short text", "football " * 512]
    assert [token_count(text) > 512 for text in texts] == [True, True, False, False]
    vectors = EMBEDDER.encode(texts)
    assert np.abs(vectors - reference(texts)).max() < 1e-5
    # Only bread made it into the first: everything after token 512 is ignored.
    assert np.abs(vectors[0] - reference(["bread"])[0]).max() < 1e-5


def test_a_full_cache_is_emptied_and_results_stay_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embeddings_tokens, "CACHE_LIMIT", 5)
    embedder = StaticEmbedder()
    texts = ["one two three four five six seven", "eight nine ten eleven", "one two twelve"]
    assert np.abs(embedder.encode(texts) - reference(texts)).max() < 1e-5
    assert np.abs(embedder.encode(texts[::-1]) - reference(texts[::-1])).max() < 1e-5


def test_whole_text_tokenising_is_used_where_splitting_would_not_be_exact() -> None:
    assert _splitting_is_exact(TOKENIZER)
    # SentencePiece-style: whitespace belongs to the next token, so chunks must not be tokenised apart.
    metaspace = Tokenizer(models.WordLevel({"▁a": 0, "[UNK]": 1}, unk_token="[UNK]"))
    metaspace.pre_tokenizer = pre_tokenizers.Metaspace()
    assert not _splitting_is_exact(metaspace)
    embedder = StaticEmbedder()
    embedder._bagger.splits_chunks = False
    texts = ["the same text", "the same text", "bread " * 600, "", "漢字 and Σ"]
    assert np.abs(embedder.encode(texts) - reference(texts)).max() < 1e-5


def test_threads_sharing_one_embedder_get_the_same_vectors(monkeypatch: pytest.MonkeyPatch) -> None:
    # The dashboard's search keeps one embedder for every request thread; a small cache makes
    # the threads empty it under each other.
    monkeypatch.setattr(embeddings_tokens, "CACHE_LIMIT", 20)
    embedder = StaticEmbedder()
    groups = [[f"thread {n} text {i} about bread and ovens number {i * n}" for i in range(30)] for n in range(6)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(embedder.encode, groups * 3))
    for texts, vectors in zip(groups * 3, results, strict=True):
        assert np.abs(vectors - reference(texts)).max() < 1e-5
