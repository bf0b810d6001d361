"""The shop itself, as ``gateway init`` set it up: what a storefront shows in its header,
which languages it offers, and the regions an address form lets a buyer pick."""

import strawberry

from ..checkout.addresses import known_regions, region_names
from .common import Info, Money
from .media import LocalizedText


@strawberry.type(
    description="A region an address form offers (a province, municipality or autonomous "
    "region in CN), and whether and at what rate the shop ships there."
)
class ShopRegion:
    code: str = strawberry.field(
        description="Its ISO 3166-2 code (CN-SH): what AddressInput.region stores."
    )
    country: str = strawberry.field(description="Its country, ISO 3166-1 alpha-2 (CN).")
    name: str = strawberry.field(
        description="Its name in the shop's default language (the first of shop.languages)."
    )
    names: list[LocalizedText] = strawberry.field(
        description="Its name in each of the shop's languages, e.g. zh-CN 上海市 and en "
        "Shanghai; AddressInput.region accepts any of them."
    )
    is_deliverable: bool = strawberry.field(
        description="Whether the shop delivers goods there; an address elsewhere is accepted, "
        "but checkout answers REGION_NOT_DELIVERABLE."
    )
    shipping_rate: Money | None = strawberry.field(
        description="Shipping to it per order, in the shop's currency (free at or above "
        "shop.freeShippingOver); null where the shop does not deliver."
    )


@strawberry.type(description="The shop: its name, currency and languages (`gateway init`).")
class Shop:
    name: str = strawberry.field(description="The shop's name.")
    currency: str = strawberry.field(description="The currency it sells in (ISO 4217).")
    languages: list[str] = strawberry.field(
        description="Language tags it sells in (BCP 47); the first is the default."
    )
    free_shipping_over: Money = strawberry.field(
        description="Goods (after discounts) at or above this ship free."
    )

    @strawberry.field(
        description="The regions an address form offers, by code: every region the shop "
        "was set up with, deliverable or not."
    )
    async def regions(self, info: Info) -> list[ShopRegion]:
        return await shop_regions(info, self.languages)


async def shop_regions(info: Info, languages: list[str]) -> list[ShopRegion]:
    """Every region of the orders source, named in ``languages`` (the first is the default)."""
    settings = info.context.settings
    found = []
    for region in await info.context.sources.orders.regions():
        names = region_names(region, languages, known_regions(region.country))
        rate = region.shipping_rate if region.is_deliverable else None
        found.append(
            ShopRegion(
                code=region.code,
                country=region.country,
                name=names[languages[0]] if languages else region.name,
                names=[LocalizedText(language=lang, text=text) for lang, text in names.items()],
                is_deliverable=region.is_deliverable,
                shipping_rate=Money.of(rate, settings.currency) if rate is not None else None,
            )
        )
    return found
