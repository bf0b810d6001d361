"""The demo shop's promotions: every kind (percentage, fixed amount, threshold, buy X get Y)
and scope (order, products, categories), coupons with usage limits, one exclusive, one
expired, one not started yet and one paused, all in CNY and timed relative to ``now``."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sources.common.money import quantize

from . import chinese
from .drafts import ProductDraft, Role
from .shop_data import CURRENCY

Row = dict[str, Any]

# Coupon codes a buyer can type in the demo shop (the README lists them).
DEMO_COUPON_CODES = ("WELCOME10", "SAVE50", "VIP20", "OUTDOOR100", "EARLYBIRD")


@dataclass(frozen=True, slots=True)
class _Promotion:
    name: str
    kind: str
    scope: str
    description: str
    window: tuple[int | None, int | None]  # days from now: (starts, ends); None is open
    percent: str | None = None
    amount: str | None = None
    threshold: str | None = None
    buy_quantity: int | None = None
    get_quantity: int | None = None
    coupon_code: str | None = None
    usage_limit: int | None = None
    per_customer_limit: int | None = None
    priority: int = 0
    is_exclusive: bool = False
    is_active: bool = True
    categories: tuple[str, ...] = ()  # slugs, for scope CATEGORIES
    products_from: str | None = None  # a leaf category to pick products from, scope PRODUCTS


PROMOTIONS: tuple[_Promotion, ...] = (
    _Promotion(
        "Welcome offer: 10% off", "PERCENTAGE", "ORDER",
        "10% off your first order with WELCOME10.", (-90, None),
        percent="10", coupon_code="WELCOME10", usage_limit=10_000, per_customer_limit=1,
        priority=10,
    ),
    _Promotion(
        "Spend ¥500, save ¥50", "THRESHOLD", "ORDER",
        "¥50 off any order of ¥500 or more with SAVE50.", (-30, 60),
        threshold="500", amount="50", coupon_code="SAVE50", usage_limit=2_000,
        per_customer_limit=3, priority=20,
    ),
    _Promotion(
        "VIP 20% off", "PERCENTAGE", "ORDER",
        "20% off the whole order for our VIP members. Cannot be combined with other offers.",
        (-7, 30),
        percent="20", coupon_code="VIP20", usage_limit=200, per_customer_limit=1, priority=100,
        is_exclusive=True,
    ),
    _Promotion(
        "Audio week: 15% off", "PERCENTAGE", "CATEGORIES",
        "15% off all headphones and speakers this week.", (-2, 5),
        percent="15", priority=30, categories=("audio",),
    ),
    _Promotion(
        "¥30 off selected kitchen appliances", "FIXED_AMOUNT", "PRODUCTS",
        "¥30 off each of these kitchen favourites.", (-10, 20),
        amount="30", priority=30, products_from="kitchen-appliances",
    ),
    _Promotion(
        "Buy 2, get 1 free on clothing", "BUY_X_GET_Y", "CATEGORIES",
        "Buy two pieces of clothing and the cheapest third one is free.", (-5, 25),
        buy_quantity=2, get_quantity=1, priority=40,
        categories=("mens-clothing", "womens-clothing"),
    ),
    _Promotion(
        "Home upgrade: spend ¥2,000, save 8%", "THRESHOLD", "CATEGORIES",
        "8% off home and living when those items come to ¥2,000 or more.", (-14, 45),
        threshold="2000", percent="8", priority=20, categories=("home-living",),
    ),
    _Promotion(
        "¥100 off outdoor gear", "FIXED_AMOUNT", "CATEGORIES",
        "¥100 off sports and outdoor gear with OUTDOOR100.", (-20, 40),
        amount="100", coupon_code="OUTDOOR100", usage_limit=300, per_customer_limit=1,
        priority=20, categories=("sports-outdoors",),
    ),
    _Promotion(
        "Spring sale: 12% off", "PERCENTAGE", "ORDER",
        "Our spring sale has ended; see you next season.", (-120, -60),
        percent="12", priority=10,
    ),
    _Promotion(
        "Early bird: ¥20 off", "FIXED_AMOUNT", "ORDER",
        "¥20 off with EARLYBIRD when our autumn event opens.", (14, 21),
        amount="20", coupon_code="EARLYBIRD", usage_limit=1_000, per_customer_limit=1,
        priority=10,
    ),
    _Promotion(
        "Flash sale: 25% off (paused)", "PERCENTAGE", "PRODUCTS",
        "A flash sale the merchandising team has paused.", (-1, 6),
        percent="25", priority=50, is_active=False, products_from="headphones",
    ),
)  # fmt: skip

PRODUCTS_PER_PROMOTION = 8


def promotion_rows(
    rng: random.Random,
    now: datetime,
    catalogue: list[ProductDraft],
    category_ids: dict[str, int],
) -> tuple[list[Row], list[Row]]:
    """``promotions`` and ``promotion_targets`` rows. Product-scoped promotions target
    published, orderable physical products, so the demo shows them working."""
    promotions: list[Row] = []
    targets: list[Row] = []
    for promotion_id, spec in enumerate(PROMOTIONS, start=1):
        starts, ends = spec.window
        promotions.append(
            {
                "id": promotion_id,
                "name": spec.name,
                "kind": spec.kind,
                "description": spec.description,
                "scope": spec.scope,
                "starts_at": None if starts is None else now + timedelta(days=starts),
                "ends_at": None if ends is None else now + timedelta(days=ends),
                "coupon_code": spec.coupon_code,
                "usage_limit": spec.usage_limit,
                "per_customer_limit": spec.per_customer_limit,
                "priority": spec.priority,
                "is_exclusive": spec.is_exclusive,
                "is_active": spec.is_active,
                "percent": _money(spec.percent),
                "amount": _money(spec.amount),
                "threshold": _money(spec.threshold),
                "buy_quantity": spec.buy_quantity,
                "get_quantity": spec.get_quantity,
                "currency": CURRENCY,
                "translations": chinese.promotion_translations(spec.name),
            }
        )
        for slug in spec.categories:
            targets.append(_target(len(targets) + 1, promotion_id, category_id=category_ids[slug]))
        if spec.products_from:
            for product_id in _pick_products(rng, catalogue, spec.products_from):
                targets.append(_target(len(targets) + 1, promotion_id, product_id=product_id))
    return promotions, targets


def _pick_products(rng: random.Random, catalogue: list[ProductDraft], category: str) -> list[int]:
    def orderable(p: ProductDraft) -> bool:
        return p.role is Role.PHYSICAL and p.is_published and p.is_in_stock

    pool = [p.id for p in catalogue if orderable(p) and p.category == category]
    pool = pool or [p.id for p in catalogue if orderable(p)]
    return sorted(rng.sample(pool, min(PRODUCTS_PER_PROMOTION, len(pool))))


def _target(
    target_id: int,
    promotion_id: int,
    *,
    product_id: int | None = None,
    category_id: int | None = None,
) -> Row:
    return {
        "id": target_id,
        "promotion_id": promotion_id,
        "product_id": product_id,
        "category_id": category_id,
    }


def _money(value: str | None) -> Decimal | None:
    return quantize(Decimal(value)) if value is not None else None
