"""Back-office types: mutation payloads, audit entries, the low-stock view."""

from __future__ import annotations

import strawberry

from .catalog import Product, Sku
from .common import PageInfo
from .errors import UserError


@strawberry.type
class SkuPayload:
    sku: Sku | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)
    replayed: bool = strawberry.field(
        default=False, description="True when an earlier request with this key created it."
    )


@strawberry.type
class ProductPayload:
    product: Product | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)
    replayed: bool = strawberry.field(
        default=False, description="True when an earlier request with this key created it."
    )


@strawberry.type
class LowStockEdge:
    cursor: str
    node: Sku
    available: int = strawberry.field(description="Warehouse stock available to sell.")


@strawberry.type
class LowStockConnection:
    edges: list[LowStockEdge]
    page_info: PageInfo
    total_count: int
