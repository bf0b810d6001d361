"""Records of a product import (``gateway import products``): what a file's rows say about
one product, and what the catalog made of it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .records import CatalogRefusal, ProductFields, SkuFields


@dataclass(frozen=True, slots=True)
class VariantDraft:
    """One SKU of a product, from the file's line ``line`` (its code is the key: an
    import finds the SKU it made before by it)."""

    line: int
    fields: SkuFields


@dataclass(frozen=True, slots=True)
class ImageDraft:
    """A picture named by URL, recorded for a later fetch (the machine importing may not
    reach it yet, and fetching thousands of images is no part of a transaction)."""

    line: int
    url: str
    position: int
    alt: str = ""
    sku_codes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ProductDraft:
    """One product's rows, by its handle (the product's slug). ``fields`` is None when the
    rows carry only variants or images (the product must exist already)."""

    line: int
    handle: str
    fields: ProductFields | None
    category: str | None = None  # a category name, found or made by its slug
    archived: bool = False
    variants: tuple[VariantDraft, ...] = ()
    images: tuple[ImageDraft, ...] = ()


@dataclass(frozen=True, slots=True)
class ImportedProduct:
    """What the catalog did with one draft: the product and SKU ids (by code), or why
    nothing of it was written (``line``: the row at fault)."""

    handle: str
    product_id: int | None = None
    sku_ids: dict[str, int] | None = None
    refusal: CatalogRefusal | None = None
    detail: str = ""
    line: int = 0


class ImageStatus:
    PENDING = "PENDING"
    FETCHED = "FETCHED"
    FAILED = "FAILED"


@dataclass(frozen=True, slots=True)
class PendingImage:
    id: int
    product_id: int
    url: str
    position: int
    alt: str
    sku_codes: tuple[str, ...]
    attempts: int
    created_at: datetime
