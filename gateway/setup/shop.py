"""``gateway init`` and how the shop's profile meets the environment.

Where each essential lives: delivery regions and rates in the orders source (the checkout
reads them there), warehouses in the inventory source (reservations read them there), the
shop's name, currency, languages and free-shipping threshold in the orders source's
``shop_profile`` row. The gateway reads that row when it starts (``with_shop_profile``):
it fills ``GATEWAY_CURRENCY``, ``GATEWAY_FREE_SHIPPING_OVER`` and the languages
(``GATEWAY_LANGUAGES``, ``GATEWAY_DEFAULT_LANGUAGE``) unless the environment sets them,
so a shop set up with ``gateway init`` needs no currency variable, and an operator who
sets one keeps the last word.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sources.orders.records import ShopProfile

from ..i18n.settings import LanguageSettings
from ..settings import Settings
from ..sources import Sources
from .shop_file import ShopFile


async def apply_shop_file(sources: Sources, shop: ShopFile) -> list[str]:
    """Write the file's essentials, idempotently; one line per kind of thing."""
    now = datetime.now(UTC)
    changed = await sources.orders.save_shop_profile(shop.profile, now)
    regions = await sources.orders.save_regions(shop.regions)
    warehouses = await sources.inventory.save_warehouses(shop.warehouses)
    profile = shop.profile
    return [
        f"shop: {profile.name} ({profile.currency}; {', '.join(profile.languages)}) "
        + ("saved" if changed else "unchanged"),
        f"regions: {regions.added} added, {regions.changed} changed, {regions.unchanged} unchanged",
        f"warehouses: {warehouses.added} added, {warehouses.changed} changed, "
        f"{warehouses.unchanged} unchanged",
    ]


def with_shop_profile(settings: Settings, profile: ShopProfile | None) -> Settings:
    """Settings with the profile's currency and free-shipping threshold where the
    environment left them at their defaults."""
    if profile is None:
        return settings
    update: dict[str, object] = {}
    explicit = settings.model_fields_set
    if "currency" not in explicit:
        update["currency"] = profile.currency
    if "free_shipping_over" not in explicit and profile.free_shipping_over is not None:
        update["free_shipping_over"] = profile.free_shipping_over
    languages = _profile_languages(settings.languages, profile)
    if languages is not settings.languages:
        update["languages"] = languages
    return settings.model_copy(update=update) if update else settings


def _profile_languages(settings: LanguageSettings, profile: ShopProfile) -> LanguageSettings:
    """The profile's languages (first the default, as ``shop { languages }`` says) where
    GATEWAY_LANGUAGES and GATEWAY_DEFAULT_LANGUAGE are unset; a default the environment
    names is offered even if the profile does not list it."""
    if not profile.languages:
        return settings
    explicit = settings.model_fields_set
    offered = settings.offered if "offered" in explicit else tuple(profile.languages)
    default = settings.default if "default" in explicit else offered[0]
    if default not in offered:
        offered = (default, *offered)
    if (default, offered) == (settings.default, settings.offered):
        return settings
    return LanguageSettings(default=default, offered=offered)
