"""Drafting the demo catalogue from the product lines, with one seeded generator.

Every special case a storefront or checkout must handle is *placed*, not left to chance:
counts come from ``CatalogueMix`` and positions from the generator, so even the smallest
shop has presales in each state, drop-ship items, bundles, services, unpublished, sold-out
and discontinued products, and every leaf category has products.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal

from sources.common.money import quantize

from .catalog_data import (
    MODEL_SUFFIXES,
    PRODUCT_LINES,
    SERIES,
    SERVICE_BRAND,
    SERVICE_OFFERS,
    SUPPLIERS,
    ProductLine,
    ServiceOffer,
)
from .drafts import (
    MAX_PRICE,
    PRESALE_ROLES,
    CatalogueMix,
    PresaleTerms,
    ProductDraft,
    Role,
    SkuDraft,
    nice_price,
)
from .shop_data import DELIVERABLE_REGIONS, WAREHOUSES

DAY = 86_400  # seconds
SERVICE_STOCK = 100_000  # services never run out; a stock row keeps "available" meaningful
PRESALE_PURCHASE_LIMIT = 2
BUNDLE_PRICE = Decimal("0.92")  # of the parts' sale prices
SERVICE_QUALIFIERS = ("Express", "Weekend", "Premium", "Same-Day", "Evening")


def draft_catalogue(rng: random.Random, mix: CatalogueMix, now: datetime) -> list[ProductDraft]:
    """Products ``1..mix.size``, older ids first as an autoincrement would give; SKU ids
    follow product order."""
    return _Drafter(rng, mix, now).draft()


class _Drafter:
    def __init__(self, rng: random.Random, mix: CatalogueMix, now: datetime) -> None:
        self.rng = rng
        self.mix = mix
        self.now = now

    def draft(self) -> list[ProductDraft]:
        rng, mix = self.rng, self.mix
        ages = sorted(rng.sample(range(DAY, 365 * DAY), mix.size), reverse=True)
        created = [self.now - timedelta(seconds=age) for age in ages]
        roles = self._assign_roles(ages)
        by_role = {role: [i for i, r in enumerate(roles) if r is role] for role in Role}

        # Flags fall on plain warehouse products (unpublished also on drop-ship ones) and
        # never overlap, so each special case can be seen on its own.
        flagged = rng.sample(by_role[Role.PHYSICAL], mix.sold_out + mix.discontinued)
        sold_out, discontinued = set(flagged[: mix.sold_out]), set(flagged[mix.sold_out :])
        hideable = sorted(set(by_role[Role.PHYSICAL] + by_role[Role.DROPSHIP]) - set(flagged))
        unpublished = set(rng.sample(hideable, mix.unpublished))

        lines = self._spread(PRODUCT_LINES, len(by_role[Role.PHYSICAL]))
        dropship_lines = self._spread(
            [line for line in PRODUCT_LINES if line.is_dropship_eligible],
            len(by_role[Role.DROPSHIP]),
        )
        presale_lines = [line for line in PRODUCT_LINES if line.has_models]
        offers = iter(
            list(SERVICE_OFFERS)
            + [rng.choice(SERVICE_OFFERS) for _ in range(mix.services - len(SERVICE_OFFERS))]
        )

        drafts: dict[int, ProductDraft] = {}
        offered: set[str] = set()
        for i, role in enumerate(roles):
            if role is Role.PHYSICAL:
                drafts[i] = self._goods(i, role, lines.pop(), created[i])
            elif role is Role.DROPSHIP:
                drafts[i] = self._goods(i, role, dropship_lines.pop(), created[i])
            elif role in PRESALE_ROLES:
                drafts[i] = self._goods(i, role, rng.choice(presale_lines), created[i])
            elif role is Role.SERVICE:
                offer = next(offers)
                drafts[i] = self._service(i, offer, created[i], is_repeat=offer.code in offered)
                offered.add(offer.code)
            if i in sold_out:
                for sku in drafts[i].skus:
                    sku.warehouse_stock = dict.fromkeys(sku.warehouse_stock, 0)
            if i in discontinued:
                for sku in drafts[i].skus:
                    sku.is_active = False
            if i in unpublished:
                drafts[i].is_published = False

        bundler = _Bundler(drafts.values())
        for i in by_role[Role.BUNDLE]:
            drafts[i] = self._bundle(i, created[i], bundler)

        catalogue = [drafts[i] for i in range(mix.size)]
        sku_id = 0
        for product in catalogue:
            for sku in product.skus:
                sku_id += 1
                sku.id = sku_id
        return catalogue

    def _assign_roles(self, ages: list[int]) -> list[Role]:
        """Presales go to products at least 60 days old, so every presale window opens
        after its product was created."""
        rng, mix = self.rng, self.mix
        roles = [Role.PHYSICAL] * mix.size
        seasoned = [i for i, age in enumerate(ages) if age >= 60 * DAY]
        presales = (
            [Role.PRESALE_OPEN] * mix.presale_open
            + [Role.PRESALE_UPCOMING] * mix.presale_upcoming
            + [Role.PRESALE_ENDED] * mix.presale_ended
        )
        for i, role in zip(rng.sample(seasoned, len(presales)), presales, strict=True):
            roles[i] = role
        rest = [i for i, role in enumerate(roles) if role is Role.PHYSICAL]
        rng.shuffle(rest)
        others = [Role.SERVICE] * mix.services + [Role.BUNDLE] * mix.bundles
        others += [Role.DROPSHIP] * mix.dropship
        for i, role in zip(rest, others, strict=False):
            roles[i] = role
        return roles

    def _spread(self, lines: Sequence[ProductLine], count: int) -> list[ProductLine]:
        """Every line at least once (as far as ``count`` allows), the rest by weight."""
        picked = list(lines[:count]) + self.rng.choices(
            lines, weights=[line.weight for line in lines], k=max(0, count - len(lines))
        )
        self.rng.shuffle(picked)
        return picked

    def _goods(self, i: int, role: Role, line: ProductLine, created: datetime) -> ProductDraft:
        rng = self.rng
        noun, low, high = rng.choice(line.nouns)
        suffix = rng.choice(MODEL_SUFFIXES) if line.has_models else ""
        name = f"{rng.choice(SERIES)} {noun}{suffix}"
        # Squared so cheap items outnumber dear ones, as in any shop.
        base = nice_price(Decimal(int(low + (high - low) * rng.random() ** 2)))
        step = 1 + Decimal(str(line.variants.price_step))
        discount = rng.choice((5, 10, 15, 20, 25, 30)) if rng.random() < 0.4 else 0
        skus: list[SkuDraft] = []
        for n, label in enumerate(self._variant_labels(line)):
            list_amount = nice_price(base * step**n)
            sale = min(nice_price(list_amount * (100 - discount) / 100), list_amount)
            limit = rng.choice((1, 2, 3, 5)) if rng.random() < 0.1 else None
            skus.append(SkuDraft(label, list_amount, sale, self._cost(sale), purchase_limit=limit))
        if len(skus) > 1 and rng.random() < 0.1:
            skus[-1].is_active = False  # a retired variant next to live ones

        supplier = None
        if role is Role.DROPSHIP:
            supplier = rng.choice(SUPPLIERS)
            for sku in skus:
                sku.supplier_available = 0 if rng.random() < 0.12 else rng.randint(20, 999)
        else:
            count = rng.choices((1, 2, 3), cum_weights=(30, 70, 100))[0]
            warehouses = sorted(rng.sample([w.id for w in WAREHOUSES], count))
            for sku in skus:
                sku.warehouse_stock = self._stock(warehouses)

        presale = self._presale(role, skus) if role in PRESALE_ROLES else None
        if presale:
            for sku in skus:
                sku.purchase_limit = PRESALE_PURCHASE_LIMIT
            ships = f"{presale.ships_from.day} {presale.ships_from:%B %Y}"
            closing = f"Pre-order with a ¥{presale.deposit} deposit; ships from {ships}."
        elif role is Role.DROPSHIP:
            closing = "Ships directly from our partner within 3 to 5 days."
        else:
            closing = rng.choice(
                (
                    "Ships within 48 hours from our own warehouses.",
                    "Free returns within 7 days of delivery.",
                    "Backed by a one-year manufacturer warranty.",
                )
            )
        first, second = rng.sample(line.features, 2)
        return ProductDraft(
            id=i + 1,
            role=role,
            code=line.code,
            name=name,
            description=f"{name} with {first} and {second}. {closing}",
            category=line.category,
            brand=rng.choice(line.brands),
            created_at=created,
            stamp=self._stamp(created),
            skus=skus,
            supplier=supplier,
            presale=presale,
            option_name=line.variants.axis,
        )

    def _variant_labels(self, line: ProductLine) -> list[str]:
        options = line.variants.options
        count = min(self.rng.choices((1, 2, 3, 4), cum_weights=(35, 65, 85, 100))[0], len(options))
        if line.variants.is_ordered:
            start = self.rng.randrange(len(options) - count + 1)
            return list(options[start : start + count])
        return [options[j] for j in sorted(self.rng.sample(range(len(options)), count))]

    def _stock(self, warehouses: list[int]) -> dict[int, int]:
        roll = self.rng.random()
        if roll < 0.05:  # out of stock everywhere
            return dict.fromkeys(warehouses, 0)
        if roll < 0.13:  # the last few units, in one warehouse
            return {w: self.rng.randint(1, 3) if n == 0 else 0 for n, w in enumerate(warehouses)}
        return {w: self.rng.randint(5, 400) for w in warehouses}

    def _presale(self, role: Role, skus: list[SkuDraft]) -> PresaleTerms:
        rng, now = self.rng, self.now
        cheapest = min(s.sale_amount for s in skus)
        share = cheapest * rng.choice((10, 15, 20)) / 1000
        deposit = quantize(max(share.to_integral_value(ROUND_DOWN) * 10, Decimal(10)))
        if role is Role.PRESALE_OPEN:
            starts = now - timedelta(days=rng.randint(1, 10), hours=rng.randrange(24))
            ends = now + timedelta(days=rng.randint(7, 30), hours=rng.randrange(24))
        elif role is Role.PRESALE_UPCOMING:
            starts = now + timedelta(days=rng.randint(3, 10), hours=rng.randrange(24))
            ends = starts + timedelta(days=14)
        else:
            ends = now - timedelta(days=rng.randint(5, 15), hours=rng.randrange(24))
            starts = ends - timedelta(days=21)
        ships = ends + timedelta(days=rng.randint(5, 20))
        return PresaleTerms(deposit, starts, ends, ships)

    def _service(
        self, i: int, offer: ServiceOffer, created: datetime, *, is_repeat: bool
    ) -> ProductDraft:
        rng = self.rng
        name = f"{rng.choice(SERVICE_QUALIFIERS)} {offer.name}" if is_repeat else offer.name
        low, high = offer.price_range
        base = nice_price(Decimal(int(low + (high - low) * rng.random())))
        skus: list[SkuDraft] = []
        for n, tier in enumerate(offer.tiers):
            price = nice_price(base * Decimal("1.6") ** n)
            stock = {WAREHOUSES[0].id: SERVICE_STOCK}
            skus.append(SkuDraft(tier, price, price, self._cost(price), warehouse_stock=stock))
        # Technicians work out of the warehouses' regions, and some regions beyond.
        home = [w.region_code for w in WAREHOUSES]
        beyond = [r.code for r in DELIVERABLE_REGIONS if r.code not in home]
        extra = rng.sample(beyond, rng.randint(*offer.region_count) - len(home))
        return ProductDraft(
            id=i + 1,
            role=Role.SERVICE,
            code=offer.code,
            name=name,
            description=offer.description,
            category=offer.category,
            brand=SERVICE_BRAND,
            created_at=created,
            stamp=self._stamp(created),
            skus=skus,
            service_regions=tuple(sorted(home + extra)),
            installs=offer.installs,
            option_name="Plan",
        )

    def _bundle(self, i: int, created: datetime, bundler: _Bundler) -> ProductDraft:
        rng = self.rng
        goods = rng.choice(bundler.goods)
        part = rng.choice([s for s in goods.skus if s.is_active and s.available > 0])
        service = rng.choice(bundler.installers.get(goods.category) or bundler.protections)
        extra = service.skus[0]

        list_amount = min(part.list_amount + extra.list_amount, MAX_PRICE)
        sale = min(nice_price((part.sale_amount + extra.sale_amount) * BUNDLE_PRICE), list_amount)
        cost = part.cost_amount + extra.cost_amount
        if cost >= sale:
            cost = quantize(sale * Decimal("0.8"))
        # The bundle ships from the part's warehouses, so it has a kit allocation there.
        stock = {w: min(q, rng.randint(3, 30)) for w, q in part.warehouse_stock.items() if q > 0}
        sku = SkuDraft("Bundle", list_amount, sale, cost, warehouse_stock=stock)
        variant = f" ({part.label})" if len(goods.skus) > 1 else ""
        return ProductDraft(
            id=i + 1,
            role=Role.BUNDLE,
            code="BDL",
            name=f"{goods.name}{variant} with {service.name}",
            description=(
                f"{goods.name} together with {service.name}, for less than buying them apart."
            ),
            category=goods.category,
            brand=goods.brand,
            created_at=created,
            stamp=self._stamp(created),
            skus=[sku],
            bundle_of=(part, extra),
        )

    def _cost(self, sale: Decimal) -> Decimal:
        return quantize(sale * self.rng.randint(45, 75) / 100)

    def _stamp(self, created: datetime) -> datetime:
        return max(created, self.now - timedelta(seconds=self.rng.randrange(600, 14 * DAY)))


class _Bundler:
    """What bundles are made of: one in-stock physical SKU plus the service that installs
    its product (or, where nothing installs it, one that protects it)."""

    def __init__(self, drafts: Iterable[ProductDraft]) -> None:
        drafted = list(drafts)
        services = [p for p in drafted if p.role is Role.SERVICE]
        self.installers: dict[str, list[ProductDraft]] = {}
        for service in services:
            for category in service.installs:
                self.installers.setdefault(category, []).append(service)
        self.protections = [s for s in services if not s.installs] or services
        orderable = [
            p for p in drafted if p.role is Role.PHYSICAL and p.is_published and p.is_in_stock
        ]
        self.goods = [p for p in orderable if p.category in self.installers] or orderable
