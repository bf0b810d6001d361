"""Promotion hints (凑单) on a cart and the promotions a line does not get, as storefronts
show them; the engine decides (sources/pricing/hints.py), this module only maps."""

from __future__ import annotations

import strawberry

from sources.catalog.records import Product as ProductRecord
from sources.pricing.hints import Missing, NotAppliedReason
from sources.pricing.hints import PromotionHint as HintRecord
from sources.pricing.records import Promotion as PromotionRecord
from sources.pricing.records import PromotionScope

from ..checkout.hints import message
from .common import Info, Money
from .enums import describe_values
from .node import encode_id
from .pricing import Promotion

# How many products of each category a category-wide hint names (the newest published).
CATEGORY_PRODUCTS = 12

strawberry.enum(
    NotAppliedReason,
    name="PromotionNotAppliedReason",
    description="Why a promotion gives a cart line nothing.",
)
describe_values(
    NotAppliedReason,
    {
        "NOT_STARTED": "Its window has not opened yet (see the promotion's startsAt).",
        "ENDED": "Its window is over.",
        "PAUSED": "The shop has paused it (a coupon code typed for it does not apply).",
        "USAGE_LIMIT_REACHED": ("A coupon whose uses are used up, in total or by this customer."),
        "COUPON_REQUIRED": "It needs a coupon code the cart does not hold.",
        "QUANTITY_NOT_MET": (
            "Buy X get Y: this line's SKU has fewer than X + Y units in the cart (units of "
            "different SKUs are not pooled)."
        ),
        "THRESHOLD_NOT_MET": "The goods it covers come to less than its threshold.",
        "EXCLUDED_BY_BETTER": (
            "It cannot be combined with the promotions applied, and they save more (an "
            "exclusive promotion that saves more, or, for an exclusive one, the others "
            "together)."
        ),
        "NOTHING_LEFT": ("The promotions applied before it already took this line to zero."),
    },
)
strawberry.enum(
    Missing,
    name="PromotionHintKind",
    description="What a buyer must add to unlock a promotion.",
)
describe_values(
    Missing,
    {
        "SPEND": "More of the goods it covers, worth amountToUnlock (and couponCode if set).",
        "UNITS": "unitsToAdd more units of the SKU in `sku` (and couponCode if set).",
        "COUPON": "Only its coupon code (couponCode); nothing to add.",
    },
)


@strawberry.type(description="A promotion that gives this line nothing, and why.")
class PromotionNotApplied:
    promotion: Promotion = strawberry.field(description="The promotion.")
    reason: NotAppliedReason = strawberry.field(description="Why it gives this line nothing.")


def not_applied_list(
    reasons: list[tuple[int, NotAppliedReason]], promotions: dict[int, PromotionRecord]
) -> list[PromotionNotApplied]:
    return [
        PromotionNotApplied(promotion=Promotion.from_record(promotions[pid]), reason=reason)
        for pid, reason in reasons
        if pid in promotions
    ]


@strawberry.type(
    description=(
        "A promotion the cart nearly qualifies for (凑单) and what unlocks it, checked by the "
        "promotion engine: doing what it says applies the promotion. See "
        "docs/checkout-and-orders.md for when a cart nearly qualifies."
    )
)
class PromotionHint:
    promotion: Promotion = strawberry.field(description="The promotion it unlocks.")
    kind: Missing = strawberry.field(description="What is missing.")
    amount_to_unlock: Money = strawberry.field(
        description=(
            "The value of the goods to add, at their sale price: the spend missing (SPEND), "
            "or the units' price (UNITS); zero for COUPON."
        )
    )
    units_to_add: int = strawberry.field(
        description="UNITS: how many more units of `sku` to add; 0 otherwise."
    )
    coupon_code: str | None = strawberry.field(
        description="The coupon code to enter, when the cart does not hold it yet; else null."
    )
    saving: Money = strawberry.field(
        description=(
            "What the promotion then saves: the cart's total without it minus its total with "
            "it, in the cart as it would be."
        )
    )
    record: strawberry.Private[HintRecord]
    promotion_record: strawberry.Private[PromotionRecord]
    currency: strawberry.Private[str]
    product: strawberry.Private[ProductRecord | None]

    @classmethod
    def of(
        cls,
        hint: HintRecord,
        promotion: PromotionRecord,
        currency: str,
        product: ProductRecord | None,
    ) -> PromotionHint:
        return cls(
            promotion=Promotion.from_record(promotion),
            kind=hint.missing,
            amount_to_unlock=Money.of(hint.amount_to_add, currency),
            units_to_add=hint.units_to_add,
            coupon_code=hint.coupon_code,
            saving=Money.of(hint.saving, currency),
            record=hint,
            promotion_record=promotion,
            currency=currency,
            product=product,
        )

    @strawberry.field(
        description=(
            "What to do, in the buyer's words (English): \"Add ¥120.00 more of Audio to save "
            '¥50.00", "Add one more T-shirt to get one free (save ¥59.00)", "Enter coupon '
            'SAVE50 to save ¥50.00".'
        )
    )
    async def message(self, info: Info) -> str:
        names: dict[int, str] = {}
        if self.promotion_record.scope is PromotionScope.CATEGORIES:
            ids = sorted(self.promotion_record.category_ids)
            found = await info.context.loaders.catalog.category.load_many(ids)
            names = {c.id: c.name for c in found if c is not None}
        return message(
            self.record,
            self.promotion_record,
            self.currency,
            category_names=names,
            product_name=self.product.name if self.product else None,
        )

    @strawberry.field(
        description=(
            "UNITS: the SKU to add units of (units of one SKU count together); null otherwise."
        )
    )
    def sku_id(self) -> strawberry.ID | None:
        return encode_id("Sku", self.record.sku_id) if self.record.sku_id else None

    @strawberry.field(
        description=(
            "Global ids of products that count towards it: the SKU's product (UNITS), the "
            "promotion's products, or the newest published products of its categories (at "
            "most 12 per category). Empty for an order-wide promotion: anything counts."
        )
    )
    async def product_ids(self, info: Info) -> list[strawberry.ID]:
        promotion = self.promotion_record
        if self.product is not None:
            ids = [self.product.id]
        elif promotion.scope is PromotionScope.PRODUCTS:
            ids = sorted(promotion.product_ids)
        elif promotion.scope is PromotionScope.CATEGORIES:
            keys = [(c, CATEGORY_PRODUCTS, None) for c in sorted(promotion.category_ids)]
            pages = await info.context.loaders.catalog.category_products.load_many(keys)
            ids = list(dict.fromkeys(p.id for page in pages for p in page.products))
        else:
            ids = []
        return [encode_id("Product", pid) for pid in ids]
