"""Build, package and install the project's own spaCy pipeline, ``en_qi_coach``.

Nothing is downloaded: the pipeline is blank English, spaCy's lookup lemmatiser with the
tables of ``spacy-lookups-data`` (installed from the registry with the project), our
lemma-casing component, and an entity ruler whose patterns come from the knowledge store
(roles, settings, QI tool names and aliases). It is installed as a versioned package, so Rasa
loads it by name wherever it runs; the version carries a hash of everything it was built
from, and the Makefile rebuilds (and retrains) only when that changes.

    qi-coach spacy build [--output DIR]      build and install (a no-op when up to date)
    qi-coach spacy version                   the version the current inputs would build
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

PACKAGE_NAME = "qi_coach"  # spaCy prefixes the language: the package is en_qi_coach
PIPELINE = f"en_{PACKAGE_NAME}"
BASE_VERSION = "1.0.0"
LABELS = {"roles": "role", "settings": "setting", "ignore": "ignore", "tools": "qi_tool"}
HERE = Path(__file__).resolve().parent


def patterns_from_knowledge() -> list[dict]:
    """Entity-ruler patterns: one per name, with the canonical id as the pattern id."""
    from knowledge.validate import check_content

    content = check_content()
    patterns = []
    for kind in ("roles", "settings", "ignore"):
        for item in getattr(content, kind):
            for name in item.names:
                patterns.append({"label": LABELS[kind], "pattern": name, "id": item.id})
    for tool in content.tools:
        for name in [tool.name, *tool.aliases]:
            patterns.append({"label": "qi_tool", "pattern": name, "id": tool.id})
    return patterns


def version() -> str:
    """BASE_VERSION plus a hash of the patterns and of this module's code."""
    digest = hashlib.sha256()
    for path in (HERE / "spacy_pipeline.py", HERE / "spacy_components.py"):
        digest.update(path.read_bytes())
    digest.update(repr(patterns_from_knowledge()).encode())
    return f"{BASE_VERSION}+{digest.hexdigest()[:10]}"


def installed_version() -> str | None:
    try:
        return importlib.metadata.version(PIPELINE)
    except importlib.metadata.PackageNotFoundError:
        return None


def build_pipeline(output: Path):
    """Build the pipeline in memory and save it to ``output`` (a folder)."""
    import spacy

    from qi_coach import spacy_components  # noqa: F401 - registers qi_lowercase_lemmas

    nlp = spacy.blank("en")
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    nlp.add_pipe("qi_lowercase_lemmas")
    # Patterns are matched on lemmas, so plurals and case need no patterns of their own.
    ruler: Any = nlp.add_pipe("entity_ruler", config={"phrase_matcher_attr": "LEMMA", "overwrite_ents": True})
    nlp.initialize()  # loads the lemma tables from spacy-lookups-data
    ruler.add_patterns(patterns_from_knowledge())
    nlp.meta.update({
        "name": PACKAGE_NAME,
        "version": version(),
        "description": "qi-coach: blank English, lookup lemmas, entity ruler for roles, settings and QI tools",
        "author": "qi-coach",
        "license": "MIT",
    })
    nlp.to_disk(output)
    return nlp


def build_and_install(force: bool = False) -> str:
    """Build, package and pip-install ``en_qi_coach`` unless this version is installed."""
    wanted = version()
    if installed_version() == wanted and not force:
        print(f"spaCy pipeline {PIPELINE} {wanted} is up to date")
        return wanted
    print(f"Building spaCy pipeline {PIPELINE} {wanted} ...", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        source, dist = Path(tmp) / "pipeline", Path(tmp) / "dist"
        build_pipeline(source)
        dist.mkdir()
        subprocess.run(
            [sys.executable, "-m", "spacy", "package", str(source), str(dist),
             "--code", str(HERE / "spacy_components.py"), "--name", PACKAGE_NAME,
             "--version", wanted, "--force"],
            check=True, stdout=subprocess.DEVNULL,
        )
        sdist = next(dist.glob("*/dist/*.tar.gz"))
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
             "--force-reinstall", "--disable-pip-version-check", str(sdist)],
            check=True,
        )
    print(f"Installed {PIPELINE} {wanted}")
    return wanted

