"""The shop query: the profile ``gateway init`` saved, with the currency and threshold in
force (the environment may override them)."""

from __future__ import annotations

from ..schema.common import Info, Money
from ..schema.shop import Shop


async def shop(info: Info) -> Shop | None:
    """Null until the shop was set up with `gateway init` (the demo shop is not)."""
    profile = await info.context.sources.orders.shop_profile()
    if profile is None:
        return None
    settings = info.context.settings  # what is in force: the environment may override
    return Shop(
        name=profile.name,
        currency=settings.currency,
        languages=list(profile.languages),
        free_shipping_over=Money.of(settings.free_shipping_over, settings.currency),
    )
