"""Rows for the orders source: delivery regions, the demo customers with an address each,
and the back-office staff accounts."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from .shop_data import (
    COUNTRY,
    DELIVERABLE_REGIONS,
    DEMO_CUSTOMER_COUNT,
    DEMO_STAFF,
    FIRST_CUSTOMER_REGIONS,
    GIVEN_NAMES,
    MOBILE_PREFIXES,
    REGIONS,
    STREETS,
    SURNAMES,
    demo_customer_email,
)

Row = dict[str, Any]


def region_rows() -> list[Row]:
    return [
        {
            "code": r.code,
            "country": COUNTRY,
            "name": r.name,
            "is_deliverable": r.shipping_rate is not None,
            "shipping_rate": r.shipping_rate,
        }
        for r in REGIONS
    ]


def customer_rows(
    rng: random.Random, now: datetime, count: int = DEMO_CUSTOMER_COUNT
) -> tuple[list[Row], list[Row]]:
    """``customers`` and ``addresses``: customer1..50, lower numbers joined earlier, each
    with one default address in a deliverable region; customer50 is blocked. ``count``
    above 50 adds customer51.. (for crowds such as bench.flash_sale's), drawn after the 50
    so those stay exactly as they are, all joined in the last 30 days and none blocked."""
    if count < DEMO_CUSTOMER_COUNT:
        raise ValueError(f"the demo shop has at least {DEMO_CUSTOMER_COUNT} customers")
    ages = sorted(rng.sample(range(30, 730), DEMO_CUSTOMER_COUNT), reverse=True)
    ages += [rng.randrange(30) for _ in range(count - DEMO_CUSTOMER_COUNT)]
    by_code = {r.code: r for r in DELIVERABLE_REGIONS}
    customers: list[Row] = []
    addresses: list[Row] = []
    for number, age in enumerate(ages, start=1):
        name = f"{rng.choice(SURNAMES)} {rng.choice(GIVEN_NAMES)}"
        if number <= len(FIRST_CUSTOMER_REGIONS):
            region = by_code[FIRST_CUSTOMER_REGIONS[number - 1]]
        else:
            region = rng.choice(DELIVERABLE_REGIONS)
        customers.append(
            {
                "id": number,
                "email": demo_customer_email(number),
                "name": name,
                "is_blocked": number == DEMO_CUSTOMER_COUNT,
                "created_at": now - timedelta(days=age, seconds=rng.randrange(86_400)),
            }
        )
        addresses.append(
            {
                "id": number,
                "customer_id": number,
                "name": name,
                "phone": rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}",
                "country": COUNTRY,
                "region": region.code,
                "city": region.city,
                "line1": _street_address(rng),
                "postal_code": region.postal_code,
                "is_default": True,
            }
        )
    return customers, addresses


def staff_rows() -> list[Row]:
    return [
        {
            "id": n,
            "email": member.email,
            "name": member.name,
            "permissions": ",".join(member.permissions),
        }
        for n, member in enumerate(DEMO_STAFF, start=1)
    ]


def _street_address(rng: random.Random) -> str:
    street = f"{rng.randint(1, 999)} {rng.choice(STREETS)}"
    room = f"{rng.randint(1, 32)}{rng.randint(1, 8):02d}"  # floor and door: "1203"
    return f"{street}, Building {rng.randint(1, 30)}, Room {room}"
