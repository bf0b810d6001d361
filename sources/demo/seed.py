"""Seed the demo shop into the four sources' databases.

Deterministic: one fixed seed drives every choice, so the same ``products`` and ``now``
give the same rows, ids included. Only ``now`` moves with the clock (by default the moment
of seeding), because presale and promotion windows must be open, upcoming or over relative
to when the shop is used.

Every row is generated in Python first, then written with bulk Core inserts in chunks: a
shop of 100,000 products is a few round trips per thousand rows, not one per row.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import MetaData, Table, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from sources.catalog import models as catalog
from sources.catalog.search.index import rebuild as rebuild_search_index
from sources.common.db import Database
from sources.inventory import models as inventory
from sources.orders import models as orders
from sources.pricing import models as pricing

from . import product_rows as rows
from . import specifications as details
from .drafts import MIN_PRODUCTS, CatalogueMix
from .media import media_rows
from .orders_rows import customer_rows, region_rows, staff_rows
from .products import draft_catalogue
from .promotions import DEMO_COUPON_CODES, promotion_rows
from .shop_data import DEMO_CUSTOMER_COUNT, DEMO_STAFF, DemoStaffMember

__all__ = [
    "DEMO_COUPON_CODES",
    "DEMO_STAFF",
    "MIN_PRODUCTS",
    "DemoShop",
    "DemoStaffMember",
    "SeedSummary",
    "build_demo_shop",
    "is_seeded",
    "seed_demo_shop",
]

SEED = 20240611
CHUNK_ROWS = 5_000
# Catalog last: ``is_seeded`` looks there, so a seeding that fails part-way reads as not
# seeded rather than as a complete shop.
SOURCE_ORDER = ("orders", "pricing", "inventory", "catalog")

TableRows = list[tuple[Table, list[dict[str, Any]]]]


@dataclass(frozen=True, slots=True)
class SeedSummary:
    products: int
    skus: int
    categories: int
    customers: int
    staff: int
    promotions: int
    warehouses: int

    def __str__(self) -> str:
        return (
            f"{self.products} products, {self.skus} SKUs, {self.categories} categories, "
            f"{self.customers} customers, {self.staff} staff, {self.promotions} promotions, "
            f"{self.warehouses} warehouses"
        )


@dataclass(frozen=True, slots=True)
class DemoShop:
    """Every row of the demo shop by source, tables in an order foreign keys accept."""

    tables: dict[str, TableRows]
    summary: SeedSummary


def build_demo_shop(
    *, products: int, now: datetime, customers: int = DEMO_CUSTOMER_COUNT
) -> DemoShop:
    """The whole shop as rows, without touching a database."""
    if products < MIN_PRODUCTS:
        raise ValueError(f"the demo shop needs at least {MIN_PRODUCTS} products, got {products}")
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    now = now.astimezone(UTC).replace(microsecond=0)
    # One generator per part, so a change in one part leaves the others' rows alone.
    catalogue = draft_catalogue(_rng("catalogue"), CatalogueMix.for_size(products), now)
    categories = rows.category_rows()
    category_ids = {row["slug"]: row["id"] for row in categories}
    promotions, targets = promotion_rows(_rng("promotions"), now, catalogue, category_ids)
    customer_table, addresses = customer_rows(_rng("customers"), now, customers)
    skus = rows.sku_rows(catalogue)
    media, sku_images = media_rows(catalogue)
    for sku in skus:
        sku["image_id"] = sku_images.get(sku["id"])
    paths = rows.category_paths()
    detail_rng = _rng("details")
    product_details = {
        p.id: details.shipping_and_tags(detail_rng, p, paths[p.category][0]) for p in catalogue
    }
    staff = staff_rows()
    warehouses = rows.warehouse_rows()
    tables: dict[str, TableRows] = {
        "catalog": [
            (_table(catalog.Category), categories),
            (_table(catalog.Brand), rows.brand_rows()),
            (_table(catalog.Supplier), rows.supplier_rows()),
            (_table(catalog.Product), rows.product_rows(catalogue, category_ids, product_details)),
            (_table(catalog.ProductMedia), media),
            (_table(catalog.Sku), skus),
            (_table(catalog.Attribute), details.attribute_rows(category_ids)),
            (
                _table(catalog.ProductAttributeValue),
                details.attribute_value_rows(_rng("specifications"), catalogue, paths),
            ),
            (_table(catalog.BundleItem), rows.bundle_item_rows(catalogue)),
            (_table(catalog.ServiceArea), rows.service_area_rows(catalogue)),
        ],
        "inventory": [
            (_table(inventory.Warehouse), warehouses),
            (_table(inventory.StockItem), rows.stock_rows(catalogue)),
            (_table(inventory.SupplierStock), rows.supplier_stock_rows(catalogue)),
        ],
        "pricing": [
            (_table(pricing.Price), rows.price_rows(catalogue)),
            (_table(pricing.Promotion), promotions),
            (_table(pricing.PromotionTarget), targets),
        ],
        "orders": [
            (_table(orders.Region), region_rows()),
            (_table(orders.Customer), customer_table),
            (_table(orders.Address), addresses),
            (_table(orders.StaffMember), staff),
        ],
    }
    summary = SeedSummary(
        products=len(catalogue),
        skus=len(skus),
        categories=len(categories),
        customers=len(customer_table),
        staff=len(staff),
        promotions=len(promotions),
        warehouses=len(warehouses),
    )
    return DemoShop(tables, summary)


async def seed_demo_shop(
    dbs: Mapping[str, Database],
    *,
    products: int = 240,
    now: datetime | None = None,
    customers: int = DEMO_CUSTOMER_COUNT,
) -> SeedSummary:
    """Write the demo shop into empty tables of existing schemas (``dbs`` maps catalog,
    inventory, pricing and orders to their databases). One transaction per source."""
    missing = [name for name in SOURCE_ORDER if name not in dbs]
    if missing:
        raise KeyError(f"no database for source(s): {', '.join(missing)}")
    shop = build_demo_shop(products=products, now=now or datetime.now(UTC), customers=customers)
    for name in SOURCE_ORDER:
        async with dbs[name].begin() as conn:
            for table, table_rows in shop.tables[name]:
                await _insert_rows(conn, table, table_rows)
            await _continue_id_sequences(conn, [table for table, _ in shop.tables[name]])
            if name == "catalog":
                await rebuild_search_index(conn)
    return shop.summary


async def _insert_rows(
    conn: AsyncConnection, table: Table, table_rows: list[dict[str, Any]]
) -> None:
    """On PostgreSQL the rows go into a temporary copy of the table first, then across in
    one ``INSERT ... SELECT``: the catalog's statement triggers (counts.py, changes.py) fire
    once, not once per row as an executemany's statements would make them, each updating
    the same counter rows again in one transaction (quadratic: a 100,000-product shop did
    not finish in 40 minutes)."""
    if conn.dialect.name != "postgresql" or not table_rows:
        target = table
    else:
        staging = f"seed_{table.name}"
        await conn.execute(
            text(f"CREATE TEMPORARY TABLE {staging} (LIKE {table.name} INCLUDING DEFAULTS)")
        )
        target = table.to_metadata(MetaData(), name=staging)  # with its Python-side defaults
    for start in range(0, len(table_rows), CHUNK_ROWS):
        await conn.execute(insert(target), table_rows[start : start + CHUNK_ROWS])
    if target is not table:
        columns = ", ".join(f'"{c.name}"' for c in table.columns)
        await conn.execute(
            text(f"INSERT INTO {table.name} ({columns}) SELECT {columns} FROM {target.name}")
        )
        await conn.execute(text(f"DROP TABLE {target.name}"))


async def is_seeded(dbs: Mapping[str, Database]) -> bool:
    """Whether the catalog holds any product (the demo shop or real data)."""
    async with dbs["catalog"].connect() as conn:
        first = await conn.scalar(select(catalog.Product.id).limit(1))
    return first is not None


async def _continue_id_sequences(conn: AsyncConnection, tables: list[Table]) -> None:
    """Rows carry explicit ids, so the shop is reproducible; PostgreSQL's sequences do not
    see them. Move each past the highest id, or the next row inserted without an id (a new
    customer, a new promotion) would collide with a demo row. SQLite needs nothing."""
    if conn.dialect.name != "postgresql":
        return
    for table in tables:
        column = table.autoincrement_column
        if column is None:
            continue
        await conn.execute(
            text(
                "SELECT setval(pg_get_serial_sequence(:table, :column), "
                f'COALESCE((SELECT MAX("{column.name}") FROM "{table.name}"), 0) + 1, false)'
            ),
            {"table": table.name, "column": column.name},
        )


def _rng(part: str) -> random.Random:
    return random.Random(f"{SEED}:{part}")


def _table(model: type[Any]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table
