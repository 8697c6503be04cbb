"""What the person said, as the ranking hears it: their own words from this conversation,
redacted, split into sentences and embedded by the classifier's sentence encoder.

The situations a strategy fits are short and concrete ("the consultant who led it is
retiring"); a whole message mixes several of those. Matching sentence by sentence lets one
telling detail count, and lets the reply quote the sentence that made the difference.

Embedding a message takes tens of milliseconds on two cores, so the actions that first see a
message (the barrier assessment, each triage answer) ``prefetch`` it in a background thread
while the person reads and answers; the strategy reply a turn later finds it ready. Vectors
are kept in memory only (a bounded cache); nothing the user typed is written anywhere.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from knowledge.ranking import Said
from qi_coach.limits import MESSAGE_CHARS
from qi_coach.nlu.sentence_encoder import shared_encoder
from qi_coach.redaction import redact

logger = logging.getLogger(__name__)

MAX_SENTENCES = 24  # the most recent ones, so a long conversation costs the same as a short one
MIN_WORDS = 4  # "yes", "not quite", "about a year" say nothing about circumstances
CACHE_SIZE = 4096

_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+|\n+")
_WORD = re.compile(r"[^\W\d_]+")


def sentences_of(texts: Iterable[str]) -> list[str]:
    """The sentences worth matching, redacted, in order, each once, the latest
    ``MAX_SENTENCES``. Button payloads ("/affirm") are not the person's words."""
    found: dict[str, None] = {}
    for text in texts:
        if not text or text.lstrip().startswith("/"):
            continue
        for part in _SENTENCE_END.split(redact(text[:MESSAGE_CHARS]).text):
            sentence = " ".join(part.split())
            if len(_WORD.findall(sentence)) >= MIN_WORDS:
                found.pop(sentence, None)
                found[sentence] = None
    return list(found)[-MAX_SENTENCES:]


class _VectorCache:
    """Sentence -> unit vector, least recently used dropped first; safe across threads."""

    def __init__(self, size: int):
        self.size = size
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def vectors(self, sentences: list[str]) -> np.ndarray:
        with self._lock:
            found = {s: self._vectors[s] for s in sentences if s in self._vectors}
        missing = [s for s in dict.fromkeys(sentences) if s not in found]
        if missing:  # embedded outside the lock: another thread may read the cache meanwhile
            found.update(zip(missing, shared_encoder().encode(missing), strict=True))
        with self._lock:
            for sentence, vector in found.items():
                self._vectors[sentence] = vector
                self._vectors.move_to_end(sentence)
            while len(self._vectors) > self.size:
                self._vectors.popitem(last=False)
        return np.vstack([found[s] for s in sentences])


_cache = _VectorCache(CACHE_SIZE)
_background = ThreadPoolExecutor(max_workers=1, thread_name_prefix="qi-coach-said")


def prefetch(texts: Iterable[str]) -> Future | None:
    """Embed what was just said in the background, so a later ``heard`` finds it cached. Never
    raises: a failure here only means the later reply embeds it itself."""
    sentences = sentences_of(texts)
    if not sentences:
        return None

    def embed() -> None:
        try:
            _cache.vectors(sentences)
        except Exception:  # noqa: BLE001 - a background warm-up must not take anything down
            logger.exception("Embedding a message ahead of time failed; the reply will embed it")

    return _background.submit(embed)


QUOTE_WORDS = 18


def you_said(sentence: str) -> str:
    """The reason a strategy fits, in the person's own words: their sentence, shortened to a
    readable quote. The same in the chat, the plan and the CLI."""
    words = sentence.rstrip(" .!?;").split()
    quote = " ".join(words[:QUOTE_WORDS]) + ("..." if len(words) > QUOTE_WORDS else "")
    return f"you said \u201c{quote}\u201d."


def first_mentions(reasons: Iterable[str | None]) -> list[str | None]:
    """Each reason the first time it comes, None after: one sentence of theirs is given as the
    reason once per reply or plan, however many strategies it fits."""
    seen: set[str] = set()
    out: list[str | None] = []
    for reason in reasons:
        out.append(reason if reason and reason not in seen else None)
        seen.add(reason or "")
    return out


def heard(texts: Iterable[str]) -> Said | None:
    """What the person said, ready for ``KnowledgeStore.recommend(said=...)``; None when
    nothing they said describes a situation."""
    sentences = sentences_of(texts)
    if not sentences:
        return None
    return Said(tuple(sentences), _cache.vectors(sentences))
