"""The index follows every catalog write, in the write's own transaction: a product
created or renamed is found by its new words on the next request (and no longer by the
old ones), a renamed category finds its products by the new name, an unpublished product
is gone, and ``rebuild`` gives the same answers as the writes did."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from sources.catalog.records import CategoryFields, ProductFields
from sources.catalog.search.index import rebuild
from sources.catalog.store import CatalogStore
from sources.common.db import Database

NOW = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
pytestmark = pytest.mark.parametrize("fresh_url", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture
async def store(fresh_url: str) -> AsyncIterator[CatalogStore]:
    db = Database(fresh_url)
    yield CatalogStore(db)
    await db.dispose()


async def found(store: CatalogStore, query: str) -> set[int]:
    page = await store.search_products(query, first=50, with_facets=False)
    return {p.id for p in page.products}


async def test_writes_keep_the_index_in_step(store: CatalogStore) -> None:
    category = await store.create_category(
        CategoryFields(slug="audio", name="Audio"), actor="staff", now=NOW
    )
    created = await store.create_product(
        ProductFields(
            name="Kestrel Gaming Headset",
            slug="kestrel-gaming-headset",
            description="Closed-back, with a boom microphone.",
            category_id=category.id,
            brand="Kestrel",
            is_published=True,
            translations={"zh-CN": {"name": "红隼 游戏耳机"}},
        ),
        currency="CNY",
        actor="staff",
        now=NOW,
    )
    assert created.id is not None
    product_id = created.id
    for query in ("headset", "headst", "耳机", "erji", "ej", "kestrel", "audio", "microphone"):
        assert await found(store, query) == {product_id}, query

    await store.update_product(
        product_id,
        ProductFields(name="Kestrel Studio Monitor", translations={"zh-CN": {"name": "监听音箱"}}),
        actor="staff",
        now=NOW,
    )
    assert await found(store, "monitor") == {product_id}
    assert await found(store, "jianting") == {product_id}
    assert await found(store, "headset") == set()
    assert await found(store, "耳机") == set()

    await store.update_category(category.id, CategoryFields(name="Hi-Fi"), actor="staff", now=NOW)
    assert await found(store, "hifi") == set()  # words, not letters run together
    assert await found(store, "hi fi") == {product_id}
    assert await found(store, "audio") == set()

    await store.set_published(product_id=product_id, published=False, actor="staff", now=NOW)
    assert await found(store, "monitor") == set()
    await store.set_published(product_id=product_id, published=True, actor="staff", now=NOW)

    async with store.db.begin() as conn:
        assert await rebuild(conn) == 1
    assert await found(store, "monitor") == {product_id}
    assert await found(store, "jt") == {product_id}


async def test_rebuild_lays_postgresql_documents_out_by_category(store: CatalogStore) -> None:
    """Products of one category created apart end up on adjacent rows (catalog_0015)."""
    categories = [
        await store.create_category(CategoryFields(slug=s, name=s), actor="staff", now=NOW)
        for s in ("audio", "kitchen")
    ]
    made = {}
    for n in range(6):
        category = categories[n % 2]
        created = await store.create_product(
            ProductFields(name=f"Kestrel {n}", slug=f"kestrel-{n}", category_id=category.id,
                          is_published=True),
            currency="CNY", actor="staff", now=NOW,
        )  # fmt: skip
        assert created.id is not None
        made[created.id] = category.id
    async with store.db.begin() as conn:
        assert await rebuild(conn) == 6
        if conn.dialect.name != "postgresql":
            return  # FTS5 keeps its doclists by rowid
        laid = list(
            await conn.scalars(text("SELECT product_id FROM search_products ORDER BY ctid"))
        )
    assert [made[i] for i in laid] == sorted(made.values())
    assert await found(store, "kestrel") == set(made)
