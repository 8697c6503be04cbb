"""The real-language corpus: what real people said about stalled improvement work, paraphrased.

Two parts, never mixed:

- *Training items* live with the other NLU data, in ``data/nlu/real/*.yml``, as ordinary Rasa
  examples whose metadata records where each came from (``source``: the page's address;
  ``theme``: the authors' own theme for the quote; ``kind``, ``country``, ``speaker``). Grouped
  cross-validation holds out whole sources, so no source is in both a fold's training and test.
- *The frozen real-language test set*, ``tests/eval/real_test.jsonl``: items from sources used
  nowhere in training, frozen by SHA-256 like the synthetic held-out set.

Every item is a first-person paraphrase: facts and register carry over, sentences do not, and
no quote text is stored. The pages in ``tests/eval/reserved_sources.txt`` (a copy of the list
reserved for independent evaluation) are never used: ``reserved_sources_used`` finds any that is.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from knowledge.schema import BARRIER_IDS
from qi_coach.paths import PROJECT_ROOT

REAL_DATA = PROJECT_ROOT / "data" / "nlu" / "real"
REAL_TEST = PROJECT_ROOT / "tests" / "eval" / "real_test.jsonl"
REAL_TEST_HASH = PROJECT_ROOT / "tests" / "eval" / "real_test.sha256"
RESERVED = PROJECT_ROOT / "tests" / "eval" / "reserved_sources.txt"
SOURCE_KINDS = ("interview_study", "focus_group", "survey_free_text", "blog", "forum", "report", "qi_writeup")


class CorpusError(ValueError):
    """A real-language item is malformed, or the frozen test set was edited."""


class FrozenSetChanged(CorpusError):
    """An evaluation-only file no longer matches the SHA-256 it was frozen with."""


def read_frozen(path: Path, hash_file: Path) -> list[dict]:
    """The JSON lines of a frozen evaluation set, after checking its SHA-256."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    expected = hash_file.read_text().split()[0]
    if digest != expected:
        raise FrozenSetChanged(f"{path} changed since it was frozen (sha256 {digest}, expected {expected}). "
                               "It is evaluation-only: restore it rather than edit it.")
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@dataclass(frozen=True)
class RealItem:
    text: str
    barriers: tuple[str, ...]
    source: str
    theme: str
    kind: str = ""
    country: str = ""
    speaker: str = ""
    id: str = ""
    extra: dict = field(default_factory=dict, compare=False, hash=False)


def normalise_address(address: str) -> str:
    """An address compared without scheme, ``www.``, query string, fragment or trailing slash."""
    address = address.strip() if "://" in address else "http://" + address.strip()
    try:
        parts = urlsplit(address)
        host, path = parts.netloc, parts.path
    except ValueError:  # not a well-formed address (e.g. a stray "["): compare what is there
        host, _, path = address.split("://", 1)[1].partition("/")
        path = "/" + path.split("?", 1)[0].split("#", 1)[0]
    return f"{host.lower().removeprefix('www.')}{path.rstrip('/')}"


def _check(item: RealItem, where: str) -> RealItem:
    problems = []
    if not item.text.strip():
        problems.append("empty text")
    unknown = [b for b in item.barriers if b not in BARRIER_IDS]
    if unknown:
        problems.append(f"unknown barrier ids {unknown}")
    if len(set(item.barriers)) != len(item.barriers):
        problems.append("a barrier id twice")
    if not item.source.startswith(("http://", "https://")):
        problems.append(f"source is not an address: {item.source!r}")
    if not item.theme.strip():
        problems.append("no theme (the authors' own theme for the quote)")
    if item.kind and item.kind not in SOURCE_KINDS:
        problems.append(f"kind {item.kind!r} is not one of {', '.join(SOURCE_KINDS)}")
    if problems:
        raise CorpusError(f"{where}: " + "; ".join(problems))
    return item


def training_items(folder: Path = REAL_DATA) -> list[RealItem]:
    """The real-language items the model trains on, with their provenance."""
    out = []
    for path in sorted(folder.glob("*.yml")):
        for block in (yaml.safe_load(path.read_text()) or {}).get("nlu", []):
            for n, example in enumerate(block.get("examples") or []):
                if not isinstance(example, dict):
                    raise CorpusError(f"{path.name}, intent {block.get('intent')}: real items need metadata")
                meta = example.get("metadata") or {}
                item = RealItem(text=str(example.get("text", "")).strip(),
                                barriers=tuple(meta.get("barriers") or ()), source=str(meta.get("source", "")),
                                theme=str(meta.get("theme", "")), kind=str(meta.get("kind", "")),
                                country=str(meta.get("country", "")), speaker=str(meta.get("speaker", "")),
                                id=f"{path.stem}:{n}")
                out.append(_check(item, f"{path.name}, example {n + 1}"))
    return out


def test_items(path: Path = REAL_TEST, hash_file: Path = REAL_TEST_HASH) -> list[RealItem]:
    """The frozen real-language test set; refuses to run if it changed since it was frozen."""
    out = []
    for n, record in enumerate(read_frozen(path, hash_file), 1):
        item = RealItem(text=record["text"], barriers=tuple(record["barriers"]), source=record["source"],
                        theme=record["theme"], kind=record.get("kind", ""), country=record.get("country", ""),
                        speaker=record.get("speaker", ""), id=record.get("id", str(n)))
        out.append(_check(item, f"{path.name}, item {n}"))
    return out


def sources(items: Iterable[RealItem]) -> set[str]:
    return sources_of(i.source for i in items)


def sources_of(addresses: Iterable[str]) -> set[str]:
    return {normalise_address(a) for a in addresses}


def reserved_addresses(path: Path = RESERVED) -> set[str]:
    return {normalise_address(line) for line in path.read_text().splitlines()
            if line.strip() and not line.lstrip().startswith("#")}


_ADDRESS = re.compile(r"https?://[^\s\"'<>)\]|,]+")


def addresses_in(text: str) -> set[str]:
    """Every web address written in a text (stripped of trailing punctuation)."""
    return {m.group(0).rstrip(".;:") for m in _ADDRESS.finditer(text)}


def reserved_sources_used(files: Iterable[Path], reserved: set[str] | None = None) -> dict[str, list[str]]:
    """Which of the files mention a reserved page: ``{file: [addresses]}`` (empty when none)."""
    reserved = reserved_addresses() if reserved is None else reserved
    hits: dict[str, list[str]] = {}
    for path in files:
        try:
            text = path.read_text(errors="ignore")
        except (OSError, UnicodeDecodeError):
            continue
        found = sorted(a for a in addresses_in(text) if normalise_address(a) in reserved)
        if found:
            hits[str(path)] = found
    return hits


def group_folds(item_sources: list[str], k: int, seed: int = 11) -> list[int]:
    """A fold per item (given by its source address) such that all items of one source share a
    fold (grouped k-fold).

    Sources are dealt largest first into the fold with fewest items so far (ties: a seeded
    order), which keeps folds close in size even when one source gives many items."""
    import random

    by_source: dict[str, list[int]] = {}
    for i, source in enumerate(item_sources):
        by_source.setdefault(normalise_address(source), []).append(i)
    order = sorted(by_source)
    random.Random(seed).shuffle(order)
    order.sort(key=lambda s: -len(by_source[s]))
    sizes = [0] * k
    fold_of = [-1] * len(item_sources)
    for source in order:
        fold = min(range(k), key=lambda f: (sizes[f], f))
        for i in by_source[source]:
            fold_of[i] = fold
        sizes[fold] += len(by_source[source])
    return fold_of
