"""Back-office types: mutation payloads, audit entries, the low-stock view."""

import strawberry

from .catalog import Product, Sku
from .common import PageInfo
from .errors import UserError


@strawberry.type(description="The SKU after the mutation, or why not.")
class SkuPayload:
    sku: Sku | None = strawberry.field(
        default=None, description="The SKU as it is now; null when userErrors say why not."
    )
    user_errors: list[UserError] = strawberry.field(
        default_factory=list,
        description=(
            "What could not be done, on the field at fault: SKU_NOT_FOUND, "
            "PRODUCT_NOT_FOUND, WAREHOUSE_NOT_FOUND, INVALID_INPUT, "
            "INSUFFICIENT_STOCK, CODE_TAKEN, OPTIONS_INVALID, OPTIONS_TAKEN, "
            "PRODUCT_ARCHIVED, IDEMPOTENCY_KEY_REUSED."
        ),
    )
    replayed: bool = strawberry.field(
        default=False, description="True when an earlier request with this key created it."
    )


@strawberry.type(description="The product after the mutation, or why not.")
class ProductPayload:
    product: Product | None = strawberry.field(
        default=None, description="The product as it is now; null when userErrors say why not."
    )
    user_errors: list[UserError] = strawberry.field(
        default_factory=list,
        description=(
            "What could not be done, on the field at fault: PRODUCT_NOT_FOUND, "
            "PRODUCT_ARCHIVED, SLUG_TAKEN, CATEGORY_NOT_FOUND, SUPPLIER_NOT_FOUND, "
            "OPTIONS_INVALID, OPTIONS_IN_USE, ATTRIBUTE_INVALID, INVALID_INPUT, "
            "IDEMPOTENCY_KEY_REUSED."
        ),
    )
    replayed: bool = strawberry.field(
        default=False, description="True when an earlier request with this key created it."
    )


@strawberry.type(description="One SKU low on stock and its cursor.")
class LowStockEdge:
    cursor: str = strawberry.field(description="Pass as `after` to get the SKUs after this one.")
    node: Sku = strawberry.field(description="The SKU.")
    available: int = strawberry.field(description="Warehouse stock available to sell.")


@strawberry.type(description="A page of SKUs low on stock (Relay connection).")
class LowStockConnection:
    edges: list[LowStockEdge] = strawberry.field(
        description="The SKUs on this page, each with its cursor."
    )
    page_info: PageInfo = strawberry.field(
        description="Whether there are more pages, and the cursors to reach them."
    )
    total_count: int = strawberry.field(description="How many SKUs are under the threshold.")
