"""Inputs and payloads of the back-office promotion, coupon and warehouse mutations."""

from datetime import datetime
from decimal import Decimal

import strawberry

from sources.pricing.records import PromotionKind as PromotionKindRecord
from sources.pricing.records import PromotionScope as PromotionScopeRecord

from .enums import describe_values
from .errors import UserError
from .pricing import Promotion

PromotionScope = strawberry.enum(
    PromotionScopeRecord,
    name="PromotionScope",
    description="What a promotion acts on: the whole order, listed products, or the "
    "products of listed categories (and their subcategories).",
)
describe_values(
    PromotionScopeRecord,
    {
        "ORDER": "Every line of the order.",
        "PRODUCTS": "The lines of the listed products.",
        "CATEGORIES": "The lines of products in the listed categories or below them.",
    },
)

_U = strawberry.UNSET


@strawberry.input(description="A promotion's name and terms in one language.")
class PromotionTranslationInput:
    language: str = strawberry.field(
        description='A BCP 47 tag, e.g. "zh-CN" (matched to the shop\'s own without regard '
        "to case)."
    )
    name: str = strawberry.field(description="Its name in it (1 to 200 characters).")
    description: str | None = strawberry.field(
        default=None, description="Its terms in it; null: buyers read the base terms."
    )


@strawberry.input(
    description="A promotion's terms. promotionCreate needs name and kind; promotionUpdate "
    "changes what is given (null clears a nullable term). Either way the promotion is "
    "judged by the engine's rules as it would be saved: one that could never apply or "
    "contradicts itself is refused (PROMOTION_NEVER_APPLIES, PROMOTION_CONTRADICTORY)."
)
class PromotionInput:
    name: str | None = strawberry.field(default=_U, description="Shown to buyers.")
    kind: PromotionKindRecord | None = strawberry.field(default=_U, description="What it does.")
    description: str | None = strawberry.field(default=_U, description="Shown to buyers.")
    scope: PromotionScopeRecord | None = strawberry.field(
        default=_U, description="ORDER unless given."
    )
    starts_at: datetime | None = strawberry.field(default=_U, description="Inclusive.")
    ends_at: datetime | None = strawberry.field(default=_U, description="Exclusive.")
    coupon_code: str | None = strawberry.field(
        default=_U, description="Set: a coupon the buyer types; unset: automatic."
    )
    usage_limit: int | None = strawberry.field(default=_U, description="Coupon uses in all.")
    per_customer_limit: int | None = strawberry.field(
        default=_U, description="Coupon uses per customer."
    )
    priority: int | None = strawberry.field(default=_U, description="Higher applies first.")
    exclusive: bool | None = strawberry.field(default=_U, description="Combines with nothing.")
    active: bool | None = strawberry.field(default=_U, description="The pause switch.")
    percent: Decimal | None = strawberry.field(default=_U, description="PERCENTAGE, THRESHOLD.")
    amount: Decimal | None = strawberry.field(default=_U, description="FIXED_AMOUNT, THRESHOLD.")
    threshold: Decimal | None = strawberry.field(default=_U, description="THRESHOLD: spend.")
    buy_quantity: int | None = strawberry.field(default=_U, description="BUY_X_GET_Y: X.")
    get_quantity: int | None = strawberry.field(default=_U, description="BUY_X_GET_Y: Y.")
    product_ids: list[strawberry.ID] | None = strawberry.field(
        default=_U, description="scope PRODUCTS: its products."
    )
    category_ids: list[strawberry.ID] | None = strawberry.field(
        default=_U, description="scope CATEGORIES: its categories."
    )
    translations: list[PromotionTranslationInput] | None = strawberry.field(
        default=_U,
        description="Its name and terms in other languages, each language once; replaces "
        "all of them when given (buyers asking in a language read its name and terms).",
    )


@strawberry.type(description="The promotion written, or why not.")
class PromotionPayload:
    promotion: Promotion | None = strawberry.field(default=None, description="As saved.")
    replayed: bool = strawberry.field(
        default=False, description="True when an earlier request with this key created it."
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list, description="Why not.")


@strawberry.type(description="Coupon codes made for a promotion, or why none were.")
class CouponCodesPayload:
    promotion: Promotion | None = strawberry.field(default=None, description="Their promotion.")
    codes: list[str] | None = strawberry.field(
        default=None, description="The new codes; hand them out, they are not shown again."
    )
    replayed: bool = strawberry.field(
        default=False, description="True when an earlier request with this key made them."
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list, description="Why not.")


@strawberry.input(description="A new warehouse.")
class WarehouseInput:
    code: str = strawberry.field(description="Unique, e.g. WH-02 (capitals, digits, '-').")
    name: str = strawberry.field(description="Display name.")
    region_code: str = strawberry.field(description="ISO 3166-2 region, e.g. CN-SH.")
    priority: int | None = strawberry.field(
        default=None, description="Allocation order (lower first); last unless given."
    )


@strawberry.type(description="A warehouse stock is kept in.")
class Warehouse:
    id: strawberry.ID = strawberry.field(description="Its id.")
    code: str = strawberry.field(description="How stock files and adjustments name it.")
    name: str = strawberry.field(description="Display name.")
    region_code: str = strawberry.field(description="ISO 3166-2 region.")


@strawberry.type(description="The warehouse created, or why not.")
class WarehousePayload:
    warehouse: Warehouse | None = strawberry.field(default=None, description="As created.")
    replayed: bool = strawberry.field(
        default=False, description="True when an earlier request with this key created it."
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list, description="Why not.")
