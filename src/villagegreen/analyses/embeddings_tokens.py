"""Texts to bags of token ids, exactly as the model's tokenizer counts them, at a fraction of its cost.

A static model only needs, per text, which tokens occur and how often: their order is lost in
the mean. ``tokenizers`` spends about 100 µs per 200-character text (normalisation and
pre-tokenisation track character offsets that we never read), which alone was 1.5 CPU-minutes
for a million messages. For a BERT-style tokenizer (``BertNormalizer`` + ``BertPreTokenizer``)
no token ever spans ASCII whitespace and nothing is joined across it, so a text's tokens are the
concatenation of the tokens of its whitespace-separated chunks. Chunks repeat (word frequencies
are Zipfian: 3,400 distinct chunks in 100k synthetic messages), so each distinct chunk is
tokenised once and remembered. Splitting and de-duplicating happen in Arrow's C++ kernels.

Any other tokenizer (a SentencePiece ``Metaspace`` one, where whitespace is part of a token) is
tokenised whole text by whole text; identical texts are still tokenised once.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sparse

# The only whitespace that BertNormalizer and BertPreTokenizer both treat as a plain separator.
# Python's str.split() would also split on \x0b, \x0c and \x1c-\x1f, which BERT deletes as
# control characters, joining the text on either side into one word.
_CHUNK_SEPARATORS = (" ", "\n", "\r", "\t")
_SAFE_NORMALIZERS = {"BertNormalizer"}
_SAFE_PRE_TOKENIZERS = {"BertPreTokenizer"}
# Distinct chunks remembered between batches (about 200 bytes each); beyond it the memory is
# worth more than re-tokenising the rare chunks of a huge real archive.
CACHE_LIMIT = 300_000


@dataclass(frozen=True, slots=True)
class TokenBags:
    """Per text: its kept tokens as a sparse (texts × vocabulary) count matrix, and how many.

    ``counts`` is a float32 ``scipy.sparse.csr_array``; ``kept[i]`` is the row's sum (tokens after
    truncation to ``max_tokens`` and dropping the unknown token). A text with no kept token has an
    empty row and ``kept`` 0.
    """

    counts: Any
    kept: npt.NDArray[np.int64]


class TokenBagger:
    """Counts tokens like ``tokenizer.encode(text, add_special_tokens=False).ids[:max_tokens]`` minus ``unk_id``."""

    def __init__(self, tokenizer: Any, *, vocab_size: int, unk_id: int | None, max_tokens: int) -> None:
        self._tokenizer = tokenizer
        self._vocab_size = vocab_size
        self._unk_id = unk_id
        self._max_tokens = max_tokens
        self.splits_chunks = _splitting_is_exact(tokenizer)
        # chunk -> its token ids, in order, unknown tokens included (the cut at max_tokens counts them)
        self._cache: dict[str, tuple[int, ...]] = {}

    def bags(self, texts: Sequence[str] | pa.Array) -> TokenBags:
        """Token bags for ``texts`` (a list of str or an Arrow string array; a null counts as empty)."""
        array = texts if isinstance(texts, pa.Array | pa.ChunkedArray) else pa.array(texts, pa.string())
        if isinstance(array, pa.ChunkedArray):
            array = array.combine_chunks()
        array = array.fill_null("")
        if self.splits_chunks:
            # Three literal replacements and a literal split cost a quarter of one regex split;
            # runs of spaces give empty chunks, which have no tokens.
            spaced = array
            for separator in _CHUNK_SEPARATORS[1:]:
                spaced = pc.replace_substring(spaced, separator, " ")
            parts = pc.split_pattern(spaced, " ")
            chunks_per_text = pc.list_value_length(parts).to_numpy(zero_copy_only=False).astype(np.int64)
            flat = parts.flatten()
        else:
            chunks_per_text = np.ones(len(array), dtype=np.int64)
            flat = array
        encoded = flat.dictionary_encode()
        distinct = self._lookup(encoded.dictionary.to_pylist())
        chunk_matrix, chunk_kept, chunk_total = self._chunk_rows(distinct)
        # (texts × distinct chunks) occurrence counts, times (chunks × vocabulary) token counts.
        indptr = np.zeros(len(array) + 1, dtype=np.int64)
        np.cumsum(chunks_per_text, out=indptr[1:])
        indices = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
        occurrences = sparse.csr_array((np.ones(len(indices), np.float32), indices, indptr), shape=(len(array), len(distinct)))
        counts = sparse.csr_array(occurrences @ chunk_matrix)
        kept = np.rint(occurrences @ chunk_kept).astype(np.int64)
        total = np.rint(occurrences @ chunk_total).astype(np.int64)
        overflow = np.flatnonzero(total > self._max_tokens)
        if overflow.size:
            chunk_lists = [[distinct[chunk] for chunk in indices[indptr[row] : indptr[row + 1]]] for row in overflow]
            counts, kept = self._truncate(overflow, chunk_lists, counts, kept)
        return TokenBags(counts, kept)

    def _lookup(self, chunks: list[str]) -> list[tuple[int, ...]]:
        # Safe to share between threads (the dashboard's search does): every read is one dict
        # operation, and a chunk missing by the time it is needed is simply tokenised here.
        found = [self._cache.get(chunk) for chunk in chunks]
        missing = [chunk for chunk, ids in zip(chunks, found, strict=True) if ids is None]
        if not missing:
            return [ids for ids in found if ids is not None]
        if len(self._cache) + len(missing) > CACHE_LIMIT:
            self._cache.clear()
        fresh = dict(zip(missing, (tuple(e.ids) for e in self._tokenizer.encode_batch_fast(missing, add_special_tokens=False)), strict=True))
        self._cache.update(fresh)
        return [ids if ids is not None else fresh[chunk] for chunk, ids in zip(chunks, found, strict=True)]

    def _chunk_rows(self, distinct: list[tuple[int, ...]]) -> tuple[Any, npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        """(chunks × vocabulary) counts of kept tokens, kept tokens per chunk, all tokens per chunk."""
        lengths = np.fromiter(map(len, distinct), dtype=np.int64, count=len(distinct))
        ids = np.fromiter(itertools.chain.from_iterable(distinct), dtype=np.int64, count=int(lengths.sum()))
        owners = np.repeat(np.arange(len(distinct), dtype=np.int64), lengths)
        known = ids != self._unk_id if self._unk_id is not None else np.ones(len(ids), dtype=bool)
        matrix = self._csr(owners[known], ids[known], len(distinct))
        kept = np.bincount(owners[known], minlength=len(distinct)).astype(np.float32)
        return matrix, kept, lengths.astype(np.float32)

    def _truncate(
        self, rows: npt.NDArray[np.intp], chunk_lists: list[list[tuple[int, ...]]], counts: Any, kept: npt.NDArray[np.int64]
    ) -> tuple[Any, npt.NDArray[np.int64]]:
        # Rare (a few texts in ten thousand): where the cut at max_tokens falls depends on token
        # order, which the counts lost, so these texts' tokens are laid end to end and cut.
        id_lists = [[i for i in itertools.islice(itertools.chain.from_iterable(chunks), self._max_tokens) if i != self._unk_id] for chunks in chunk_lists]
        lengths = np.fromiter(map(len, id_lists), dtype=np.int64, count=len(id_lists))
        ids = np.fromiter(itertools.chain.from_iterable(id_lists), dtype=np.int64, count=int(lengths.sum()))
        replacement = self._csr(np.repeat(rows.astype(np.int64), lengths), ids, counts.shape[0])
        keep = np.ones(counts.shape[0], dtype=np.float32)
        keep[rows] = 0
        # Zero the overflowing rows, then put their truncated counts in.
        counts = sparse.csr_array(sparse.diags_array(keep) @ counts + replacement)
        kept = kept.copy()
        kept[rows] = lengths
        return counts, kept

    def _csr(self, rows: npt.NDArray[np.int64], ids: npt.NDArray[np.int64], height: int) -> Any:
        """A (height × vocabulary) count matrix with one count per (row, id) pair given."""
        return sparse.csr_array((np.ones(len(ids), np.float32), (rows, ids)), shape=(height, self._vocab_size))


def _splitting_is_exact(tokenizer: Any) -> bool:
    """Whether tokenising whitespace-separated chunks one by one gives the same tokens as the whole text."""
    spec = json.loads(tokenizer.to_str())
    normalizer, pre_tokenizer = spec.get("normalizer") or {}, spec.get("pre_tokenizer") or {}
    # An added token containing whitespace would be matched across a chunk boundary.
    added = [token.get("content", "") for token in spec.get("added_tokens") or []]
    return (
        normalizer.get("type") in _SAFE_NORMALIZERS
        and pre_tokenizer.get("type") in _SAFE_PRE_TOKENIZERS
        and not any(char.isspace() for token in added for char in token)
    )
