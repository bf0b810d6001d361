"""Bulk back-office mutations: read the items, hand them to gateway/backoffice/bulk.py,
map its outcome to per-item results. The SKUs and products in the results resolve through
the request's loaders (one call for all of them) and follow the single writes' visibility:
an unpublished product's SKU shows only to MANAGE_PRODUCTS staff."""

from typing import Annotated

import strawberry

from ..backoffice import bulk
from ..schema.bulk import (
    PriceSetItemInput,
    ProductBulkPayload,
    ProductBulkResult,
    ProductPublishItemInput,
    SkuBulkPayload,
    SkuBulkResult,
    StockAdjustItemInput,
)
from ..schema.catalog import Product, Sku, visible
from ..schema.common import Info
from ..schema.errors import user_errors
from .backoffice import _actor, _pk


async def _sku_payload(
    info: Info, ids: list[strawberry.ID], outcome: bulk.BulkOutcome
) -> SkuBulkPayload:
    ctx = info.context
    found = [o.sku for o in outcome.items if o.sku is not None]
    for sku in found:  # this request reads them back as written
        ctx.loaders.pricing.price.clear(sku.id)
        ctx.loaders.inventory.stock.clear(sku.id)
    products = await ctx.loaders.catalog.product.load_many(sorted({s.product_id for s in found}))
    shown = {p.id: p for p in products if p is not None and visible(info, p)}
    return SkuBulkPayload(
        results=[
            SkuBulkResult(
                index=o.index,
                sku_id=ids[o.index],
                sku=Sku.from_record(o.sku, shown[o.sku.product_id])
                if o.sku is not None and o.sku.product_id in shown
                else None,
                applied=o.applied,
                user_errors=user_errors(o.problems),
            )
            for o in outcome.items
        ]
        or None,
        replayed=outcome.replayed,
        user_errors=user_errors(outcome.problems),
    )


async def price_set_bulk(
    info: Info,
    items: Annotated[
        list[PriceSetItemInput],
        strawberry.argument(description="The prices to set (at most 1,000)."),
    ],
    atomic: Annotated[bool, strawberry.argument(description="True: apply all or none.")] = False,
    idempotency_key: Annotated[
        str | None,
        strawberry.argument(
            description=(
                "A key the client makes up; a retry with it is applied once and answers the same."
            )
        ),
    ] = None,
) -> SkuBulkPayload:
    ctx = info.context
    outcome = await bulk.set_prices(
        ctx.sources,
        [bulk.PriceItem(_pk(i.sku_id, "Sku"), i.list, i.sale) for i in items],
        atomic=atomic,
        idempotency_key=idempotency_key,
        currency=ctx.settings.currency,
        actor=_actor(info),
        now=ctx.now,
    )
    return await _sku_payload(info, [i.sku_id for i in items], outcome)


async def stock_adjust_bulk(
    info: Info,
    items: Annotated[
        list[StockAdjustItemInput],
        strawberry.argument(description="The adjustments (at most 1,000)."),
    ],
    atomic: Annotated[bool, strawberry.argument(description="True: apply all or none.")] = False,
    idempotency_key: Annotated[
        str | None,
        strawberry.argument(
            description=(
                "A key the client makes up; a retry with it is applied once and answers the same."
            )
        ),
    ] = None,
) -> SkuBulkPayload:
    ctx = info.context
    outcome = await bulk.adjust_stock(
        ctx.sources,
        [bulk.StockItem(_pk(i.sku_id, "Sku"), i.warehouse_code, i.delta, i.reason) for i in items],
        atomic=atomic,
        idempotency_key=idempotency_key,
        currency=ctx.settings.currency,
        actor=_actor(info),
        now=ctx.now,
    )
    return await _sku_payload(info, [i.sku_id for i in items], outcome)


async def product_publish_bulk(
    info: Info,
    items: Annotated[
        list[ProductPublishItemInput],
        strawberry.argument(
            description="The products and whether to publish each (at most 1,000)."
        ),
    ],
    atomic: Annotated[bool, strawberry.argument(description="True: apply all or none.")] = False,
    idempotency_key: Annotated[
        str | None,
        strawberry.argument(
            description=(
                "A key the client makes up; a retry with it is applied once and answers the same."
            )
        ),
    ] = None,
) -> ProductBulkPayload:
    ctx = info.context
    outcome = await bulk.publish_products(
        ctx.sources,
        [bulk.PublishItem(_pk(i.product_id, "Product"), i.published) for i in items],
        atomic=atomic,
        idempotency_key=idempotency_key,
        actor=_actor(info),
        now=ctx.now,
    )
    for o in outcome.items:
        if o.product is not None:
            ctx.loaders.catalog.product.clear(o.product.id)
    return ProductBulkPayload(
        results=[
            ProductBulkResult(
                index=o.index,
                product_id=items[o.index].product_id,
                product=Product.from_record(o.product) if o.product else None,
                applied=o.applied,
                user_errors=user_errors(o.problems),
            )
            for o in outcome.items
        ]
        or None,
        replayed=outcome.replayed,
        user_errors=user_errors(outcome.problems),
    )
