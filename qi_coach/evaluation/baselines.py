"""Baselines scored beside the assistant's own pipeline, in the same run.

- ``KeywordBaseline``: the taxonomy's cue phrases; a barrier is predicted when every content
  word of one of its cues appears in the message (after the same normalising as tool lookup).
- ``TfidfBaseline``: word 1-2-grams and character 2-5-grams, TF-IDF weighted, one logistic
  regression per barrier (one-vs-rest), threshold 0.5.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from knowledge.matching import content_words, normalise
from knowledge.schema import BARRIER_IDS
from knowledge.validate import check_content

TAXONOMY = Path(__file__).resolve().parents[3] / "shared" / "barrier-taxonomy.md"


def taxonomy_cues(path: Path = TAXONOMY) -> dict[str, list[str]]:
    """Cue phrases per barrier: the taxonomy's table when it is beside the project, else the
    cues of ``knowledge/content/barriers.yml`` (written from it)."""
    if path.exists():
        cues = {}
        for line in path.read_text().splitlines():
            m = re.match(r"^\| `([a-z_]+)` \| [^|]+\| ([^|]+) \|", line)
            if m and m.group(1) in BARRIER_IDS:
                cues[m.group(1)] = re.findall(r"\u201c([^\u201d]+)\u201d|\"([^\"]+)\"", m.group(2))
                cues[m.group(1)] = [a or b for a, b in cues[m.group(1)]]
        if len(cues) == len(BARRIER_IDS):
            return cues
    return {b.id: list(b.cues) for b in check_content().barriers}


class KeywordBaseline:
    name = "keyword matcher (taxonomy cues)"

    def __init__(self, cues: dict[str, list[str]] | None = None):
        cues = cues or taxonomy_cues()
        self.cues = {b: [set((content_words(normalise(c)) or normalise(c)).split()) for c in phrases]
                     for b, phrases in cues.items()}

    def fit(self, texts: Sequence[str], labels: Sequence[Sequence[str]]) -> KeywordBaseline:
        return self  # nothing to learn

    def predict(self, texts: Sequence[str]) -> list[list[dict]]:
        out = []
        for text in texts:
            words = set(normalise(text).split())
            found = [{"id": b, "confidence": 1.0} for b, cue_sets in self.cues.items()
                     if any(cue and cue <= words for cue in cue_sets)]
            out.append(found)
        return out


class TfidfBaseline:
    name = "TF-IDF + logistic regression (one-vs-rest)"

    def fit(self, texts: Sequence[str], labels: Sequence[Sequence[str]]) -> TfidfBaseline:
        import numpy as np
        from scipy.sparse import hstack
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        self.words = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
        self.chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2)
        x = hstack([self.words.fit_transform(texts), self.chars.fit_transform(texts)]).tocsr()
        self.models = {}
        for b in BARRIER_IDS:
            y = np.array([b in truth for truth in labels], dtype=int)
            if y.sum():
                self.models[b] = LogisticRegression(C=8.0, class_weight="balanced", solver="liblinear",
                                                    max_iter=1000).fit(x, y)
        return self

    def predict(self, texts: Sequence[str]) -> list[list[dict]]:
        from scipy.sparse import hstack

        x = hstack([self.words.transform(texts), self.chars.transform(texts)]).tocsr()
        probabilities = {b: m.predict_proba(x)[:, 1] for b, m in self.models.items()}
        out = []
        for i in range(len(texts)):
            found = sorted(((round(float(p[i]), 4), b) for b, p in probabilities.items() if p[i] >= 0.5),
                           key=lambda cb: -cb[0])
            out.append([{"id": b, "confidence": c} for c, b in found])
        return out
