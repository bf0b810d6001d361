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
    if row.ship_name is None:
        return None
    return Address(
        name=row.ship_name,
        phone=row.ship_phone,
        country=row.ship_country,
        region=row.ship_region,
        city=row.ship_city,
        line1=row.ship_line1,
        postal_code=row.ship_postal_code,
    )
