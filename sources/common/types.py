"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Dialect, Numeric
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in and out; SQLite would otherwise hand back naive values."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        stored: datetime = value
        if stored.tzinfo is None:
            return stored.replace(tzinfo=UTC)
        return stored.astimezone(UTC)

    def result_processor(
        self, dialect: Dialect, coltype: object
    ) -> Callable[[Any], datetime | None] | None:
        """On SQLite, one call per value for the text SQLAlchemy stores
        (``YYYY-MM-DD HH:MM:SS.ffffff``, naive UTC): ``fromisoformat`` of it with ``+00:00``
        gives the same aware value (``UTC`` itself as its tzinfo). The generic chain (the
        decorator's call, SQLite's parser, ``process_result_value``'s keyword ``replace``)
        costs about 1.0 µs a value against 0.2, and a 250-product page has 250 of them
        and 1,000 NULLs (bench/RESULTS.md, "Issue 17, pass h22x"). Any other text
        goes the generic way."""
        generic = super().result_processor(dialect, coltype)
        if dialect.name != "sqlite" or generic is None:
            return generic
        fromisoformat = datetime.fromisoformat

        def process(value: Any) -> datetime | None:
            if value is None:
                return None
            if type(value) is str and len(value) == 26 and value[10] == " ":
                try:
                    return fromisoformat(value + "+00:00")
                except ValueError:
                    pass
            return generic(value)

        return process


def MoneyColumn() -> Numeric[Any]:
    """Amounts with two decimals, returned as Decimal (SQLite stores them as text-safe numeric)."""
    return Numeric(12, 2, asdecimal=True)


def utcnow() -> datetime:
    return datetime.now(UTC)
