"""Prices and promotions."""

from __future__ import annotations

from datetime import datetime

import strawberry

from sources.pricing.records import Price as PriceRecord
from sources.pricing.records import Promotion as PromotionRecord
from sources.pricing.records import PromotionKind as PromotionKindRecord

from ..auth import Permission
from ..i18n.request import translated
from .common import Money
from .enums import describe_values
from .node import Node, encode_id
from .permissions import staff_only

# The source's enum is the schema's: one list of kinds, no mapping to drift.
PromotionKind = strawberry.enum(
    PromotionKindRecord, name="PromotionKind", description="How a promotion discounts."
)
describe_values(
    PromotionKindRecord,
    {
        "PERCENTAGE": "A percentage off the goods it covers.",
        "FIXED_AMOUNT": "A fixed amount off the goods it covers.",
        "THRESHOLD": "An amount off once the goods it covers reach a threshold (满减).",
        "BUY_X_GET_Y": "Buy X units, get Y of them free (the cheapest ones).",
    },
)


@strawberry.type(description="A SKU's prices, in the shop's currency.")
class Price:
    list: Money = strawberry.field(description="The list (crossed-out) price.")
    sale: Money = strawberry.field(description="The price a buyer pays before promotions.")
    as_of: datetime | None = strawberry.field(
        default=None,
        description=(
            "Null when the price is current. While the pricing system is unavailable a "
            "storefront may be shown the last price known, read at this time (also listed "
            "in the response's extensions.stale); the checkout never charges it."
        ),
    )

    @classmethod
    def from_record(cls, record: PriceRecord, as_of: datetime | None = None) -> Price:
        return cls(
            list=Money.of(record.list_amount, record.currency),
            sale=Money.of(record.sale_amount, record.currency),
            as_of=as_of,
        )


@strawberry.type(description="The lowest and highest sale price of a product's active SKUs.")
class PriceRange:
    min: Money = strawberry.field(description="The lowest sale price.")
    max: Money = strawberry.field(description="The highest sale price.")


@strawberry.type(description="A promotion's name and terms in one language.")
class PromotionTranslation:
    language: str = strawberry.field(description='Its language, a BCP 47 tag: "zh-CN", "en".')
    name: str = strawberry.field(description="The promotion's name in it.")
    description: str | None = strawberry.field(
        description="Its terms in it; null where only the name is translated."
    )


@strawberry.type(
    description=(
        "A promotion: a discount the engine applies to carts that meet its "
        "terms (with a coupon code when couponRequired)."
    )
)
class Promotion(Node):
    name: str = strawberry.field(
        description="Its name, as shown to buyers, in the request's language."
    )
    kind: PromotionKindRecord = strawberry.field(description="How it discounts.")
    description: str = strawberry.field(
        description="Its terms, for buyers, in the request's language."
    )
    starts_at: datetime | None = strawberry.field(
        description="When it starts (UTC); null: already running."
    )
    ends_at: datetime | None = strawberry.field(description="When it ends (UTC); null: open-ended.")
    coupon_required: bool = strawberry.field(
        description="True when it applies only with a coupon code."
    )

    record: strawberry.Private[PromotionRecord | None] = None

    @strawberry.field(
        extensions=staff_only(Permission.MANAGE_PRICES),
        description="Its name and terms in each language beyond the base ones (promotionUpdate's "
        "translations sets them). MANAGE_PRICES staff only (null for others).",
    )
    def translations(self) -> list[PromotionTranslation] | None:
        found = self.record.translations if self.record is not None else ()
        return [
            PromotionTranslation(language=t.language, name=t.name, description=t.description)
            for t in found
        ]

    @classmethod
    def from_record(cls, record: PromotionRecord) -> Promotion:
        text = translated(record.translations)
        return cls(
            id=encode_id("Promotion", record.id),
            name=text.name if text else record.name,
            kind=record.kind,
            description=text.description if text and text.description else record.description,
            starts_at=record.starts_at,
            ends_at=record.ends_at,
            coupon_required=record.coupon_required,
            record=record,
        )
