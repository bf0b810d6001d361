"""catalog.cart_catalog's SKUs, products and categories in one statement (UNION ALL with a
part column): the records are those the single-purpose reads make, on both backends,
bundle parts' categories included (read after, only when the first statement lacks them)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert

from sources.catalog import models as m
from sources.catalog.records import CartCatalog, ProductKind
from sources.catalog.store import CatalogStore
from sources.common import lean
from sources.common.db import Database
from tests.conftest import require_postgres
from tests.pg import create_temp_database, drop_database
from tests.sources.test_catalog_store import build_catalog


async def _with_a_bundle_sku(url: str) -> None:
    await build_catalog(url)
    db = Database(url)
    try:
        async with db.begin() as conn:  # a SKU of the bundle 209 (parts: 2011 and 1001)
            await conn.execute(
                insert(m.Sku),
                [
                    {
                        "id": 2091,
                        "product_id": 209,
                        "code": "SOFA-209",
                        "name": "Sofa set",
                        "position": 0,
                        "is_active": True,
                        "purchase_limit": None,
                    }
                ],
            )
    finally:
        await db.dispose()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if request.param == "sqlite":
        directory: Path = tmp_path_factory.mktemp("cart_catalog")
        found = f"sqlite+aiosqlite:///{directory}/catalog.db"
        asyncio.run(_with_a_bundle_sku(found))
        yield found
        return
    require_postgres()
    found = asyncio.run(create_temp_database())
    try:
        asyncio.run(_with_a_bundle_sku(found))
        yield found
    finally:
        asyncio.run(drop_database(found))


@pytest.fixture
async def store(url: str) -> AsyncIterator[CatalogStore]:
    db = Database(url)
    yield CatalogStore(db)
    await db.dispose()


async def single_purpose(store: CatalogStore, sku_ids: list[int]) -> CartCatalog:
    skus = await store.skus_by_ids(sku_ids)
    products = await store.products_by_ids(sorted({s.product_id for s in skus.values()}))
    bundle_ids = [p.id for p in products.values() if p.kind is ProductKind.BUNDLE]
    bundles = await store.bundle_items_by_product_ids(bundle_ids) if bundle_ids else {}
    every = {i.product.id: i.product for items in bundles.values() for i in items}
    every.update(products)
    services = [p.id for p in every.values() if p.kind is ProductKind.SERVICE]
    areas = await store.service_areas_by_product_ids(services) if services else {}
    wanted = sorted({p.category_id for p in every.values() if p.category_id})
    categories = await store.categories_by_ids(wanted) if wanted else {}
    return CartCatalog(skus, products, bundles, areas, categories)


@pytest.mark.parametrize(
    "sku_ids",
    [[2011, 1001], [2011, 2071, 999], [2091], [2091, 2071, 1002], [999], [2081]],
    ids=["plain", "service+unknown", "bundle", "bundle+service", "unknown", "inactive"],
)
async def test_the_one_statement_makes_the_single_purpose_reads_records(
    store: CatalogStore, sku_ids: list[int]
) -> None:
    assert await store.cart_catalog(sku_ids) == await single_purpose(store, sku_ids)


async def test_a_cart_without_bundles_or_services_is_one_statement(
    store: CatalogStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[Any] = []
    execute = lean.execute

    async def counting(conn: Any, statement: Any, params: dict[str, Any]) -> Any:
        calls.append(statement)
        return await execute(conn, statement, params)

    monkeypatch.setattr(lean, "execute", counting)
    found = await store.cart_catalog([2011, 1001])
    assert len(calls) == 1
    assert set(found.categories) == {1, 2, 4}, "the products' categories and ancestors"
    calls.clear()
    bundle = await store.cart_catalog([2091])
    # The bundle's own category came with the first statement; its parts' after.
    assert set(bundle.categories) == {1, 2, 4, 12}
