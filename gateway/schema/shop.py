"""The shop itself, as ``gateway init`` set it up: what a storefront shows in its header
and which languages it offers."""

from __future__ import annotations

import strawberry

from .common import Money


@strawberry.type(description="The shop: its name, currency and languages (`gateway init`).")
class Shop:
    name: str = strawberry.field(description="The shop's name.")
    currency: str = strawberry.field(description="The currency it sells in (ISO 4217).")
    languages: list[str] = strawberry.field(
        description="Language tags it sells in (BCP 47); the first is the default."
    )
    free_shipping_over: Money = strawberry.field(
        description="Goods (after discounts) at or above this ship free."
    )
