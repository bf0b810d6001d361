"""Customers: found or created from the identity provider's subject, their address books,
the back office's listing and search, blocking.

Sign-up happens at the identity provider alone: the first valid token with an unseen
subject creates the customer, and the unique ``subject`` column makes two first requests at
once create one (the loser's INSERT does nothing; both read the winner's row). Every address
write names its customer in its WHERE clause, so one customer can never touch another's.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from sources.common.audit import write_audit
from sources.common.db import Database
from sources.common.pagination import decode_cursor, encode_cursor

from . import models as m
from .dialect import upsert_insert
from .errors import CustomerEmailTaken
from .records import Address, Customer, CustomerAddress, CustomerPage

MAX_ADDRESSES = 20
_SORT = "CUSTOMERS_NEWEST"


def customer_from_row(row: Any) -> Customer:
    return Customer(row.id, row.email, row.name, row.is_blocked)


async def customers_by_subjects(db: Database, subjects: Sequence[str]) -> dict[str, Customer]:
    async with db.connect() as conn:
        rows = await conn.execute(select(m.Customer).where(m.Customer.subject.in_(set(subjects))))
        return {r.subject: customer_from_row(r) for r in rows}


async def customer_for_subject(
    db: Database, *, subject: str, email: str, name: str, email_verified: bool, now: datetime
) -> Customer:
    """The customer of ``subject``, created on first use. Raises CustomerEmailTaken when
    the email is another customer's (linked instead when ``email_verified`` and that
    customer has no subject yet: a shop that made its customers before moving sign-in to
    the identity provider keeps their orders)."""
    email = email.strip().lower()
    async with db.begin() as conn:
        found = await _by_subject(conn, subject)
        if found is not None:
            return found
        insert = upsert_insert(conn, m.Customer).values(
            email=email, name=name, is_blocked=False, created_at=now, subject=subject
        )
        try:
            async with conn.begin_nested():
                # A racing first request's row makes this a no-op (after waiting for it).
                await conn.execute(insert.on_conflict_do_nothing(index_elements=["subject"]))
        except IntegrityError:
            taken = await conn.scalar(select(m.Customer.id).where(m.Customer.email == email))
            if taken is None:
                raise  # not the email: a bug worth its traceback
        found = await _by_subject(conn, subject)
        if found is not None:
            return found
        if email_verified:
            await conn.execute(
                update(m.Customer)
                .where(m.Customer.email == email, m.Customer.subject.is_(None))
                .values(subject=subject)
            )
            found = await _by_subject(conn, subject)
            if found is not None:
                return found
    raise CustomerEmailTaken(email)


async def _by_subject(conn: AsyncConnection, subject: str) -> Customer | None:
    row = (await conn.execute(select(m.Customer).where(m.Customer.subject == subject))).first()
    return customer_from_row(row) if row is not None else None


# Address book


def _address(row: Any) -> CustomerAddress:
    return CustomerAddress(
        id=row.id,
        customer_id=row.customer_id,
        address=Address(
            name=row.name,
            phone=row.phone,
            country=row.country,
            region=row.region,
            city=row.city,
            line1=row.line1,
            postal_code=row.postal_code,
        ),
        is_default=row.is_default,
    )


def _columns(address: Address) -> dict[str, str | None]:
    return {
        "name": address.name,
        "phone": address.phone,
        "country": address.country,
        "region": address.region,
        "city": address.city,
        "line1": address.line1,
        "postal_code": address.postal_code,
    }


async def addresses_by_customer_ids(
    db: Database, customer_ids: Sequence[int]
) -> dict[int, list[CustomerAddress]]:
    """Every customer asked for gets a list: the default first, then oldest first."""
    found: dict[int, list[CustomerAddress]] = defaultdict(list)
    async with db.connect() as conn:
        rows = await conn.execute(
            select(m.Address)
            .where(m.Address.customer_id.in_(set(customer_ids)))
            .order_by(m.Address.customer_id, m.Address.is_default.desc(), m.Address.id)
        )
        for row in rows:
            found[row.customer_id].append(_address(row))
    return {cid: found.get(cid, []) for cid in customer_ids}


async def create_address(
    db: Database, customer_id: int, address: Address, *, is_default: bool
) -> CustomerAddress | None:
    """None when the book is full (``MAX_ADDRESSES``). A customer's first address is their
    default whatever was asked: a book with entries always has one."""
    async with db.begin() as conn:
        count = await conn.scalar(
            select(func.count()).select_from(m.Address).where(m.Address.customer_id == customer_id)
        )
        if (count or 0) >= MAX_ADDRESSES:
            return None
        is_default = is_default or not count
        if is_default:
            await _clear_default(conn, customer_id)
        new_id = await conn.scalar(
            insert(m.Address)
            .values(customer_id=customer_id, is_default=is_default, **_columns(address))
            .returning(m.Address.id)
        )
        return await _one(conn, customer_id, int(new_id or 0))


async def update_address(
    db: Database,
    customer_id: int,
    address_id: int,
    address: Address | None,
    *,
    is_default: bool | None,
) -> CustomerAddress | None:
    """None when the address is not this customer's. ``is_default=False`` on the default is
    ignored: the default moves by making another address the default."""
    async with db.begin() as conn:
        current = await _one(conn, customer_id, address_id)
        if current is None:
            return None
        values: dict[str, object] = dict(_columns(address)) if address is not None else {}
        if is_default and not current.is_default:
            await _clear_default(conn, customer_id)
            values["is_default"] = True
        if values:
            await conn.execute(
                update(m.Address)
                .where(m.Address.id == address_id, m.Address.customer_id == customer_id)
                .values(**values)
            )
        return await _one(conn, customer_id, address_id)


async def delete_address(db: Database, customer_id: int, address_id: int) -> bool:
    """False when the address is not this customer's. Deleting the default makes the
    oldest remaining address the default."""
    async with db.begin() as conn:
        current = await _one(conn, customer_id, address_id)
        if current is None:
            return False
        await conn.execute(
            delete(m.Address).where(
                m.Address.id == address_id, m.Address.customer_id == customer_id
            )
        )
        if current.is_default:
            oldest = await conn.scalar(
                select(func.min(m.Address.id)).where(m.Address.customer_id == customer_id)
            )
            if oldest is not None:
                await conn.execute(
                    update(m.Address).where(m.Address.id == oldest).values(is_default=True)
                )
        return True


async def _clear_default(conn: AsyncConnection, customer_id: int) -> None:
    await conn.execute(
        update(m.Address)
        .where(m.Address.customer_id == customer_id, m.Address.is_default.is_(True))
        .values(is_default=False)
    )


async def _one(conn: AsyncConnection, customer_id: int, address_id: int) -> CustomerAddress | None:
    row = (
        await conn.execute(
            select(m.Address).where(
                m.Address.id == address_id, m.Address.customer_id == customer_id
            )
        )
    ).first()
    return _address(row) if row is not None else None


# Back office


async def list_customers(
    db: Database, *, first: int, after: str | None, search: str | None
) -> CustomerPage:
    """Newest first (by id), keyset-paged; ``search`` matches email or name, any case."""
    conditions = []
    if search and search.strip():
        pattern = f"%{_escape_like(search.strip().lower())}%"
        conditions.append(
            or_(
                func.lower(m.Customer.email).like(pattern, escape="\\"),
                func.lower(m.Customer.name).like(pattern, escape="\\"),
            )
        )
    async with db.connect() as conn:
        total = await conn.scalar(select(func.count()).select_from(m.Customer).where(*conditions))
        query = select(m.Customer).where(*conditions)
        if after is not None:
            _, after_id = decode_cursor(after, _SORT)
            query = query.where(m.Customer.id < after_id)
        rows = (await conn.execute(query.order_by(m.Customer.id.desc()).limit(first + 1))).all()
    page = [customer_from_row(r) for r in rows[:first]]
    return CustomerPage(
        customers=page,
        cursors=[encode_cursor(_SORT, None, c.id) for c in page],
        has_next_page=len(rows) > first,
        total_count=int(total or 0),
    )


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def set_customer_blocked(
    db: Database, customer_id: int, *, blocked: bool, actor: str, reason: str, now: datetime
) -> Customer | None:
    """Block or unblock, audited with before/after in the same transaction; None when no
    such customer. Setting what is already set writes nothing (no audit entry either)."""
    async with db.begin() as conn:
        row = (await conn.execute(select(m.Customer).where(m.Customer.id == customer_id))).first()
        if row is None:
            return None
        before = customer_from_row(row)
        if before.is_blocked == blocked:
            return before
        await conn.execute(
            update(m.Customer).where(m.Customer.id == customer_id).values(is_blocked=blocked)
        )
        await write_audit(
            conn,
            m.AuditEntry,
            at=now,
            actor=actor,
            action="customer.block" if blocked else "customer.unblock",
            entity_type="customer",
            entity_id=customer_id,
            before={"is_blocked": before.is_blocked},
            after={"is_blocked": blocked},
            reason=reason,
        )
        return Customer(before.id, before.email, before.name, blocked)
