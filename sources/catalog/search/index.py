"""Keeping the search index in step with the catalogue.

Every catalog write that changes what a product is found by (its name, description,
brand, category, tags, specifications, translations; a category renamed) calls
``reindex_products`` on its own connection, inside its own transaction: the product is
findable, or no longer, when the write commits, whoever wrote it (the back office, a bulk
import, the demo seed). Publishing is not indexed: the listing joins ``is_published``, so
an unpublished product drops out on the next request without touching the index.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from .. import models as m
from .engine import Document, engine_for
from .text import document_terms, latin_words, pinyin_words

BATCH = 1000
# What a search page joins: without statistics after a bulk load, PostgreSQL's planner
# guesses, and walks every product (or every attribute value) to join a few hundred matches.
ANALYZED = (
    "ANALYZE products, search_products, search_terms, product_attribute_values, attributes, "
    "categories, brands"
)


def _translated(translations: Any, field: str) -> list[str]:
    if not isinstance(translations, dict):
        return []
    return [
        str(value[field])
        for value in translations.values()
        if isinstance(value, dict) and isinstance(value.get(field), str)
    ]


async def _category_names(conn: AsyncConnection) -> dict[int, list[str]]:
    """Each category's names and its ancestors' (a headset is found by "audio" too)."""
    rows = (
        await conn.execute(select(m.Category.id, m.Category.name, m.Category.path,
                                  m.Category.translations))
    ).all()  # fmt: skip
    own = {row.id: [row.name, *_translated(row.translations, "name")] for row in rows}
    return {
        row.id: [name for part in row.path.split("/") if part for name in own.get(int(part), [])]
        for row in rows
    }


async def documents_for(
    conn: AsyncConnection, product_ids: Sequence[int], categories: dict[int, list[str]]
) -> list[Document]:
    ids = sorted(set(product_ids))
    rows = (
        await conn.execute(
            select(
                m.Product.id, m.Product.name, m.Product.description, m.Product.tags,
                m.Product.translations, m.Product.category_id, m.Brand.name.label("brand"),
                m.Brand.translations.label("brand_translations"),
            )
            .outerjoin(m.Brand, m.Brand.id == m.Product.brand_id)
            .where(m.Product.id.in_(ids))
        )
    ).all()  # fmt: skip
    specs: dict[int, list[str]] = defaultdict(list)
    spec_rows = await conn.execute(
        select(m.ProductAttributeValue.product_id, m.ProductAttributeValue.text_value).where(
            m.ProductAttributeValue.product_id.in_(ids),
            m.ProductAttributeValue.text_value.is_not(None),
        )
    )
    for product_id, value in spec_rows:
        specs[product_id].append(str(value))
    documents = []
    for row in rows:
        titles = [row.name, *_translated(row.translations, "name")]
        labels = [
            row.brand or "",
            *_translated(row.brand_translations, "name"),
            *categories.get(row.category_id or 0, []),
            *(row.tags or ()),
            *specs.get(row.id, []),
        ]
        bodies = [row.description or "", *_translated(row.translations, "description")]
        title = [t for piece in titles for t in document_terms(piece)]
        label = [t for piece in labels for t in document_terms(piece)]
        # Typos are corrected towards the words as written and the pinyin of Chinese ones.
        words: set[str] = set()
        for piece in (*titles, *labels):
            words |= latin_words(piece) | pinyin_words(piece)
        body = [t for piece in bodies for t in document_terms(piece)]
        documents.append(Document(row.id, title, label, body, words))
    return documents


async def reindex_products(conn: AsyncConnection, product_ids: Sequence[int]) -> None:
    """Index these products again, in the caller's transaction."""
    if not product_ids:
        return
    categories = await _category_names(conn)
    engine = engine_for(conn.dialect.name)
    for start in range(0, len(product_ids), BATCH):
        batch = product_ids[start : start + BATCH]
        await engine.write(conn, await documents_for(conn, batch, categories))


async def reindex_category(conn: AsyncConnection, category_id: int) -> None:
    """A renamed category: every product under it is found by the new name."""
    path = await conn.scalar(select(m.Category.path).where(m.Category.id == category_id))
    if path is None:
        return
    under = select(m.Category.id).where(m.Category.path.like(f"{path}%"))
    ids = list(await conn.scalars(select(m.Product.id).where(m.Product.category_id.in_(under))))
    await reindex_products(conn, ids)


async def rebuild(conn: AsyncConnection, progress: Callable[[int, int], None] | None = None) -> int:
    """The whole index from the catalogue (``gateway search reindex``, the demo seed);
    returns how many products it indexed."""
    engine = engine_for(conn.dialect.name)
    await engine.remove_all(conn)
    total = int(await conn.scalar(select(func.count()).select_from(m.Product)) or 0)
    categories = await _category_names(conn)
    # On PostgreSQL in category order: a query's matches, mostly products of a few
    # categories, then sit on a few runs of pages, not one page each (catalog_0015).
    order: tuple[Any, ...] = (m.Product.id,)
    if conn.dialect.name == "postgresql":
        order = (m.Product.category_id.asc().nulls_first(), m.Product.id)
    ids = list(await conn.scalars(select(m.Product.id).order_by(*order)))
    done = 0
    for start in range(0, len(ids), BATCH):
        batch = ids[start : start + BATCH]
        position = {product_id: n for n, product_id in enumerate(batch)}
        documents = await documents_for(conn, batch, categories)
        documents.sort(key=lambda d: position[d.product_id])
        await engine.write(conn, documents)
        done += len(batch)
        if progress is not None:
            progress(done, total)
    if conn.dialect.name == "postgresql":
        # Fresh statistics (see ANALYZED): 40 ms instead of 2 on 20,000 products.
        await conn.execute(text(ANALYZED))
    return done
