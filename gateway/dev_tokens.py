"""Who a development token is for (``gateway token``): looked up in the orders source's
database, which must be migrated first."""

from __future__ import annotations

from sources.orders.records import StaffMember

from .settings import Settings


async def customer_id_by_email(settings: Settings, email: str) -> int | None:
    from sources.common.db import Database
    from sources.orders.store import OrdersStore

    from .setup.databases import require_ready

    await require_ready(settings, ["orders"])
    db = Database(settings.orders_database_url)
    try:
        found = await OrdersStore(db).customers_by_emails([email])
    finally:
        await db.dispose()
    customer = found.get(email.lower())
    return customer.id if customer else None


async def customer_subject_by_email(settings: Settings, email: str) -> str:
    """With GATEWAY_CUSTOMER_SUBJECTS=identity-provider: the customer's subject, or for an
    email the shop does not know yet a development subject, so the token's first request
    signs the customer up as an identity provider's would (or, the email being vouched for,
    links a customer the shop made itself)."""
    from sqlalchemy import select

    from sources.common.db import Database
    from sources.orders import models

    from .setup.databases import require_ready

    await require_ready(settings, ["orders"])
    db = Database(settings.orders_database_url)
    try:
        async with db.connect() as conn:
            subject = await conn.scalar(
                select(models.Customer.subject).where(models.Customer.email == email.lower())
            )
    finally:
        await db.dispose()
    return str(subject) if subject else f"dev:{email.lower()}"


async def staff_member_by_email(settings: Settings, email: str) -> StaffMember | None:
    from sources.common.db import Database
    from sources.orders.store import OrdersStore

    from .setup.databases import require_ready

    await require_ready(settings, ["orders"])
    db = Database(settings.orders_database_url)
    try:
        return (await OrdersStore(db).staff_by_emails([email])).get(email.lower())
    finally:
        await db.dispose()
