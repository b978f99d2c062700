"""A TF-IDF index over passages, saved as arrays and JSON (no pickle) and searched with one sparse product.

scikit-learn's TfidfVectorizer builds it; the query side is rebuilt at load from the fixed settings,
vocabulary, idf weights and stop words (`QueryVectorizer`, plain Python and numpy), so it matches the
build side exactly and a serving worker never imports scikit-learn for a chat. An index saved
without its stop words falls back to scikit-learn's vectorizer.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from webapp.serving.arrays import load_csr, read_npz, save_csr
from webapp.serving.errors import InvalidInput

MATRIX, IDF, TERMS, PASSAGES = "index.npz", "idf.npz", "index.json", "passages.json"
FILES = (MATRIX, IDF, TERMS, PASSAGES)
SETTINGS: dict[str, Any] = {"lowercase": True, "stop_words": "english", "ngram_range": (1, 2),
                            "sublinear_tf": True, "norm": "l2"}


@dataclass(frozen=True)
class Passage:
    title: str
    source: str  # where it comes from, e.g. "docs/lifecycle.md#labels"
    text: str


def _vectorizer(vocabulary: dict[str, int] | None = None):
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(**SETTINGS, vocabulary=vocabulary)


class QueryVectorizer:
    """TfidfVectorizer.transform for SETTINGS, without scikit-learn: the same tokens, n-grams, sublinear
    tf, idf and l2 norm (tests compare the two on many texts)."""

    TOKEN = re.compile(r"(?u)\b\w\w+\b")  # scikit-learn's default token_pattern

    def __init__(self, vocabulary: dict[str, int], idf: np.ndarray, stop_words: frozenset[str]) -> None:
        self.vocabulary_, self.idf_, self.stop_words = vocabulary, idf, stop_words

    def transform(self, texts: list[str]) -> sp.csr_matrix:
        rows = [self._row(text) for text in texts]
        data = np.concatenate([r[1] for r in rows]) if rows else np.zeros(0)
        indices = np.concatenate([r[0] for r in rows]) if rows else np.zeros(0, int)
        indptr = np.cumsum([0, *(len(r[0]) for r in rows)])
        return sp.csr_matrix((data, indices, indptr), shape=(len(texts), len(self.idf_)))

    def _row(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        tokens = [t for t in self.TOKEN.findall(text.lower()) if t not in self.stop_words]
        grams = tokens + [f"{a} {b}" for a, b in zip(tokens, tokens[1:], strict=False)]
        counts = Counter(self.vocabulary_[g] for g in grams if g in self.vocabulary_)
        cols = np.asarray(sorted(counts), dtype=np.int64)
        values = np.asarray([(1.0 + math.log(counts[c])) * self.idf_[c] for c in cols], dtype=np.float64)
        norm = float(np.sqrt((values ** 2).sum()))
        return cols, values / norm if norm > 0 else values


class TfidfIndex:
    """Passages and their unit-length TF-IDF rows; `search` answers cosine scores."""

    def __init__(self, passages: list[Passage], vectorizer: Any, matrix: sp.csr_matrix) -> None:
        self.passages, self.vectorizer, self.matrix = passages, vectorizer, matrix
        self.matrix_t = sp.csr_matrix(matrix.T)

    @classmethod
    def build(cls, passages: list[Passage]) -> TfidfIndex:
        if not passages:
            raise InvalidInput("A retrieval index needs at least one passage")
        vectorizer = _vectorizer()
        # the title twice: a question usually names what a heading names
        matrix = vectorizer.fit_transform([f"{p.title}\n{p.title}\n{p.text}" for p in passages])
        return cls(passages, vectorizer, sp.csr_matrix(matrix, dtype=np.float32))

    def vector(self, text: str) -> sp.csr_matrix:
        return sp.csr_matrix(self.vectorizer.transform([text]), dtype=np.float32)

    def search(self, query: sp.csr_matrix, top: int) -> list[tuple[Passage, float]]:
        """The `top` passages by cosine with a query vector, best first, zero scores left out."""
        scores = (query @ self.matrix_t).toarray().ravel()
        best = np.argsort(-scores, kind="stable")[:top]
        return [(self.passages[i], float(scores[i])) for i in best if scores[i] > 0]

    def save(self, folder: Path) -> None:
        save_csr(folder / MATRIX, self.matrix)
        np.savez_compressed(folder / IDF, idf=self.vectorizer.idf_.astype(np.float64))
        terms = sorted(self.vectorizer.vocabulary_, key=self.vectorizer.vocabulary_.get)
        vec = self.vectorizer
        words = vec.stop_words if isinstance(vec, QueryVectorizer) else vec.get_stop_words()
        stop_words = sorted(words or ())
        (folder / TERMS).write_text(json.dumps({"terms": terms, "stop_words": stop_words}), encoding="utf-8")
        (folder / PASSAGES).write_text(json.dumps([asdict(p) for p in self.passages]), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> TfidfIndex:
        """Read an index written by `save`; raises InvalidInput naming what is missing or inconsistent."""
        matrix = load_csr(folder / MATRIX)
        idf = read_npz(folder / IDF, ("idf",))["idf"]
        doc = _json(folder / TERMS)
        terms = doc.get("terms") if isinstance(doc, dict) else None
        stop_words = doc.get("stop_words") if isinstance(doc, dict) else None
        raw = _json(folder / PASSAGES)
        _check(isinstance(terms, list) and all(isinstance(t, str) for t in terms)
               and len(set(terms)) == len(terms), f"{TERMS} needs a list of distinct terms")
        _check(isinstance(raw, list) and all(isinstance(p, dict) for p in raw), f"{PASSAGES} needs a list")
        try:
            passages = [Passage(str(p["title"]), str(p["source"]), str(p["text"])) for p in raw]
        except KeyError as exc:
            raise InvalidInput(f"Invalid retrieval index: a passage lacks {exc}") from None
        _check(matrix.shape == (len(passages), len(terms)) and idf.shape == (len(terms),)
               and idf.dtype.kind == "f" and bool(np.isfinite(idf).all()),
               "the matrix, terms, idf and passages do not match")
        vocabulary = {t: i for i, t in enumerate(terms)}
        if isinstance(stop_words, list) and all(isinstance(w, str) for w in stop_words):
            return cls(passages, QueryVectorizer(vocabulary, idf, frozenset(stop_words)), matrix)
        vectorizer = _vectorizer(vocabulary)  # an index saved before the stop words were
        vectorizer.idf_ = idf
        return cls(passages, vectorizer, matrix)


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidInput(f"Invalid retrieval index: {path.name} is missing") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"Invalid retrieval index: {path.name} is not valid JSON ({exc})") from None


def _check(cond: bool, message: str) -> None:
    if not cond:
        raise InvalidInput(f"Invalid retrieval index: {message}")
