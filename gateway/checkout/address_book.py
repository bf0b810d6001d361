"""A customer's address book: what an entry must hold. Rules only; the orders source keeps
each book its owner's alone, and a new cart starts at the default (checkout/carts.py)."""

from __future__ import annotations

from sources.orders.records import Address

from ..errors import Problem, UserErrorCode
from ..sources import Sources
from . import addresses
from .carts import address_problems

# The orders source's column widths: longer is refused here, not by the database.
MAX_LENGTHS = {
    "name": 200,
    "phone": 32,
    "country": 2,
    # region: what is stored is its code (checkout/addresses.py), whatever name was typed
    "city": 100,
    "line1": 300,
    "postal_code": 16,
}
FIELD_NAMES = {"postal_code": "postalCode"}


def entry_problems(address: Address, field: str = "address") -> list[Problem]:
    """Everything wrong with an address-book entry, each on its field."""
    problems = [
        Problem(p.code, p.message, (field, *(p.field or ())[1:])) for p in address_problems(address)
    ]
    reported = {p.field for p in problems}
    for name, limit in MAX_LENGTHS.items():
        value = getattr(address, name)
        shown = FIELD_NAMES.get(name, name)
        if value is not None and len(value) > limit and (field, shown) not in reported:
            problems.append(
                Problem(
                    UserErrorCode.INVALID_INPUT,
                    f"{shown} is at most {limit} characters",
                    (field, shown),
                )
            )
    return problems


async def checked_entry(
    sources: Sources, address: Address, field: str = "address"
) -> tuple[Address, list[Problem]]:
    """The entry with its region as the code (addresses.checked), problems on ``field``."""
    address, problems = await addresses.checked(sources, address)
    return address, [Problem(p.code, p.message, (field, *(p.field or ())[1:])) for p in problems]
