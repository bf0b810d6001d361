"""The buyer joined onto a read of one cart: what the checkout's own reads of a cart (the
claim's, the address's) bring along instead of a ``buyers.buyer_on`` statement after them.
A module of its own because the cart modules that use it are imported by ``buyers``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, bindparam

from sources.common.models import table_of

from . import models as m
from .records import CartBuyer, Customer, Region

_CUSTOMERS, _REGIONS = table_of(m.Customer), table_of(m.Region)
# The buyer joined onto a read of one cart (``carts`` in its FROM clause): the customer
# ``p_customer_id`` and the region of the cart's address, each one row or none (unique
# keys), labelled buyer_* and region_*. buyer_from_row makes buyer_on's records of them.
BUYER_COLUMNS = (
    _CUSTOMERS.c.id.label("buyer_id"),
    _CUSTOMERS.c.email.label("buyer_email"),
    _CUSTOMERS.c.name.label("buyer_name"),
    _CUSTOMERS.c.is_blocked.label("buyer_is_blocked"),
    _REGIONS.c.code.label("region_code"),
    _REGIONS.c.country.label("region_country"),
    _REGIONS.c.name.label("region_name"),
    _REGIONS.c.is_deliverable.label("region_is_deliverable"),
    _REGIONS.c.shipping_rate.label("region_shipping_rate"),
)


def join_buyer(cart_from: Any, carts: Table) -> Any:
    """``cart_from`` (a FROM clause holding ``carts``) with the buyer's two outer joins."""
    return cart_from.outerjoin(_CUSTOMERS, _CUSTOMERS.c.id == bindparam("p_customer_id")).outerjoin(
        _REGIONS, _REGIONS.c.code == carts.c.ship_region
    )


def buyer_from_row(row: Any) -> CartBuyer:
    """The customer and the region a joined read found (``buyer_on``'s records; no
    purchases: which SKUs have a limit is the catalog's to say)."""
    customer = (
        Customer(row.buyer_id, row.buyer_email, row.buyer_name, row.buyer_is_blocked)
        if row.buyer_id is not None
        else None
    )
    region = (
        Region(
            row.region_code,
            row.region_country,
            row.region_name,
            row.region_is_deliverable,
            row.region_shipping_rate,
        )
        if row.region_code is not None
        else None
    )
    return CartBuyer(customer, region, {})
