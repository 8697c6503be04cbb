"""The content review table (docs/content-review.md): every strategy with its evidence level and
sources, and every tool with its sources, for a clinical reviewer to sign off.

Built from the YAML itself, so it cannot drift from what the coach says: ``qi-coach knowledge
review`` writes it, and a test fails when the checked-in copy differs from a fresh one.
"""

from __future__ import annotations

from knowledge import schema
from knowledge.repository import source_ref
from knowledge.validate import Content

EVIDENCE_MEANING = {
    schema.Evidence.trial: "randomised trials, or a systematic review of them",
    schema.Evidence.evaluation: "an evaluation or review across several sites or projects",
    schema.Evidence.case_study: "one case: a single site, project or trial's account of its own implementation",
    schema.Evidence.expert_opinion: "advice from experienced practitioners, editorials and practical guides",
}


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _citation(source: schema.Source) -> str:
    """Who, when and where, as the chat names it (``SourceRef.short``), linked where it can be."""
    ref = source_ref(source)
    return f"[{_cell(ref.short)}]({ref.url})" if ref.url else _cell(ref.short)


def review_markdown(content: Content) -> str:
    """The whole review document, in Markdown."""
    sources = {s.id: s for s in content.sources}
    counts: dict[str, int] = {}
    for s in content.strategies:
        counts[s.evidence.value] = counts.get(s.evidence.value, 0) + 1
    lines = [
        "# Content review: strategies, tools and their evidence",
        "",
        "<!-- Written by `qi-coach knowledge review`; edit the YAML under knowledge/content/, then run it again. "
        "A test fails when this file is out of date. -->",
        "",
        "For a clinical reviewer to sign off before the content is used in a trust. Each row is one strategy the coach "
        "can suggest: the barriers it addresses (**bold** where it is a primary answer), the evidence level it shows "
        "users and the sources it cites. Tick *Signed off* and add initials and a date, or write what must change.",
        "",
        f"{len(content.strategies)} strategies and {len(content.tools)} tools. Evidence levels, strongest first:",
        "",
    ]
    for level in schema.Evidence:
        lines.append(f"- `{level.value}` ({counts.get(level.value, 0)} strategies): {EVIDENCE_MEANING[level]}.")
    lines += ["", "## Strategies", "",
              "| # | Strategy | Barriers | Evidence | Sources | Signed off |",
              "|---|---|---|---|---|---|"]
    ordered = sorted(content.strategies, key=lambda s: (schema.BARRIER_IDS.index(
        next((b.id for b in s.barriers if b.strength == schema.Strength.primary), s.barriers[0].id)), s.id))
    for n, s in enumerate(ordered, 1):
        barriers = ", ".join(f"**{b.id}**" if b.strength == schema.Strength.primary else b.id for b in s.barriers)
        cited = "; ".join(_citation(sources[src]) for src in s.sources if src in sources)
        lines.append(f"| {n} | {_cell(s.title)} (`{s.id}`) | {barriers} | {s.evidence.value} | {cited} | ☐ |")
    lines += ["", "## Tools", "", "| # | Tool | Category | Sources | Signed off |", "|---|---|---|---|---|"]
    for n, t in enumerate(sorted(content.tools, key=lambda t: (t.category.value, t.id)), 1):
        cited = "; ".join(_citation(sources[src]) for src in t.sources if src in sources)
        lines.append(f"| {n} | {_cell(t.name)} (`{t.id}`) | {t.category.value.replace('_', ' ')} | {cited} | ☐ |")
    return "\n".join(lines) + "\n"
