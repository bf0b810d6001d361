"""The shop query: the profile ``gateway init`` saved, with the currency and threshold in
force (the environment may override them)."""

from ..i18n.settings import LanguageSettings
from ..schema.common import Info, Money
from ..schema.shop import Shop, ShopRegion, shop_regions

# Region names where no profile says which languages: English, then Chinese.
DEFAULT_LANGUAGES = ["en", "zh-CN"]


async def shop(info: Info) -> Shop | None:
    """Null until the shop was set up with `gateway init` (the demo shop is not)."""
    profile = await info.context.sources.orders.shop_profile()
    if profile is None:
        return None
    settings = info.context.settings  # what is in force: the environment may override
    return Shop(
        name=profile.name,
        currency=settings.currency,
        # In force: the profile's unless GATEWAY_LANGUAGES / GATEWAY_DEFAULT_LANGUAGE say
        # otherwise; the first is what a request without Accept-Language is answered in.
        languages=_in_force(settings.languages),
        free_shipping_over=Money.of(settings.free_shipping_over, settings.currency),
    )


def _in_force(languages: LanguageSettings) -> list[str]:
    return [languages.default, *(x for x in languages.offered if x != languages.default)]


async def shipping_regions(info: Info) -> list[ShopRegion]:
    """As shop.regions, also before `gateway init` (the demo shop has regions, no profile):
    an address form needs them either way."""
    profile = await info.context.sources.orders.shop_profile()
    languages = list(profile.languages) if profile is not None else DEFAULT_LANGUAGES
    return await shop_regions(info, languages)
