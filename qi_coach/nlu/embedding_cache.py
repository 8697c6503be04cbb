"""Sentence vectors of training texts, kept on disk between trainings.

Embedding ~3,000 training examples takes about a minute on 2 cores, and every training did it
again: ``make train`` after adding ten examples, and each fold of ``make eval``. A vector
depends only on the text and the model weights, so it is stored under the SHA-256 of the
text, in a file named after the weights' checksum (new weights, new file).

Only training data goes through the cache. What users type at run time is embedded in memory
and never written anywhere: NHS staff type sensitive details into this.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from qi_coach.nlu.sentence_encoder import DIMENSION, WEIGHTS_SHA256, SentenceEncoder
from qi_coach.paths import PROJECT_ROOT

logger = logging.getLogger(__name__)

CHUNK = 500  # keys per SELECT (SQLite's limit on bound parameters is 999 on old builds)


def default_path() -> Path:
    folder = Path(os.environ.get("QI_COACH_CACHE_DIR") or PROJECT_ROOT / "var" / "cache")
    return folder / f"embeddings-{WEIGHTS_SHA256[:16]}.sqlite"


def _key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class EmbeddingCache:
    def __init__(self, path: Path | None = None):
        self.path = path or default_path()

    def encode(self, encoder: SentenceEncoder, texts: Sequence[str],
               progress: Callable[[int, int], None] | None = None) -> np.ndarray:
        """``encoder.encode(texts)``, reading what it can from the cache and adding the rest.
        A cache that cannot be read or written is skipped (with a warning), never fatal.
        ``progress`` hears how many of the texts not in the cache have been embedded."""
        keys = [_key(t) for t in texts]
        try:
            found = self._read(set(keys))
        except sqlite3.Error as error:
            logger.warning("Embedding cache %s unreadable (%s); embedding without it", self.path, error)
            return encoder.encode(list(texts), progress)
        missing = list(dict.fromkeys(k for k in keys if k not in found))
        if missing:
            text_of = dict(zip(keys, texts, strict=True))
            vectors = encoder.encode([text_of[k] for k in missing], progress)
            found.update(zip(missing, vectors, strict=True))
            try:
                self._write(missing, vectors)
            except sqlite3.Error as error:
                logger.warning("Embedding cache %s not written (%s)", self.path, error)
        logger.info("Embeddings: %d from the cache, %d computed", len(keys) - len(missing), len(missing))
        return np.vstack([found[k] for k in keys]) if keys else np.zeros((0, DIMENSION), dtype=np.float32)

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=60)  # folds of `make eval` may train side by side
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vector BLOB NOT NULL)")
        return conn

    def _read(self, keys: set[str]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        wanted = sorted(keys)
        conn = self._connect()
        try:
            for start in range(0, len(wanted), CHUNK):
                chunk = wanted[start:start + CHUNK]
                rows = conn.execute(f"SELECT key, vector FROM vectors WHERE key IN ({','.join('?' * len(chunk))})",
                                    chunk)
                for key, blob in rows:
                    vector = np.frombuffer(blob, dtype=np.float32)
                    if vector.shape == (DIMENSION,):  # anything else is damage: embed again
                        out[key] = vector
        finally:
            conn.close()
        return out

    def _write(self, keys: list[str], vectors: np.ndarray) -> None:
        conn = self._connect()
        try:
            with conn:
                conn.executemany("INSERT OR REPLACE INTO vectors (key, vector) VALUES (?, ?)",
                                 [(k, np.asarray(v, dtype=np.float32).tobytes()) for k, v in zip(keys, vectors,
                                                                                                   strict=True)])
        finally:
            conn.close()
