"""Batch forms of the product page's details on a listing: each product's images and
specifications, and each SKU's picture, for every object of the level at once (one
loader call for all of them), giving exactly what the per-object resolvers in
gateway/schema/catalog.py give."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sources.catalog.records import Product as ProductRecord

from ..schema.catalog import Product, Sku
from ..schema.catalog_details import Specification
from ..schema.common import BadUserInput, Info
from ..schema.media import ProductMedia
from .batch import batch_field
from .catalog_records import SkuValue, product_records, sku_records


@batch_field("Product", "media", records=True)
async def product_media(
    parents: Sequence[Product | ProductRecord], info: Info, arguments: dict[str, Any]
) -> list[Any]:
    first = arguments.get("first", 20)
    if not 0 <= first <= 100:
        error = BadUserInput("first must be 0 to 100")
        return [error for _ in parents]
    found = await info.context.loaders.catalog.media.load_all(
        [p.id for p in product_records(parents)]
    )
    return [[ProductMedia.from_record(m) for m in media[:first]] for media in found]


@batch_field("Product", "specifications", records=True)
async def product_specifications(
    parents: Sequence[Product | ProductRecord], info: Info, _: dict[str, Any]
) -> list[Any]:
    found = await info.context.loaders.catalog.specifications.load_all(
        [p.id for p in product_records(parents)]
    )
    return [[Specification.from_record(s) for s in specs] for specs in found]


@batch_field("Sku", "image", records=True)
async def sku_image(parents: Sequence[Sku | SkuValue], info: Info, _: dict[str, Any]) -> list[Any]:
    records = sku_records(parents)
    pictured = [s for s in records if s.image_id is not None]
    owners = sorted({s.product_id for s in pictured})
    found = await info.context.loaders.catalog.media.load_all(owners)
    by_id = {m.id: m for media in found for m in media}
    return [
        ProductMedia.from_record(by_id[s.image_id])
        if s.image_id is not None and s.image_id in by_id
        else None
        for s in records
    ]
