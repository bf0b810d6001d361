"""Types of the bulk back-office mutations: one input per item, one result per item (its
index in the request, what it named, whether it applied, its own userErrors), and the
request's own userErrors (permission, size, idempotency key, an atomic refusal)."""

from __future__ import annotations

from decimal import Decimal

import strawberry

from .catalog import Product, Sku
from .errors import UserError


@strawberry.input(description="One SKU's new price (the rules of priceSet).")
class PriceSetItemInput:
    sku_id: strawberry.ID
    list: Decimal
    sale: Decimal


@strawberry.input(description="One stock adjustment (the rules of stockAdjust).")
class StockAdjustItemInput:
    sku_id: strawberry.ID
    warehouse_code: str
    delta: int
    reason: str


@strawberry.input
class ProductPublishItemInput:
    product_id: strawberry.ID
    published: bool


@strawberry.type
class SkuBulkResult:
    index: int = strawberry.field(description="The item's position in the request, from 0.")
    sku_id: strawberry.ID = strawberry.field(description="The id the item named.")
    sku: Sku | None = strawberry.field(description="The SKU, when it exists.")
    applied: bool = strawberry.field(description="True when this item's change was made.")
    user_errors: list[UserError]


@strawberry.type
class ProductBulkResult:
    index: int = strawberry.field(description="The item's position in the request, from 0.")
    product_id: strawberry.ID = strawberry.field(description="The id the item named.")
    product: Product | None
    applied: bool
    user_errors: list[UserError]


@strawberry.type
class SkuBulkPayload:
    results: list[SkuBulkResult] | None = strawberry.field(
        default=None,
        description="One per item, in the request's order; null when the request as a "
        "whole was refused (see userErrors).",
    )
    replayed: bool = strawberry.field(
        default=False, description="True when an earlier request with this key applied it."
    )
    user_errors: list[UserError] = strawberry.field(
        default_factory=list, description="Problems with the request as a whole."
    )


@strawberry.type
class ProductBulkPayload:
    results: list[ProductBulkResult] | None = strawberry.field(
        default=None,
        description="One per item, in the request's order; null when the request as a "
        "whole was refused (see userErrors).",
    )
    replayed: bool = False
    user_errors: list[UserError] = strawberry.field(default_factory=list)
