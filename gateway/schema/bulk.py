"""Types of the bulk back-office mutations: one input per item, one result per item (its
index in the request, what it named, whether it applied, its own userErrors), and the
request's own userErrors (permission, size, idempotency key, an atomic refusal)."""

from decimal import Decimal

import strawberry

from .catalog import Product, Sku
from .errors import UserError


@strawberry.input(description="One SKU's new price (the rules of priceSet).")
class PriceSetItemInput:
    sku_id: strawberry.ID = strawberry.field(description="The SKU's id (Sku.id).")
    list: Decimal = strawberry.field(description="The list price, a Decimal string (two decimals).")
    sale: Decimal = strawberry.field(
        description="The sale price, a Decimal string: above zero and at most the list price."
    )


@strawberry.input(description="One stock adjustment (the rules of stockAdjust).")
class StockAdjustItemInput:
    sku_id: strawberry.ID = strawberry.field(description="The SKU's id (Sku.id).")
    warehouse_code: str = strawberry.field(description="The warehouse's code.")
    delta: int = strawberry.field(description="Units to add (positive) or take away (negative).")
    reason: str = strawberry.field(description="Why, kept in the SKU's audit log.")


@strawberry.input(description="One product to publish or unpublish.")
class ProductPublishItemInput:
    product_id: strawberry.ID = strawberry.field(description="The product's id (Product.id).")
    published: bool = strawberry.field(description="True to publish, false to withdraw from sale.")


@strawberry.type(description="One item of a bulk price or stock request.")
class SkuBulkResult:
    index: int = strawberry.field(description="The item's position in the request, from 0.")
    sku_id: strawberry.ID = strawberry.field(description="The id the item named.")
    sku: Sku | None = strawberry.field(description="The SKU, when it exists.")
    applied: bool = strawberry.field(description="True when this item's change was made.")
    user_errors: list[UserError] = strawberry.field(
        description=(
            "Why this item was not applied: SKU_NOT_FOUND, WAREHOUSE_NOT_FOUND, "
            "INVALID_INPUT, INSUFFICIENT_STOCK."
        )
    )


@strawberry.type(description="One item of a bulk product request.")
class ProductBulkResult:
    index: int = strawberry.field(description="The item's position in the request, from 0.")
    product_id: strawberry.ID = strawberry.field(description="The id the item named.")
    product: Product | None = strawberry.field(
        description="The product as it is now; null when not found."
    )
    applied: bool = strawberry.field(description="Whether this item's change was applied.")
    user_errors: list[UserError] = strawberry.field(
        description="Why this item was not applied: PRODUCT_NOT_FOUND, PRODUCT_ARCHIVED."
    )


@strawberry.type(description="The outcome of a bulk price or stock request, item by item.")
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


@strawberry.type(description="The outcome of productPublishBulk, item by item.")
class ProductBulkPayload:
    results: list[ProductBulkResult] | None = strawberry.field(
        default=None,
        description="One per item, in the request's order; null when the request as a "
        "whole was refused (see userErrors).",
    )
    replayed: bool = strawberry.field(
        default=False,
        description=(
            "True when this answer is a replay of an earlier request with the same idempotencyKey."
        ),
    )
    user_errors: list[UserError] = strawberry.field(
        default_factory=list,
        description=(
            "What stopped the whole request (e.g. IDEMPOTENCY_KEY_REUSED, "
            "INVALID_INPUT for too many items)."
        ),
    )
