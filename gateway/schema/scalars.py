"""Strawberry's Decimal, except that a signalling NaN (``"sNaN"``) arrives as a quiet one.
Python raises on any comparison with a signalling NaN, even ``==``, so one in
``expectedTotal`` crashed the checkout (found by tests/fuzz). A quiet NaN is refused by the
same rules as any other nonsense amount (a userError, PRICE_CHANGED, BAD_USER_INPUT)."""

from __future__ import annotations

import dataclasses
import decimal

from strawberry.schema.types.base_scalars import DecimalDefinition, wrap_parser
from strawberry.types.scalar import ScalarDefinition


def _quiet_decimal(value: str) -> decimal.Decimal:
    parsed = decimal.Decimal(value)
    return decimal.Decimal("NaN") if parsed.is_snan() else parsed


QUIET_DECIMAL: ScalarDefinition = dataclasses.replace(
    DecimalDefinition,
    parse_value=wrap_parser(
        _quiet_decimal,
        "Decimal",
        exceptions=(decimal.DecimalException,),
        include_error=False,
        accept_non_string=True,
    ),
)
SCALAR_OVERRIDES = {decimal.Decimal: QUIET_DECIMAL}
