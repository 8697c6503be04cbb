"""The curated knowledge store: barriers, strategies, QI tools and their sources.

Content lives as YAML under ``knowledge/content/``; ``knowledge.load`` validates it and loads
it into SQL; ``KnowledgeStore`` is the query API the actions call.
"""

from knowledge.repository import KnowledgeStore, Lookup, Recommendation, StoreError
from knowledge.validate import ContentError

__all__ = ["ContentError", "KnowledgeStore", "Lookup", "Recommendation", "StoreError"]
