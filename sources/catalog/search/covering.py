"""Reading a search's matches from ``ix_products_search`` alone (migration catalog_0012).

A result page filters, ranks, counts and facets every match, a few thousand products at
100,000. Looked up by id, each match's whole row is read (its description and translations,
often on overflow pages) to reach ``is_published`` or ``price_min``. PostgreSQL's planner
chooses an index-only scan by itself; SQLite's always looks a row up by its rowid, so on
SQLite the statement names the index (``INDEXED BY``, rendered by the engine's compiler in
sources/common/db.py).
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Select

from .. import models as m

INDEX = "ix_products_search"
S = TypeVar("S", bound=Select[*tuple[Any, ...]])


def covered(statement: S) -> S:
    """The statement reading ``products`` through the covering index. Only for statements
    whose product columns are all in it (models.SEARCH_COLUMNS): SQLite would otherwise
    read each row after the index."""
    return statement.with_hint(m.Product.__table__, f"INDEXED BY {INDEX}", "sqlite")
