"""Prices and promotions."""

from __future__ import annotations

from datetime import datetime

import strawberry

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
