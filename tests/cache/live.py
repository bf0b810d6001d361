"""Live gateways for the cache tests: a small demo shop of their own (they write to it) and
gateways over it with a chosen cache, on real ports."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from gateway.auth import ViewerKind, issue_token
from gateway.cache.settings import CacheSettings
from tests.conftest import LiveGateway, _migrate_and_seed, serve, settings_for, sqlite_urls

from .redis_support import unique_prefix

LISTING = """
query CachedListing {
  products(first: 20) {
    totalCount
    edges {
      node {
        id slug name inStock
        category { id slug parent { slug } }
        skus { id code price { list { amount } sale { amount } } stock { available } }
        promotions { id name }
        priceRange { min { amount } max { amount } }
      }
    }
  }
}
"""

PRODUCT = """
query CachedProduct($slug: String!) {
  product(slug: $slug) {
    id slug
    skus { id code price { list { amount } sale { amount } } stock { available } }
    priceRange { min { amount } max { amount } }
  }
}
"""

PRICE_SET = """
mutation SetPrice($sku: ID!, $list: Decimal!, $sale: Decimal!) {
  priceSet(skuId: $sku, list: $list, sale: $sale) {
    sku { id price { sale { amount } } }
    userErrors { code message }
  }
}
"""

CATALOG_AND_PRICING = ("catalog.", "pricing.")


def seed_small_shop(directory: Path, products: int = 60) -> dict[str, str]:
    urls = sqlite_urls(directory)
    asyncio.run(_migrate_and_seed(urls, products=products))
    return urls


def cache_settings(**overrides: Any) -> CacheSettings:
    values: dict[str, Any] = {"key_prefix": unique_prefix(), "response_cache": False}
    values.update(overrides)
    return CacheSettings(**values)


@contextmanager
def live_gateway(
    urls: dict[str, str], cache: CacheSettings, **overrides: Any
) -> Iterator[LiveGateway]:
    yield from serve(settings_for(urls, cache=cache, sweep_interval_seconds=0, **overrides))


def browsing_calls(calls: dict[str, int]) -> dict[str, int]:
    return {k: v for k, v in calls.items() if k.startswith(CATALOG_AND_PRICING)}


def staff_token(gateway: LiveGateway, *permissions: str) -> str:
    return issue_token(
        gateway.settings,
        kind=ViewerKind.STAFF,
        subject="cache-tests",
        permissions=list(permissions),
    )


def first_product(gateway: LiveGateway) -> dict[str, Any]:
    result = gateway.query(LISTING)
    assert "errors" not in result, result["errors"]
    return result["data"]["products"]["edges"][0]["node"]  # type: ignore[no-any-return]


def sale_of(gateway: LiveGateway, slug: str, sku_id: str) -> str:
    result = gateway.query(PRODUCT, {"slug": slug})
    assert "errors" not in result, result["errors"]
    skus = {s["id"]: s for s in result["data"]["product"]["skus"]}
    return str(skus[sku_id]["price"]["sale"]["amount"])
