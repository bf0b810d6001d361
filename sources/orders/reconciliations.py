"""Each provider's reconciled bill days: one row per (provider, day), replaced when the day
is reconciled again, its differences kept as a JSON list."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from sources.common.db import Database

from . import models as m
from .dialect import upsert_insert
from .records import PaymentReconciliation, ReconciliationDifference


def _difference_json(d: ReconciliationDifference) -> dict[str, Any]:
    return {
        "kind": d.kind,
        "out_trade_no": d.out_trade_no,
        "request_no": d.request_no,
        "shop_amount": None if d.shop_amount is None else str(d.shop_amount),
        "bill_amount": None if d.bill_amount is None else str(d.bill_amount),
        "note": d.note,
    }


def _difference(raw: dict[str, Any]) -> ReconciliationDifference:
    def money(value: str | None) -> Decimal | None:
        return None if value is None else Decimal(value)

    return ReconciliationDifference(
        kind=raw["kind"],
        out_trade_no=raw["out_trade_no"],
        request_no=raw.get("request_no"),
        shop_amount=money(raw.get("shop_amount")),
        bill_amount=money(raw.get("bill_amount")),
        note=raw.get("note", ""),
    )


async def record_reconciliation(db: Database, reconciliation: PaymentReconciliation) -> None:
    values = {
        "provider": reconciliation.provider,
        "day": reconciliation.day.isoformat(),
        "ran_at": reconciliation.ran_at,
        "payments_matched": reconciliation.payments_matched,
        "refunds_matched": reconciliation.refunds_matched,
        "differences": json.dumps([_difference_json(d) for d in reconciliation.differences]),
    }
    async with db.begin() as conn:
        statement = upsert_insert(conn, m.PaymentReconciliation.__table__).values(**values)
        await conn.execute(
            statement.on_conflict_do_update(
                index_elements=["provider", "day"],
                set_={k: v for k, v in values.items() if k not in ("provider", "day")},
            )
        )


async def reconciliations_between(
    db: Database, *, day_from: date, day_to: date, providers: Sequence[str] | None = None
) -> list[PaymentReconciliation]:
    """Days in [day_from, day_to), by day then provider."""
    query = select(m.PaymentReconciliation).where(
        m.PaymentReconciliation.day >= day_from.isoformat(),
        m.PaymentReconciliation.day < day_to.isoformat(),
    )
    if providers is not None:
        query = query.where(m.PaymentReconciliation.provider.in_(list(providers)))
    async with db.connect() as conn:
        rows = await conn.execute(
            query.order_by(m.PaymentReconciliation.day, m.PaymentReconciliation.provider)
        )
        return [
            PaymentReconciliation(
                provider=row.provider,
                day=date.fromisoformat(row.day),
                ran_at=row.ran_at,
                payments_matched=row.payments_matched,
                refunds_matched=row.refunds_matched,
                differences=tuple(_difference(d) for d in json.loads(row.differences)),
            )
            for row in rows
        ]
