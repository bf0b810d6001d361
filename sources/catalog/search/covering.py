"""Reading a search's matches from ``ix_products_search`` alone (migration catalog_0012).

A result page filters, ranks, counts and facets every match, a few thousand products at
100,000. Looked up by id, each match's whole row is read (its description and translations,
often on overflow pages) to reach ``is_published`` or ``price_min``. PostgreSQL's planner
chooses an index-only scan by itself; SQLite's always looks a row up by its rowid, so on
SQLite the statement names the index (``INDEXED BY``). ``covered`` rewrites a statement to
read ``products`` through an alias of the same name that does so.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.selectable import Alias
from sqlalchemy.sql.util import ClauseAdapter
from sqlalchemy.sql.visitors import ExternallyTraversible

from .. import models as m

INDEX = "ix_products_search"
T = TypeVar("T", bound=ExternallyTraversible)


class _CoveringAlias(Alias):
    inherit_cache = True


@compiles(_CoveringAlias, "sqlite")
def _indexed_by(element: _CoveringAlias, compiler: Any, **kw: Any) -> str:
    rendered: str = compiler.visit_alias(element, **kw)
    return f"{rendered} INDEXED BY {INDEX}" if kw.get("asfrom") else rendered


@compiles(_CoveringAlias)
def _plain(element: _CoveringAlias, compiler: Any, **kw: Any) -> str:
    rendered: str = compiler.visit_alias(element, **kw)
    return rendered


def covered(statement: T) -> T:
    """The statement with ``products`` read through the covering index. Only for
    statements whose product columns are all in it (models.SEARCH_COLUMNS): SQLite refuses
    nothing, but would read each row after the index for any other."""
    alias = _CoveringAlias._construct(m.Product.__table__, name="products")
    adapted: T = ClauseAdapter(alias).traverse(statement)
    return adapted
