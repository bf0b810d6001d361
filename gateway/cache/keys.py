"""Cache keys: ``<prefix>:v<schema-version>:<type>:<id>``, and the TTL of each type.

The version segment means a deploy that changes a record's shape reads fresh keys instead
of misreading old ones; the old ones expire on their own.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from .settings import CacheSettings


class Kind(StrEnum):
    """What a cached value is. Entity kinds are named like the GraphQL types that show them,
    so ``/admin/invalidate`` accepts ``{"types": ["Product"]}``."""

    PRODUCT = "Product"
    PRODUCT_SLUG = "ProductSlug"  # slug -> product id
    SKU = "Sku"
    PRODUCT_SKUS = "ProductSkus"  # product id -> its SKUs
    CATEGORY = "Category"
    CATEGORY_TREE = "CategoryTree"
    BUNDLE_ITEMS = "BundleItems"
    SPECIFICATIONS = "Specifications"  # product id -> its attribute values
    PRODUCT_MEDIA = "ProductMedia"  # product id -> its images
    CATEGORY_ATTRIBUTES = "CategoryAttributes"  # category id -> the attributes it carries
    PRICE = "Price"  # id: "<currency>:<sku id>"
    PROMOTIONS = "Promotions"  # id: "<product id>:<category path>"
    STOCK = "Stock"
    PRODUCT_LISTING = "ProductListing"  # id: a hash of the listing's arguments
    CATEGORY_PAGE = "CategoryPage"  # id: "<category id>:<first>:<after>"
    DOCUMENT = "Document"  # persisted query text by sha256
    RESPONSE = "Response"  # whole serialized response
    TAG = "Tag"  # the responses that showed an entity key
    LAST_KNOWN = "LastKnown"  # id: "<kind>:<id>", a value kept to stand in during an outage


# Derived values that mix many products: any product, price or stock write purges them.
LISTING_KINDS = (Kind.PRODUCT_LISTING, Kind.CATEGORY_PAGE, Kind.BUNDLE_ITEMS)
# What `{"types": ["Product"]}` also drops: values that embed products.
DEPENDENT_KINDS: dict[Kind, tuple[Kind, ...]] = {
    Kind.PRODUCT: (
        Kind.PRODUCT_SLUG,
        Kind.PRODUCT_SKUS,
        Kind.SPECIFICATIONS,
        Kind.PRODUCT_MEDIA,
        *LISTING_KINDS,
    ),
    Kind.SKU: (Kind.PRODUCT_SKUS, Kind.BUNDLE_ITEMS),
    Kind.PRICE: LISTING_KINDS,
    Kind.STOCK: LISTING_KINDS,
    Kind.CATEGORY: (
        Kind.CATEGORY_TREE,
        Kind.CATEGORY_PAGE,
        Kind.PROMOTIONS,
        Kind.CATEGORY_ATTRIBUTES,
        Kind.SPECIFICATIONS,
    ),
}


class KeySpace:
    def __init__(self, settings: CacheSettings) -> None:
        self.settings = settings
        self.base = f"{settings.key_prefix}:v{settings.schema_version}:"

    def key(self, kind: Kind, ident: object) -> str:
        return f"{self.base}{kind.value}:{ident}"

    def keys(self, kind: Kind, idents: Iterable[object]) -> list[str]:
        prefix = f"{self.base}{kind.value}:"
        return [f"{prefix}{i}" for i in idents]

    def last_known(self, key: str) -> str:
        """Where the last-known copy of ``key`` lives: its own kind, so a purge of prices
        (or of the promotions a category change drops) leaves the copies for outages."""
        return f"{self.base}{Kind.LAST_KNOWN.value}:{key[len(self.base) :]}"

    def kind_prefix(self, kind: Kind) -> str:
        return f"{self.base}{kind.value}:"

    def kind_of(self, key: str) -> Kind | None:
        if not key.startswith(self.base):
            return None
        name = key[len(self.base) :].split(":", 1)[0]
        try:
            return Kind(name)
        except ValueError:
            return None

    def ttl(self, kind: Kind) -> float:
        s = self.settings
        return {
            Kind.PRICE: s.price_ttl,
            Kind.PROMOTIONS: s.promotion_ttl,
            Kind.STOCK: s.stock_ttl,
            Kind.PRODUCT_LISTING: s.listing_ttl,
            Kind.CATEGORY_PAGE: s.listing_ttl,
            Kind.DOCUMENT: s.apq_ttl,
            Kind.RESPONSE: s.response_ttl,
            Kind.TAG: s.response_ttl,
            Kind.LAST_KNOWN: s.last_known_hours * 3600,
        }.get(kind, s.catalog_ttl)
