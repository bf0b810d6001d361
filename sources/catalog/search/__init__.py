"""Search over the catalogue: one interface, two embedded engines (SQLite FTS5 and
PostgreSQL full-text search with pg_trgm), kept in step by every catalog write
(``index.py``). See docs/search.md for how matching and ranking work, and why."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal
from functools import lru_cache
from typing import Any

from sqlalchemy import select
from sqlalchemy import text as sql
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from .. import models as m
from ..records import Product, ProductFilter, SearchSuggestions
from .covering import covered
from .engine import engine_for
from .facet_table import Behind as TableBehind
from .facet_table import FacetTable, FacetTables, Selection
from .prices import PriceWords, price_words
from .results import (
    counted_facets,
    cursors_for,
    facets,
    offset_after,
    order_for,
    price_band_condition,
)
from .synonyms import NO_SYNONYMS, Synonyms
from .text import ParsedQuery, document_terms, has_words, is_chinese, parse_query

__all__ = [
    "FacetTable",
    "FacetTables",
    "Match",
    "PriceWords",
    "Selection",
    "TableBehind",
    "cheaper_half",
    "counted_facets",
    "covered",
    "cursors_for",
    "facets",
    "has_words",
    "match",
    "matched_ids",
    "materialize",
    "offset_after",
    "order_for",
    "price_band_condition",
    "price_words",
    "suggest",
    "with_price_bounds",
]


# Suggestions while typing rank the newest this many matches, not all of them: a one- or
# two-letter prefix matches half of a large catalogue, and ranking it all costs hundreds of
# milliseconds for eight suggestions. Pressing Enter (``search``) ranks every match.
SUGGESTION_CANDIDATES = 300


@dataclass(frozen=True, slots=True)
class Match:
    """The matching products as (product_id, score) selectables: ``ranked`` for a page,
    ``unranked`` (score 0, cheaper) for counts, facets and filters."""

    ranked: Any
    unranked: Any


async def match(
    conn: AsyncConnection,
    query: str,
    *,
    prefix_last: bool = False,
    synonyms: Synonyms = NO_SYNONYMS,
) -> tuple[Match | None, ParsedQuery]:
    """The matching products, typos corrected and synonyms added; None when the query
    holds nothing to search for (blank, only punctuation or emoji)."""
    parsed = parse_query(query, prefix_last=prefix_last)
    if parsed.is_empty:
        return None, parsed
    engine = engine_for(conn.dialect.name)
    typos = parsed.typo_candidates()
    if prefix_last and typos and parsed.clauses[-1].is_prefix:
        typos = typos[:-1] if typos[-1] == parsed.clauses[-1].typed else typos
    if typos:
        parsed = parsed.corrected(await engine.corrections(conn, typos))
    parsed = synonyms.expand(parsed)
    newest = SUGGESTION_CANDIDATES if prefix_last else None
    ranked = engine.matches(parsed, newest=newest)
    return Match(ranked, engine.matches(parsed, scored=False)), parsed


async def materialize(conn: AsyncConnection, parsed: ParsedQuery, *, scored: bool) -> Any:
    """The matches of a parsed query worked out once, for a result page's statements."""
    return await engine_for(conn.dialect.name).materialize(conn, parsed, scored=scored)


async def matched_ids(conn: AsyncConnection, parsed: ParsedQuery, *, ranked: bool) -> list[int]:
    """Every match's id read into this process (in relevance order when ``ranked``), for a
    page counted there."""
    return await engine_for(conn.dialect.name).matched_ids(conn, parsed, ranked=ranked)


@lru_cache(maxsize=4096)
def _name_terms(names: tuple[str, ...]) -> frozenset[str]:
    """A category's index terms, kept per process: segmenting every category's names on
    each keystroke cost more than the suggestion's queries (names change rarely; a renamed
    category is a new key)."""
    return frozenset(t for name in names for t in document_terms(name))


def with_price_bounds(flt: ProductFilter, price: PriceWords) -> ProductFilter:
    """The filter narrowed to the query's price bound (the tighter, when the filter has
    one too)."""
    low, high = flt.min_price, flt.max_price
    if price.low is not None:
        low = price.low if low is None else max(low, price.low)
    if price.high is not None:
        high = price.high if high is None else min(high, price.high)
    return replace(flt, min_price=low, max_price=high)


async def cheaper_half(
    conn: AsyncConnection, joined: Any, where: list[Any], flt: ProductFilter
) -> ProductFilter:
    """ "Cheap": the matches at or under their median lowest price (relative to what was
    searched for: a cheap sofa costs more than cheap headphones)."""
    found = await conn.scalars(
        covered(
            select(m.Product.price_min)
            .select_from(joined)
            .where(*where, m.Product.price_min.is_not(None))
        )
    )
    prices = sorted(Decimal(str(p)) for p in found if p is not None)
    if not prices:
        return flt
    return with_price_bounds(flt, PriceWords("", high=prices[(len(prices) - 1) // 2]))


def _category_matches(parsed: ParsedQuery, terms: frozenset[str]) -> bool:
    for clause in parsed.clauses:
        if any(group and set(group) <= terms for group in clause.synonyms):
            continue
        options = (*clause.terms, *clause.corrections)
        if clause.is_prefix:
            if not any(t.startswith(o) for o in options for t in terms):
                return False
        elif not any(o in terms for o in options):
            return False
    return True


async def suggest(
    conn: AsyncConnection,
    query: str,
    *,
    limit: int,
    product_select: Callable[[], Any],
    to_product: Callable[[Row[Any]], Product],
    synonyms: Synonyms = NO_SYNONYMS,
) -> SearchSuggestions:
    found, parsed = await match(conn, query, prefix_last=True, synonyms=synonyms)
    if found is None:
        return SearchSuggestions([], [], [])
    matched = found.ranked
    # Limit first: the best few ids from the covering index, then only their rows, in one
    # statement (a limited subquery is worked out before the join): one round trip fewer
    # a keystroke than reading the ids and then their rows.
    best = covered(
        select(m.Product.id, matched.c.score)
        .join(matched, matched.c.product_id == m.Product.id)
        .where(m.Product.is_published.is_(True))
        .order_by(matched.c.score.desc(), m.Product.id)
        .limit(limit)
    ).subquery("best")
    rows = await conn.execute(
        product_select()
        .join(best, best.c.id == m.Product.id)
        .order_by(best.c.score.desc(), m.Product.id)
    )
    products = [to_product(row) for row in rows]
    categories: list[int] = []
    names: list[str] = []
    for row in await conn.execute(
        select(m.Category.id, m.Category.name, m.Category.translations).order_by(m.Category.id)
    ):
        translated = [t["name"] for t in (row.translations or {}).values() if "name" in t]
        terms = _name_terms((row.name, *translated))
        if _category_matches(parsed, terms):
            categories.append(row.id)
            names.extend(translated if is_chinese(parsed.clauses[0].typed) else [row.name])
    queries: list[str] = []
    last = parsed.clauses[-1]
    if last.is_prefix:
        head = " ".join(c.corrections[0] if c.corrections else c.typed for c in parsed.clauses[:-1])
        completions = await conn.scalars(
            sql(
                "SELECT term FROM search_terms WHERE term >= :low AND term < :high "
                "ORDER BY length(term), term LIMIT :limit"
            ),
            {"low": last.typed, "high": last.typed + "\uffff", "limit": limit},
        )
        queries = [f"{head} {word}".strip() for word in completions]
    queries = list(dict.fromkeys([*queries, *(n.lower() for n in names)]))[:limit]
    return SearchSuggestions(products, categories[:limit], queries)
