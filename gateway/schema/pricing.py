"""Prices and promotions."""

from __future__ import annotations

from datetime import datetime

import strawberry

from sources.pricing.records import Price as PriceRecord
from sources.pricing.records import Promotion as PromotionRecord
from sources.pricing.records import PromotionKind as PromotionKindRecord

from .common import Money
from .node import Node, encode_id

# The source's enum is the schema's: one list of kinds, no mapping to drift.
PromotionKind = strawberry.enum(PromotionKindRecord, name="PromotionKind")


@strawberry.type
class Price:
    list: Money
    sale: Money
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


@strawberry.type
class PriceRange:
    min: Money
    max: Money


@strawberry.type
class Promotion(Node):
    name: str
    kind: PromotionKindRecord
    description: str
    starts_at: datetime | None
    ends_at: datetime | None
    coupon_required: bool

    @classmethod
    def from_record(cls, record: PromotionRecord) -> Promotion:
        return cls(
            id=encode_id("Promotion", record.id),
            name=record.name,
            kind=record.kind,
            description=record.description,
            starts_at=record.starts_at,
            ends_at=record.ends_at,
            coupon_required=record.coupon_required,
        )
