"""Small helpers the gateway tests share: walking a listing page by page the way a
storefront does, reading the seeded shop straight from its catalog database, and telling
which backend a live gateway runs on."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from sources.catalog import models as catalog
from sources.common.db import Database
from tests.conftest import LiveGateway, serve, settings_for

PAGE_QUERY = """
query Page($first: Int, $after: String, $sort: ProductSort, $filter: ProductFilter) {
  products(first: $first, after: $after, sort: $sort, filter: $filter) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges {
      cursor
      node {
        id slug name description kind inStock
        category { slug }
        skus { active }
        priceRange { min { amount } max { amount } }
      }
    }
  }
}
"""


# Only what an order check needs: walking every page of every sort stays cheap.
WALK_QUERY = """
query Walk($first: Int, $after: String, $sort: ProductSort, $filter: ProductFilter) {
  products(first: $first, after: $after, sort: $sort, filter: $filter) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { node { id slug name skus { active } priceRange { min { amount } } } }
  }
}
"""


def serve_uncached(urls: dict[str, str]) -> Iterator[LiveGateway]:
    """A gateway with no shared cache: every request costs its source calls, so call
    counts pinned on it do not depend on which test warmed a cache first."""
    yield from serve(settings_for(urls, cache={"enabled": False}))


def is_postgres(gateway: LiveGateway) -> bool:
    return gateway.settings.catalog_database_url.startswith("postgresql")


def global_id(type_name: str, pk: int | str) -> str:
    """A Relay id the way the gateway spells it (for ids of rows found in the database)."""
    return base64.urlsafe_b64encode(f"{type_name}:{pk}".encode()).decode()


def amount(money: dict[str, Any]) -> Decimal:
    return Decimal(money["amount"])


def error_codes(result: dict[str, Any]) -> list[str | None]:
    return [(e.get("extensions") or {}).get("code") for e in result.get("errors") or []]


def walk(
    gateway: LiveGateway,
    *,
    first: int,
    sort: str | None = None,
    filter: dict[str, Any] | None = None,
    query: str = WALK_QUERY,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every page of a listing, following endCursor: (the product nodes, each page's
    connection without its edges)."""
    nodes: list[dict[str, Any]] = []
    pages: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        result = gateway.query(
            query, {"first": first, "after": after, "sort": sort, "filter": filter}
        )
        assert "errors" not in result, result["errors"]
        connection = result["data"]["products"]
        nodes.extend(edge["node"] for edge in connection["edges"])
        pages.append({k: v for k, v in connection.items() if k != "edges"})
        assert len(pages) <= 1000, "the listing never ends"
        if not connection["pageInfo"]["hasNextPage"]:
            return nodes, pages
        after = connection["pageInfo"]["endCursor"]


def catalog_rows(database_url: str, statement: Any) -> list[Any]:
    """Rows of a query on the catalog's own database, so a test learns what the shop holds
    without asking the gateway it is checking."""

    async def read() -> list[Any]:
        db = Database(database_url)
        try:
            async with db.connect() as conn:
                return list((await conn.execute(statement)).all())
        finally:
            await db.dispose()

    return asyncio.run(read())


def unpublished_products(database_url: str) -> list[Any]:
    """(id, slug, category_id, sku_ids) of every unpublished product."""
    products = catalog_rows(
        database_url,
        select(catalog.Product.id, catalog.Product.slug, catalog.Product.category_id)
        .where(catalog.Product.is_published.is_(False))
        .order_by(catalog.Product.id),
    )
    skus = catalog_rows(
        database_url,
        select(catalog.Sku.product_id, catalog.Sku.id).where(
            catalog.Sku.product_id.in_([p.id for p in products])
        ),
    )
    return [
        (p.id, p.slug, p.category_id, [sku_id for pid, sku_id in skus if pid == p.id])
        for p in products
    ]


def created_at_by_slug(database_url: str) -> dict[str, datetime]:
    """When each product was created: the NEWEST sort's key, which the schema does not show."""
    rows = catalog_rows(database_url, select(catalog.Product.slug, catalog.Product.created_at))
    return {slug: created_at for slug, created_at in rows}


def catalog_slugs(database_url: str, *conditions: Any) -> list[str]:
    """Slugs of the products matching ``conditions`` (expressions over the catalog's
    products table), by id."""
    rows = catalog_rows(
        database_url,
        select(catalog.Product.slug).where(*conditions).order_by(catalog.Product.id),
    )
    return [slug for (slug,) in rows]
