"""A shipping address as the ``ship_*`` columns that carts and orders both carry."""

from __future__ import annotations

from typing import Any

from .records import Address


def address_values(address: Address | None) -> dict[str, str | None]:
    """Column values for ``address``; all None clears it."""
    return {
        "ship_name": address.name if address else None,
        "ship_phone": address.phone if address else None,
        "ship_country": address.country if address else None,
        "ship_region": address.region if address else None,
        "ship_city": address.city if address else None,
        "ship_line1": address.line1 if address else None,
        "ship_postal_code": address.postal_code if address else None,
    }


def address_from_row(row: Any) -> Address | None:
    c = row._mapping  # by name, not as attributes (order_queries.py's _order_line)
    if c["ship_name"] is None:
        return None
    return Address(
        name=c["ship_name"],
        phone=c["ship_phone"],
        country=c["ship_country"],
        region=c["ship_region"],
        city=c["ship_city"],
        line1=c["ship_line1"],
        postal_code=c["ship_postal_code"],
    )
