"""A cart's buyer, its shipping region and its purchases of purchase-limited SKUs, read on
a connection the caller holds: the checkout snapshot's orders read, alone
(``cart_buyer``) or inside the cart write a request makes anyway (the cart, its address,
the checkout's claim), which then costs no call of its own."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection

from . import models as m
from .order_queries import purchased_on
from .records import CartBuyer, Customer, Region

# Built once: a statement kept between calls keeps its SQLAlchemy cache key, so a call
# pays neither building it nor the key.
CUSTOMERS_BY_IDS = select(m.Customer).where(m.Customer.id.in_(bindparam("ids", expanding=True)))
REGIONS_BY_CODES = select(m.Region).where(m.Region.code.in_(bindparam("codes", expanding=True)))


async def buyer_on(
    conn: AsyncConnection,
    customer_id: int | None,
    region_code: str | None,
    limited_sku_ids: Sequence[int] = (),
) -> CartBuyer:
    """The customer, the region and the purchases (when there is a buyer and a limit), in
    that order, with the single-purpose reads' statements."""
    customer = None
    if customer_id:
        for r in await conn.execute(CUSTOMERS_BY_IDS, {"ids": [customer_id]}):
            customer = Customer(r.id, r.email, r.name, r.is_blocked)
    region = None
    if region_code:
        for g in await conn.execute(REGIONS_BY_CODES, {"codes": [region_code]}):
            region = Region(g.code, g.country, g.name, g.is_deliverable, g.shipping_rate)
    purchased = (
        await purchased_on(conn, customer_id, limited_sku_ids)
        if customer_id and limited_sku_ids
        else {}
    )
    return CartBuyer(customer, region, purchased)
