"""Scalars stricter than strawberry's: a Decimal input must be a finite number. ``NaN``,
``sNaN`` and ``Infinity`` parse as Decimals yet are no amount of money (comparing a
signalling NaN even raises); refusing them at coercion makes them a variables error the
client can read, never an internal one."""

from __future__ import annotations

import dataclasses
import decimal

from strawberry.schema.types.base_scalars import DecimalDefinition, wrap_parser
from strawberry.types.scalar import ScalarDefinition


def _finite_decimal(value: str) -> decimal.Decimal:
    parsed = decimal.Decimal(value)
    if not parsed.is_finite():
        raise decimal.InvalidOperation(f"{value!r} is not a finite number")
    return parsed


FINITE_DECIMAL: ScalarDefinition = dataclasses.replace(
    DecimalDefinition,
    parse_value=wrap_parser(
        _finite_decimal,
        "Decimal",
        exceptions=(decimal.DecimalException,),
        include_error=False,
        accept_non_string=True,
    ),
)
SCALAR_OVERRIDES = {decimal.Decimal: FINITE_DECIMAL}
