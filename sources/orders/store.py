"""OrdersStore: customers, staff and delivery regions in batches."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from sources.common.db import Database

from . import models as m
from .records import Customer, Region, StaffMember


class OrdersStore:
    source = "orders"

    def __init__(self, db: Database) -> None:
        self.db = db

    async def customers_by_ids(self, ids: Sequence[int]) -> dict[int, Customer]:
        async with self.db.connect() as conn:
            rows = await conn.execute(select(m.Customer).where(m.Customer.id.in_(set(ids))))
            return {r.id: Customer(r.id, r.email, r.name, r.is_blocked) for r in rows}

    async def customers_by_emails(self, emails: Sequence[str]) -> dict[str, Customer]:
        async with self.db.connect() as conn:
            rows = await conn.execute(
                select(m.Customer).where(m.Customer.email.in_({e.lower() for e in emails}))
            )
            return {r.email: Customer(r.id, r.email, r.name, r.is_blocked) for r in rows}

    async def staff_by_emails(self, emails: Sequence[str]) -> dict[str, StaffMember]:
        async with self.db.connect() as conn:
            rows = await conn.execute(
                select(m.StaffMember).where(m.StaffMember.email.in_({e.lower() for e in emails}))
            )
            return {
                r.email: StaffMember(
                    r.id, r.email, r.name, tuple(p for p in r.permissions.split(",") if p)
                )
                for r in rows
            }

    async def regions(self) -> list[Region]:
        async with self.db.connect() as conn:
            rows = await conn.execute(select(m.Region).order_by(m.Region.code))
            return [
                Region(r.code, r.country, r.name, r.is_deliverable, r.shipping_rate) for r in rows
            ]
