"""Strawberry's Decimal, except that a signalling NaN (``"sNaN"``) arrives as a quiet one.
Python raises on any comparison with a signalling NaN, even ``==``, so one in
``expectedTotal`` crashed the checkout (found by tests/fuzz). A quiet NaN is refused by the
same rules as any other nonsense amount (a userError, PRICE_CHANGED, BAD_USER_INPUT)."""

import dataclasses
import datetime
import decimal

from strawberry.schema.types.base_scalars import (
    DateDefinition,
    DateTimeDefinition,
    DecimalDefinition,
    wrap_parser,
)
from strawberry.types.scalar import ScalarDefinition


def _quiet_decimal(value: str) -> decimal.Decimal:
    parsed = decimal.Decimal(value)
    return decimal.Decimal("NaN") if parsed.is_snan() else parsed


QUIET_DECIMAL: ScalarDefinition = dataclasses.replace(
    DecimalDefinition,
    description='An exact decimal number as a string, e.g. "199.00"; money is never a float. '
    "Amounts carry their currency beside them (Money.currency).",
    parse_value=wrap_parser(
        _quiet_decimal,
        "Decimal",
        exceptions=(decimal.DecimalException,),
        include_error=False,
        accept_non_string=True,
    ),
)
# Only the words change: a client reads the scalar's format in the docs pane.
UTC_DATETIME: ScalarDefinition = dataclasses.replace(
    DateTimeDefinition,
    description="A moment as an ISO 8601 string with its offset, e.g. "
    '"2026-03-01T08:00:00+00:00"; the shop answers in UTC, and an argument in any offset '
    "is read as that moment.",
)
ISO_DATE: ScalarDefinition = dataclasses.replace(
    DateDefinition, description='A calendar day as an ISO 8601 string, e.g. "2026-03-01".'
)
SCALAR_OVERRIDES = {
    decimal.Decimal: QUIET_DECIMAL,
    datetime.datetime: UTC_DATETIME,
    datetime.date: ISO_DATE,
}
