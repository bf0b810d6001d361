"""Back-office mutations and views of the catalog, stock and prices."""

from decimal import Decimal
from typing import Annotated

import strawberry

from sources.catalog.records import Sku as SkuRecord
from sources.common.pagination import InvalidCursor

from ..backoffice import catalog_writes
from ..schema.backoffice import LowStockConnection, LowStockEdge, ProductPayload, SkuPayload
from ..schema.catalog import Product, Sku, visible
from ..schema.common import BadUserInput, Info, PageInfo, page_size
from ..schema.errors import user_errors
from ..schema.node import decode_int_id


def _pk(global_id: str, type_name: str) -> int | None:
    """A mutation treats an id it cannot read like an unknown one: a userError, not a crash."""
    try:
        return decode_int_id(global_id, type_name)
    except BadUserInput:
        return None


async def _shown_sku(info: Info, sku: SkuRecord | None) -> Sku | None:
    """The SKU in a payload, unless its product is unpublished and the viewer may not see it."""
    if sku is None:
        return None
    product = visible(info, await info.context.loaders.catalog.product.load(sku.product_id))
    return Sku.from_record(sku, product) if product else None


def _actor(info: Info) -> str:
    viewer = info.context.viewer
    return f"{viewer.kind.value}:{viewer.subject}"


async def stock_adjust(
    info: Info,
    sku_id: Annotated[strawberry.ID, strawberry.argument(description="The SKU's id (Sku.id).")],
    warehouse_code: Annotated[
        str, strawberry.argument(description="The warehouse's code (WarehouseStock.warehouseCode).")
    ],
    delta: Annotated[
        int,
        strawberry.argument(
            description=(
                "Units to add (positive) or take away (negative); on-hand never goes "
                "below what is reserved."
            )
        ),
    ],
    reason: Annotated[str, strawberry.argument(description="Why, kept in the SKU's audit log.")],
    idempotency_key: Annotated[
        str | None,
        strawberry.argument(
            description="A key the client makes up; a retry with it is applied once."
        ),
    ] = None,
) -> SkuPayload:
    ctx = info.context
    outcome = await catalog_writes.adjust_stock(
        ctx.sources,
        sku_id=_pk(sku_id, "Sku"),
        warehouse_code=warehouse_code,
        delta=delta,
        reason=reason,
        idempotency_key=idempotency_key,
        currency=ctx.settings.currency,
        actor=_actor(info),
        now=ctx.now,
    )
    if outcome.sku is not None:
        ctx.loaders.inventory.stock.clear(outcome.sku.id)
    return SkuPayload(
        sku=await _shown_sku(info, outcome.sku), user_errors=user_errors(outcome.problems)
    )


async def price_set(
    info: Info,
    sku_id: Annotated[strawberry.ID, strawberry.argument(description="The SKU's id (Sku.id).")],
    list: Annotated[
        Decimal,
        strawberry.argument(
            description=("The list price, a Decimal string in the shop's currency (two decimals).")
        ),
    ],
    sale: Annotated[
        Decimal,
        strawberry.argument(
            description=(
                "The sale price buyers pay, a Decimal string: above zero and at most "
                "the list price."
            )
        ),
    ],
) -> SkuPayload:
    ctx = info.context
    outcome = await catalog_writes.set_price(
        ctx.sources,
        sku_id=_pk(sku_id, "Sku"),
        list_amount=list,
        sale_amount=sale,
        currency=ctx.settings.currency,
        actor=_actor(info),
        now=ctx.now,
    )
    if outcome.sku is not None:
        ctx.loaders.pricing.price.clear(outcome.sku.id)
    return SkuPayload(
        sku=await _shown_sku(info, outcome.sku) if not outcome.problems else None,
        user_errors=user_errors(outcome.problems),
    )


async def product_publish(
    info: Info,
    product_id: Annotated[
        strawberry.ID, strawberry.argument(description="The product's id (Product.id).")
    ],
    published: Annotated[
        bool, strawberry.argument(description="True to publish, false to withdraw from sale.")
    ],
) -> ProductPayload:
    ctx = info.context
    outcome = await catalog_writes.publish_product(
        ctx.sources,
        product_id=_pk(product_id, "Product"),
        published=published,
        actor=_actor(info),
        now=ctx.now,
    )
    if outcome.product is not None:
        ctx.loaders.catalog.product.clear(outcome.product.id)
    return ProductPayload(
        product=Product.from_record(outcome.product) if outcome.product else None,
        user_errors=user_errors(outcome.problems),
    )


async def low_stock(
    info: Info,
    threshold: Annotated[
        int, strawberry.argument(description="SKUs with fewer units available than this.")
    ] = 10,
    first: Annotated[
        int | None,
        strawberry.argument(
            description=(
                "Page size: at most GATEWAY_MAX_PAGE_SIZE (100 by default); 20 when omitted."
            )
        ),
    ] = None,
    after: Annotated[
        str | None,
        strawberry.argument(
            description="A cursor from a previous page's edges (or pageInfo.endCursor)."
        ),
    ] = None,
) -> LowStockConnection | None:
    if not 0 < threshold <= 1_000_000:
        raise BadUserInput("threshold must be between 1 and 1000000")
    size = page_size(info, first)
    try:
        page = await info.context.sources.inventory.low_stock(
            threshold=threshold, first=size, after=after
        )
    except InvalidCursor as exc:
        raise BadUserInput(f"after: {exc}", code="INVALID_CURSOR") from None
    loaders = info.context.loaders
    skus = await loaders.catalog.sku.load_many(page.sku_ids)
    levels = await loaders.inventory.stock.load_many(page.sku_ids)
    products = await loaders.catalog.product.load_many([s.product_id for s in skus if s])
    shown = {p.id: p for p in products if p is not None and visible(info, p)}
    edges = [
        LowStockEdge(
            cursor=cursor,
            node=Sku.from_record(sku, shown[sku.product_id]),
            available=level.warehouse_available,
        )
        for sku, level, cursor in zip(skus, levels, page.cursors, strict=True)
        # Unpublished products exist for MANAGE_PRODUCTS staff only, here too.
        if sku is not None and sku.product_id in shown
    ]
    return LowStockConnection(
        edges=edges,
        page_info=PageInfo.of(page.cursors, has_next_page=page.has_next_page, after=after),
        total_count=page.total_count,
    )
