"""Who is asking, as a customer."""

from __future__ import annotations

from ..schema.common import Info
from ..schema.orders import Customer


async def viewer(info: Info) -> Customer | None:
    """The signed-in customer; null when anonymous, staff, or the customer no longer exists."""
    customer_id = info.context.viewer.customer_id
    if customer_id is None:
        return None
    record = await info.context.loaders.orders.customer.load(customer_id)
    return Customer.from_record(record) if record else None
