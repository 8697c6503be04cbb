"""Read the curated YAML and check it, whole, before anything touches the database.

Every problem names the file, the item and the field, so a reviewer can go straight to it:

    knowledge/content/strategies/teams.yml: strategy 'springboard_team', field 'tools[1]':
    unknown tool 'gant_chart'

All problems are collected (not just the first), and ``ContentError`` carries them all.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from knowledge import schema
from knowledge.matching import normalise

CONTENT_DIR = Path(__file__).resolve().parent / "content"

#: Policy the shipped content must meet: enough strategies and tools in all, and for every
#: barrier enough strategies that address it first (a primary link), not in passing.
MIN_STRATEGIES = 75
MIN_TOOLS = 45
MIN_PRIMARY_STRATEGIES_PER_BARRIER = 6


@dataclass(frozen=True)
class Problem:
    file: str
    message: str
    item: str | None = None  # e.g. "strategy 'springboard_team'"
    field: str | None = None  # e.g. "tools[1]"

    def __str__(self) -> str:
        where = [self.file]
        if self.item:
            where.append(self.item + (f", field '{self.field}'" if self.field else ""))
        return ": ".join(where + [self.message])


class ContentError(Exception):
    """The content is not fit to load; ``problems`` says every reason."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{len(problems)} problem(s) in the knowledge content:\n{lines}")


@dataclass
class Content:
    """Everything under ``knowledge/content/``, parsed, with the file each item came from."""

    root: Path
    barriers: list[schema.Barrier] = field(default_factory=list)
    strategies: list[schema.Strategy] = field(default_factory=list)
    tools: list[schema.Tool] = field(default_factory=list)
    sources: list[schema.Source] = field(default_factory=list)
    coverage: list[schema.SeedCoverage] = field(default_factory=list)
    roles: list[schema.Role] = field(default_factory=list)
    settings: list[schema.Setting] = field(default_factory=list)
    ignore: list[schema.IgnoredPhrases] = field(default_factory=list)
    levels: list[schema.LevelGuide] = field(default_factory=list)
    #: (kind, id) -> every file that defines it (more than one is a duplicate).
    locations: dict[tuple[str, str], list[str]] = field(default_factory=lambda: defaultdict(list))
    #: kind -> the file, as shown to people, where a missing item of that kind belongs.
    home: dict[str, str] = field(default_factory=dict)
    digest: str = ""

    def file_of(self, kind: str, ident: str) -> str:
        return self.locations[(kind, ident)][0]

    def counts(self) -> dict[str, int]:
        return {
            "barriers": len(self.barriers),
            "strategies": len(self.strategies),
            "tools": len(self.tools),
            "sources": len(self.sources),
            "coverage_entries": sum(len(seed.items) for seed in self.coverage),
            "roles": len(self.roles),
            "settings": len(self.settings),
            "level_guides": len(self.levels),
        }


# --- YAML --------------------------------------------------------------------------------


_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C parser when built


class _StrictLoader(_BaseLoader):
    """PyYAML's safe loader, but a key given twice in one mapping is an error, not a
    silent overwrite (a duplicated ``steps:`` would otherwise lose half the steps)."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False):
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key '{key}'", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping
)


def _read_yaml(path: Path, display: str, problems: list[Problem]) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        problems.append(Problem(display, f"not UTF-8 text ({exc.reason} at byte {exc.start})"))
        return None
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        reason = getattr(exc, "problem", None) or str(exc)
        problems.append(Problem(display, f"malformed YAML{where}: {reason}"))
        return None


# --- reading -------------------------------------------------------------------------------


_SINGULAR = {
    "barriers": "barrier",
    "strategies": "strategy",
    "tools": "tool",
    "sources": "source",
    "coverage": "seed",
    "roles": "role",
    "settings": "setting",
    "ignore": "ignored phrase group",
    "levels": "level",
}


def _field_path(loc: Iterable[Any]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def _parse_items(
    raw: Any,
    key: str,
    model: type[BaseModel],
    display: str,
    problems: list[Problem],
) -> list[BaseModel]:
    """Items under ``key`` in one file, each checked against its schema."""
    if raw is None:
        problems.append(Problem(display, f"the file is empty; expected a top-level '{key}:' list"))
        return []
    if not isinstance(raw, dict) or key not in raw:
        problems.append(Problem(display, f"expected a top-level '{key}:' list"))
        return []
    items = raw[key]
    if not isinstance(items, list):
        problems.append(Problem(display, f"'{key}' must be a list of items"))
        return []
    parsed = []
    noun = _SINGULAR[key]
    for index, item in enumerate(items):
        ident = item.get("id", item.get("seed")) if isinstance(item, dict) else None
        label = f"{noun} '{ident}'" if ident else f"{noun} #{index + 1}"
        if not isinstance(item, dict):
            problems.append(Problem(display, "each item must be a mapping of fields", label))
            continue
        try:
            parsed.append(model.parse_obj(item))
        except ValidationError as exc:
            for error in exc.errors():
                message = error["msg"]
                if error["type"] == "value_error.extra":
                    message = "unknown field (check the spelling against knowledge/schema.py)"
                problems.append(Problem(display, message, label, _field_path(error["loc"])))
    return parsed


def read_content(root: Path = CONTENT_DIR) -> Content:
    """Parse every content file under ``root`` and check each item's own shape.

    Raises:
        ContentError: if a file is missing or malformed, or an item breaks its schema.
    """
    problems: list[Problem] = []
    content = Content(root=root)
    hasher = hashlib.sha256()

    def display(path: Path) -> str:
        try:
            return str(path.relative_to(root.parent.parent))
        except ValueError:
            return str(path)

    # (files, {top-level key: schema of its items})
    layout: list[tuple[list[Path], dict[str, Any]]] = [
        ([root / "barriers.yml"], {"barriers": schema.Barrier}),
        ([root / "sources.yml"], {"sources": schema.Source}),
        ([root / "tools.yml"], {"tools": schema.Tool}),
        (sorted((root / "strategies").glob("*.yml")), {"strategies": schema.Strategy}),
        ([root / "coverage.yml"], {"coverage": schema.SeedCoverage}),
        ([root / "levels.yml"], {"levels": schema.LevelGuide}),
        ([root / "entities.yml"], {"roles": schema.Role, "settings": schema.Setting,
                                   "ignore": schema.IgnoredPhrases}),
    ]
    if not root.is_dir():
        raise ContentError([Problem(str(root), "the content folder does not exist")])
    for paths, models_by_key in layout:
        first_key = next(iter(models_by_key))
        if not paths:
            problems.append(Problem(display(root / first_key), "no files found (expected *.yml)"))
        for key in models_by_key:
            content.home[key] = display(paths[0] if paths else root / key)
        for path in paths:
            shown = display(path)
            if not path.is_file():
                problems.append(Problem(shown, "file is missing"))
                continue
            hasher.update(shown.encode() + b"\0" + path.read_bytes() + b"\0")
            raw = _read_yaml(path, shown, problems)
            if raw is None and problems and problems[-1].file == shown:
                continue
            if isinstance(raw, dict):
                extra = sorted(set(raw) - set(models_by_key), key=str)
                if extra:
                    problems.append(Problem(shown, f"unknown top-level key(s): {', '.join(map(str, extra))}"))
            for key, model in models_by_key.items():
                item: Any
                for item in _parse_items(raw, key, model, shown, problems):
                    getattr(content, key).append(item)
                    ident = item.seed if key == "coverage" else item.id
                    content.locations[(key, ident)].append(shown)
    if problems:
        raise ContentError(problems)
    content.digest = hasher.hexdigest()
    return content


# --- cross-references and policy ----------------------------------------------------------


def cross_check(content: Content) -> list[Problem]:
    """Problems that need every file at once: duplicates, dangling ids, coverage policy."""
    problems: list[Problem] = []

    def where(kind: str, ident: str) -> str:
        return content.file_of(kind, ident)

    for (kind, ident), files in list(content.locations.items()):
        if len(files) > 1:
            places = " and ".join(sorted(set(files))) if len(set(files)) > 1 else f"{files[0]} {len(files)} times"
            problems.append(
                Problem(files[-1], f"duplicate id: '{ident}' is defined in {places}",
                        f"{_SINGULAR[kind]} '{ident}'", "seed" if kind == "coverage" else "id")
            )

    barrier_ids = {b.id for b in content.barriers}
    strategy_ids = {s.id for s in content.strategies}
    tool_ids = {t.id for t in content.tools}
    sources = {s.id: s for s in content.sources}

    for missing in [b for b in schema.BARRIER_IDS if b not in barrier_ids]:
        problems.append(Problem(content.home["barriers"], f"taxonomy barrier '{missing}' has no entry"))

    def refs(kind: str, ident: str, field_name: str, values: list[str], known: Any, what: str):
        for i, value in enumerate(values):
            if value not in known:
                problems.append(
                    Problem(where(kind, ident), f"unknown {what} '{value}'",
                            f"{_SINGULAR[kind]} '{ident}'", f"{field_name}[{i}]")
                )

    for b in content.barriers:
        refs("barriers", b.id, "sources", b.sources, sources, "source")
    for guide in content.levels:
        refs("levels", guide.id, "sources", guide.sources, sources, "source")
    for missing in sorted({level.value for level in schema.Level} - {g.id for g in content.levels}):
        problems.append(Problem(content.home["levels"], f"level '{missing}' has no entry"))
    for s in content.strategies:
        refs("strategies", s.id, "barriers", [link.id for link in s.barriers], barrier_ids, "barrier")
        refs("strategies", s.id, "tools", s.tools, tool_ids, "tool")
        refs("strategies", s.id, "sources", s.sources, sources, "source")
        linked = Counter(link.id for link in s.barriers)
        for barrier, n in linked.items():
            if n > 1:
                problems.append(Problem(where("strategies", s.id), f"barrier '{barrier}' is linked {n} times",
                                        f"strategy '{s.id}'", "barriers"))
    problems.extend(_situations(content))
    for t in content.tools:
        refs("tools", t.id, "related_strategies", t.related_strategies, strategy_ids, "strategy")
        refs("tools", t.id, "sources", t.sources, sources, "source")

    known_refs = {"barrier": barrier_ids, "strategy": strategy_ids, "tool": tool_ids}
    for seed in content.coverage:
        file = where("coverage", seed.seed)
        if seed.seed not in sources:
            problems.append(Problem(file, f"unknown source '{seed.seed}'", f"seed '{seed.seed}'", "seed"))
        elif sources[seed.seed].kind != schema.SourceKind.seed:
            problems.append(Problem(file, f"'{seed.seed}' is a reference, not a seed document",
                                    f"seed '{seed.seed}'", "seed"))
        for i, entry in enumerate(seed.items):
            for j, ref in enumerate(entry.covered_by):
                kind, _, ident = ref.partition(":")
                if ident not in known_refs[kind]:
                    problems.append(
                        Problem(file, f"'{ref}' points nowhere: no {kind} has id '{ident}'",
                                f"seed '{seed.seed}' item '{entry.name}'", f"items[{i}].covered_by[{j}]")
                    )

    problems.extend(_entity_names(content))
    problems.extend(_coverage_policy(content))
    problems.extend(_tool_links(content))
    problems.extend(_aliases(content))
    problems.extend(_replacements(content))
    problems.extend(_seed_coverage(content))
    return problems


def _tool_links(content: Content) -> list[Problem]:
    """A strategy's tools and a tool's related strategies say the same links from both ends, and
    every tool is linked from a strategy (an unlinked tool is never recommended)."""
    strategies = {s.id: s for s in content.strategies}
    tools = {t.id: t for t in content.tools}
    problems = _one_way(content, "strategies", content.strategies, "tools", tools, "related_strategies") + \
        _one_way(content, "tools", content.tools, "related_strategies", strategies, "tools")
    for t in content.tools:
        if not t.related_strategies:
            problems.append(Problem(content.file_of("tools", t.id),
                                    "no strategy links this tool, so it is never recommended",
                                    f"tool '{t.id}'", "related_strategies"))
    return problems


def _one_way(content: Content, kind: str, items: list[Any], field_name: str, others: dict[str, Any],
             back: str) -> list[Problem]:
    """Links in ``items``' ``field_name`` that the item at the other end does not list in ``back``."""
    other_noun = "tool" if kind == "strategies" else "strategy"
    problems = []
    for item in items:
        for i, other in enumerate(getattr(item, field_name)):
            if other in others and item.id not in getattr(others[other], back):
                problems.append(Problem(content.file_of(kind, item.id),
                                        f"{other_noun} '{other}' does not list this {_SINGULAR[kind]} in its {back}",
                                        f"{_SINGULAR[kind]} '{item.id}'", f"{field_name}[{i}]"))
    return problems


def _aliases(content: Content) -> list[Problem]:
    """A name or alias means one item: "we already tried quick wins" must not fit two strategies,
    nor a strategy and a tool."""
    problems = []
    owner: dict[str, str] = {}
    kinds: tuple[tuple[str, list[Any]], ...] = (("strategies", content.strategies), ("tools", content.tools))
    for kind, items in kinds:
        for item in items:
            label = f"{_SINGULAR[kind]} '{item.id}'"
            names = [("title" if kind == "strategies" else "name", item.title if kind == "strategies" else item.name)]
            names += [(f"aliases[{i}]", alias) for i, alias in enumerate(item.aliases)]
            for field_name, name in names:
                key = normalise(name)
                first = owner.setdefault(key, label)
                if first != label:
                    problems.append(Problem(content.file_of(kind, item.id), f"'{name}' already names {first}",
                                            label, field_name))
    return problems


def _replacements(content: Content) -> list[Problem]:
    """A retired id is retired: no strategy still has it, and only one strategy replaces it."""
    problems = []
    live = {s.id for s in content.strategies}
    owner: dict[str, str] = {}
    for s in content.strategies:
        for i, old in enumerate(s.replaces):
            if old in live:
                problems.append(Problem(content.file_of("strategies", s.id),
                                        f"'{old}' is still a strategy, so it cannot be replaced",
                                        f"strategy '{s.id}'", f"replaces[{i}]"))
            elif owner.setdefault(old, s.id) != s.id:
                problems.append(Problem(content.file_of("strategies", s.id),
                                        f"'{old}' is already replaced by strategy '{owner[old]}'",
                                        f"strategy '{s.id}'", f"replaces[{i}]"))
    return problems


def item_text(content: Content, ref: str) -> str:
    """Everything a covering item says, for checking that it addresses a seed's point."""
    kind, _, ident = ref.partition(":")
    pools: dict[str, list[Any]] = {"barrier": content.barriers, "strategy": content.strategies,
                                   "tool": content.tools}
    found = [i for i in pools[kind] if i.id == ident]
    if not found:
        return ""
    data = found[0].dict(exclude={"id", "sources", "barriers", "levels", "tools", "related_strategies",
                                  "replaces", "effort", "evidence", "category"})

    def flatten(value: Any) -> list[str]:
        if isinstance(value, dict):
            return [t for v in value.values() for t in flatten(v)]
        if isinstance(value, list):
            return [t for v in value for t in flatten(v)]
        return [str(value)]

    return normalise(" ".join(flatten(data)))


def _seed_coverage(content: Content) -> list[Problem]:
    """Every seed has its section in the coverage map, and every item an entry points to says one
    of the entry's ``terms`` (a term matches whole words or their start: "resist" finds
    "resistance"): the map names only items that address the point."""
    problems = []
    mapped = {seed.seed for seed in content.coverage}
    home = content.home["coverage"]
    for source in content.sources:
        if source.kind == schema.SourceKind.seed and source.id not in mapped:
            problems.append(Problem(home, f"seed '{source.id}' has no section: list what it names"))
    for seed in content.coverage:
        for i, entry in enumerate(seed.items):
            terms = [normalise(t) for t in entry.terms]
            for j, ref in enumerate(entry.covered_by):
                text = item_text(content, ref)
                if text and not any(f" {t}" in f" {text}" for t in terms):  # a word, or a word's start
                    problems.append(Problem(content.file_of("coverage", seed.seed),
                                            f"'{ref}' says none of {', '.join(entry.terms)}: does it address the point?",
                                            f"seed '{seed.seed}' item '{entry.name}'", f"items[{i}].covered_by[{j}]"))
    return problems


def _situations(content: Content) -> list[Problem]:
    """A situation belongs to one strategy, on one side: the same words both fitting and not
    fitting, or fitting two strategies, would make the ranking's match mean nothing."""
    problems: list[Problem] = []
    owner: dict[str, str] = {}
    for s in content.strategies:
        fits = {normalise(text) for text in s.situations.fits}
        for i, text in enumerate(s.situations.does_not_fit):
            if normalise(text) in fits:
                problems.append(Problem(content.file_of("strategies", s.id), "a situation both fits and does not fit",
                                        f"strategy '{s.id}'", f"situations.does_not_fit[{i}]"))
        for i, text in enumerate(s.situations.fits):
            first = owner.setdefault(normalise(text), s.id)
            if first != s.id:
                problems.append(Problem(content.file_of("strategies", s.id),
                                        f"this situation is already one that strategy '{first}' fits",
                                        f"strategy '{s.id}'", f"situations.fits[{i}]"))
    return problems


def _entity_names(content: Content) -> list[Problem]:
    """A name may mean one role or setting only, or the entity matcher would guess."""
    problems = []
    owner: dict[str, str] = {}
    for kind, items in (("roles", content.roles), ("settings", content.settings), ("ignore", content.ignore)):
        for item in items:
            for i, name in enumerate(item.names):
                key = " ".join(name.lower().split())
                label = f"{_SINGULAR[kind]} '{item.id}'"
                if key in owner and owner[key] != label:
                    problems.append(Problem(content.file_of(kind, item.id),
                                            f"'{name}' already names {owner[key]}", label, f"names[{i}]"))
                owner.setdefault(key, label)
    return problems


def _coverage_policy(content: Content) -> list[Problem]:
    """Enough strategies and tools in all; every barrier has enough strategies that address it
    first, and one for each level it sits at."""
    problems = []
    for kind, have, need in (("strategies", len(content.strategies), MIN_STRATEGIES),
                             ("tools", len(content.tools), MIN_TOOLS)):
        if have < need:
            problems.append(Problem(content.home[kind], f"only {have} {kind}; the library needs at least {need}"))
    by_barrier: dict[str, list[schema.Strategy]] = defaultdict(list)
    for s in content.strategies:
        for link in s.barriers:
            by_barrier[link.id].append(s)
    for b in content.barriers:
        file = content.file_of("barriers", b.id)
        found = by_barrier.get(b.id, [])
        primary = [s for s in found if any(link.id == b.id and link.strength == schema.Strength.primary
                                           for link in s.barriers)]
        if len(primary) < MIN_PRIMARY_STRATEGIES_PER_BARRIER:
            problems.append(
                Problem(file, f"only {len(primary)} strateg{'y' if len(primary) == 1 else 'ies'} address this "
                        f"barrier first (a primary link); at least {MIN_PRIMARY_STRATEGIES_PER_BARRIER} are needed",
                        f"barrier '{b.id}'")
            )
        for level in b.levels:
            if not any(level in s.levels for s in found):
                problems.append(
                    Problem(file, f"no strategy for this barrier acts at level '{level.value}'",
                            f"barrier '{b.id}'", "levels")
                )
    return problems


def check_content(root: Path = CONTENT_DIR) -> Content:
    """Read and fully validate the content; return it, or raise ``ContentError``."""
    content = read_content(root)
    problems = cross_check(content)
    if problems:
        raise ContentError(problems)
    return content
