"""A cart's buyer, its shipping region and its purchases of purchase-limited SKUs, read on
a connection the caller holds: the checkout snapshot's orders read, alone
(``cart_buyer``) or inside the cart write a request makes anyway (the cart, its address,
the checkout's claim), which then costs no call of its own."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, literal, select
from sqlalchemy.ext.asyncio import AsyncConnection

from sources.common import lean

from . import models as m
from .order_queries import purchased_on
from .records import CartBuyer, Customer, Region

# Built once: a statement kept between calls keeps its SQLAlchemy cache key, so a call
# pays neither building it nor the key.
CUSTOMERS_BY_IDS = select(m.Customer).where(m.Customer.id.in_(bindparam("ids", expanding=True)))
REGIONS_BY_CODES = select(m.Region).where(m.Region.code.in_(bindparam("codes", expanding=True)))

# The customer and the region in one statement when a call wants both (the checkout's usual
# case): two outer joins onto a one-row base, so each is absent or one row, independently
# of the other (the keys are unique). The same rows as the two reads above.
_ONE = select(literal(1).label("one")).subquery("one_row")
CUSTOMER_AND_REGION: Any = (
    select(
        m.Customer.id.label("customer_id"),
        m.Customer.email,
        m.Customer.name.label("customer_name"),
        m.Customer.is_blocked,
        m.Region.code,
        m.Region.country,
        m.Region.name.label("region_name"),
        m.Region.is_deliverable,
        m.Region.shipping_rate,
    )
    .select_from(_ONE)
    .outerjoin(m.Customer, m.Customer.id == bindparam("customer_id"))
    .outerjoin(m.Region, m.Region.code == bindparam("region_code"))
)


async def buyer_on(
    conn: AsyncConnection,
    customer_id: int | None,
    region_code: str | None,
    limited_sku_ids: Sequence[int] = (),
) -> CartBuyer:
    """The customer and the region (one statement when both are asked for), then the
    purchases (when there is a buyer and a limit); the same records as the single-purpose
    reads."""
    customer = None
    region = None
    if customer_id and region_code:
        params = {"customer_id": customer_id, "region_code": region_code}
        for r in await lean.execute(conn, CUSTOMER_AND_REGION, params):
            if r.customer_id is not None:
                customer = Customer(r.customer_id, r.email, r.customer_name, r.is_blocked)
            if r.code is not None:
                region = Region(r.code, r.country, r.region_name, r.is_deliverable, r.shipping_rate)
    elif customer_id:
        for r in await lean.execute(conn, CUSTOMERS_BY_IDS, {"ids": [customer_id]}):
            customer = Customer(r.id, r.email, r.name, r.is_blocked)
    elif region_code:
        for g in await lean.execute(conn, REGIONS_BY_CODES, {"codes": [region_code]}):
            region = Region(g.code, g.country, g.name, g.is_deliverable, g.shipping_rate)
    purchased = (
        await purchased_on(conn, customer_id, limited_sku_ids)
        if customer_id and limited_sku_ids
        else {}
    )
    return CartBuyer(customer, region, purchased)
