"""The web chat's sources page: every document the coach's strategies cite, one anchor each.

Strategy cards link their evidence here (``sources#seed_002``), so a reader can see the full
reference behind "Pannick et al. 2016" in one click. Built from the knowledge store on each
request (it is small), every value HTML-escaped. Each entry ends with a link a reader can follow
(a DOI or the publisher's page) where one exists; the seed documents' file names stay in the
store for maintainers and are not shown.
"""

from __future__ import annotations

from html import escape

from knowledge import KnowledgeStore


def sources_html(store: KnowledgeStore | None = None) -> str:
    items = []
    for source in (store or KnowledgeStore()).sources():
        details = f'<span class="details">{escape(source.details)}</span>' if source.details else ""
        link = (f'<a class="follow" href="{escape(source.url)}" rel="noopener noreferrer">{escape(source.url)}</a>'
                if source.url else "")
        items.append(f'<li id="{escape(source.id)}"><strong>{escape(source.short)}</strong>'
                     f"<span>{escape(source.citation)}</span>{details}{link}</li>")
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>qi-coach: sources of the evidence</title>"
        '<link rel="stylesheet" href="static/chat.css"></head>'
        '<body class="sources"><main><h1>Where the advice comes from</h1>'
        "<p>Every strategy qi-coach suggests names its evidence. These are the documents behind it. "
        '<a href="./">Back to the chat</a></p>'
        f'<ol class="source-list">{"".join(items)}</ol></main></body></html>'
    )
