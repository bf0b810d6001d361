"""PostgreSQL: cartCreate's and the address step's writes, each one statement with the
read that follows it (data-modifying CTEs), one round trip, no BEGIN and no COMMIT.

- ``create_cart_with_buyer``: the cart, its lines (arrays, ``unnest ... WITH ORDINALITY``)
  and the buyer and region read in one statement. A cart nobody can know yet needs no
  lock; all of it is written or none (the lines' foreign key to the cart is checked at
  the end of the statement, where the cart is there).
- ``set_owned_cart_address``: the conditional UPDATE (open, the viewer's or anonymous) and
  the read of the cart as it left it, with its lines, the customer and the region of the
  new address. The lines are those of the statement's snapshot: a line another tab added
  while this UPDATE waited for the cart's row lock shows in the next read of the cart
  (every checkout step reads the cart again), not in this payload.

SQLite keeps the statements of carts.py (no network round trip there; its writes are
serialised by the writer's turn anyway).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, bindparam, column, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection

from sources.common import lean
from sources.common.models import table_of

from . import models as m
from .addresses import address_values

_CARTS = table_of(m.Cart)
_CART_LINES = table_of(m.CartLine)
_CUSTOMERS = table_of(m.Customer)
_REGIONS = table_of(m.Region)
_CART_COLUMNS = tuple(c.name for c in _CARTS.c)
_ADDRESS = tuple(address_values(None))

# The read after the write: the same columns as carts._CART_WITH_BUYER (carts_from_rows
# and buyer_joins.buyer_from_row read them), from the written cart ``c`` and lines ``l``.
_JOINED = (
    *((f"c.{name}", name, _CARTS.c[name].type) for name in _CART_COLUMNS),
    ("l.id", "line_id", _CART_LINES.c.id.type),
    ("l.sku_id", "line_sku_id", _CART_LINES.c.sku_id.type),
    ("l.quantity", "line_quantity", _CART_LINES.c.quantity.type),
    ("l.reserved_until", "line_reserved_until", _CART_LINES.c.reserved_until.type),
    ("customers.id", "buyer_id", _CUSTOMERS.c.id.type),
    ("customers.email", "buyer_email", _CUSTOMERS.c.email.type),
    ("customers.name", "buyer_name", _CUSTOMERS.c.name.type),
    ("customers.is_blocked", "buyer_is_blocked", _CUSTOMERS.c.is_blocked.type),
    ("regions.code", "region_code", _REGIONS.c.code.type),
    ("regions.country", "region_country", _REGIONS.c.country.type),
    ("regions.name", "region_name", _REGIONS.c.name.type),
    ("regions.is_deliverable", "region_is_deliverable", _REGIONS.c.is_deliverable.type),
    ("regions.shipping_rate", "region_shipping_rate", _REGIONS.c.shipping_rate.type),
)


def _read_after(lines: str) -> str:
    """The SELECT of the written cart ``c`` joined to ``lines`` (a CTE or the table)."""
    selected = ", ".join(f"{expression} AS {key}" for expression, key, _ in _JOINED)
    return f"""
SELECT {selected}
FROM c
LEFT JOIN {lines} AS l ON l.cart_id = c.id
LEFT JOIN customers ON customers.id = :buyer_customer_id
LEFT JOIN regions ON regions.code = c.ship_region
ORDER BY l.id"""


def _typed(sql: str, *binds: Any) -> Any:
    return text(sql).bindparams(*binds).columns(*(column(key, kind) for _, key, kind in _JOINED))


_CART_VALUES = (
    "id", "customer_id", "status", "coupon_codes", "created_at", "updated_at", *_ADDRESS,
)  # fmt: skip
_CREATE = _typed(
    f"""
WITH c AS (
    INSERT INTO carts ({", ".join(_CART_VALUES)})
    VALUES ({", ".join(f":{name}" for name in _CART_VALUES)})
    RETURNING {", ".join(_CART_COLUMNS)}
), written AS (
    INSERT INTO cart_lines (cart_id, sku_id, quantity)
    SELECT :id, w.sku_id, w.quantity
    FROM unnest(:l_sku_id, :l_quantity) WITH ORDINALITY AS w(sku_id, quantity, n)
    ORDER BY w.n
    RETURNING id, cart_id, sku_id, quantity, reserved_until
)"""
    + _read_after("written"),
    *(bindparam(name, type_=_CARTS.c[name].type) for name in _CART_VALUES),
    bindparam("l_sku_id", type_=ARRAY(Integer())),
    bindparam("l_quantity", type_=ARRAY(Integer())),
    bindparam("buyer_customer_id", type_=Integer()),
)
_ADDRESS_OWNED = _typed(
    f"""
WITH c AS (
    UPDATE carts SET {", ".join(f"{name} = :{name}" for name in _ADDRESS)}, updated_at = :now
    WHERE carts.id = :cart_id AND carts.status = :open
      AND (carts.customer_id IS NULL OR carts.customer_id = :viewer)
    RETURNING {", ".join(_CART_COLUMNS)}
)"""
    + _read_after("cart_lines"),
    *(bindparam(name, type_=_CARTS.c[name].type) for name in _ADDRESS),
    bindparam("now", type_=_CARTS.c.updated_at.type),
    bindparam("cart_id", type_=String()),
    bindparam("open", type_=String()),
    bindparam("viewer", type_=Integer()),
    bindparam("buyer_customer_id", type_=Integer()),
)


async def create_cart_rows(
    conn: AsyncConnection, values: dict[str, Any], lines: dict[int, int]
) -> list[Any]:
    """The new cart's rows (carts._CART_WITH_BUYER's columns, one per line or one without
    a line), on a connection outside any transaction (``Database.write_alone``).
    ``values``: the cart's columns; ``lines``: quantity by SKU."""
    params = {
        **values,
        "l_sku_id": list(lines),
        "l_quantity": list(lines.values()),
        "buyer_customer_id": values["customer_id"],
    }
    return list(await lean.execute(conn, _CREATE, params))


async def address_owned_cart_rows(
    conn: AsyncConnection,
    cart_id: str,
    customer_id: int | None,
    address: dict[str, Any],
    now: datetime,
    open_status: str,
) -> list[Any]:
    """The addressed cart's rows as for ``create_cart_rows``; none when the UPDATE was
    refused (missing, completed or another customer's: nothing written)."""
    params = {
        **address,
        "now": now,
        "cart_id": cart_id,
        "open": open_status,
        "viewer": customer_id,
        "buyer_customer_id": customer_id,
    }
    return list(await lean.execute(conn, _ADDRESS_OWNED, params))
