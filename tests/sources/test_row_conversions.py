"""Per-row conversions the large listing pays per product and per SKU (bench/RESULTS.md,
"Issue 17, pass h22x"): the fast forms give exactly what the generic ones gave."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import TypeDecorator
from sqlalchemy.dialects import postgresql, sqlite

from sources.common.types import UTCDateTime
from sources.inventory.records import StockLevel, WarehouseStock


def _generic(dialect: object) -> object:
    """The decorator's own chain: SQLite's parser, then ``process_result_value``."""
    adapted = UTCDateTime().dialect_impl(dialect)  # type: ignore[arg-type]
    return TypeDecorator.result_processor(adapted, dialect, None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "stored",
    [
        "2026-12-06 11:58:19.123456",
        "2026-12-06 00:00:00.000000",
        "1999-01-31 23:59:59.999999",
        "2026-12-06 11:58:19",  # not the stored shape: the generic way
        "2026-12-06",
        None,
    ],
)
def test_sqlite_datetimes_read_as_the_generic_chain_reads_them(stored: str | None) -> None:
    dialect = sqlite.dialect()
    fast = UTCDateTime()._cached_result_processor(dialect, None)
    generic = _generic(dialect)
    assert fast is not None and callable(generic)
    got, want = fast(stored), generic(stored)
    assert got == want and type(got) is type(want)
    if got is not None:
        assert got.tzinfo is UTC and got.isoformat() == want.isoformat()


def test_other_dialects_keep_the_generic_chain() -> None:
    processor = UTCDateTime()._cached_result_processor(postgresql.dialect(), None)
    aware = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    assert processor is None or processor(aware) == aware


@pytest.mark.parametrize(
    "warehouses,supplier",
    [
        ((), 0),
        ((WarehouseStock("A", 5, 2),), 0),
        ((WarehouseStock("A", 5, 7), WarehouseStock("B", 3, 0)), 4),  # one oversold
        ((WarehouseStock("A", 0, 0), WarehouseStock("B", -2, 1)), 2),
    ],
)
def test_stock_available_is_each_warehouse_floored_at_zero_then_summed(
    warehouses: tuple[WarehouseStock, ...], supplier: int
) -> None:
    level = StockLevel(1, warehouses, supplier)
    per_warehouse = sum(max(w.on_hand - w.reserved, 0) for w in warehouses)
    assert level.warehouse_available == per_warehouse
    assert level.available == per_warehouse + supplier
    assert level.in_stock is (per_warehouse + supplier > 0)
