"""The coaching logic's tests that need content use the knowledge store's fixtures."""

from tests.knowledge.conftest import postgres_admin, store  # noqa: F401  (pytest finds fixtures by name)
