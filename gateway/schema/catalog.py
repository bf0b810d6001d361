"""Catalog types: categories, products, SKUs and how a listing pages."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Annotated

import strawberry

from sources.catalog.records import AttributeCondition as AttributeConditionRecord
from sources.catalog.records import Category as CategoryRecord
from sources.catalog.records import FulfillmentMode as FulfillmentRecord
from sources.catalog.records import Product as ProductRecord
from sources.catalog.records import ProductKind as ProductKindRecord
from sources.catalog.records import ProductPage
from sources.catalog.records import ProductSort as ProductSortRecord
from sources.catalog.records import Sku as SkuRecord
from sources.catalog.store import parse_newest_cursor
from sources.common.pagination import InvalidCursor
from sources.common.translations import Translation as TranslationRecord

from ..auth import Permission
from ..i18n.request import name_in_language, translated
from ..payments.presale_deadline import balance_due_at
from ..resilience.degrade import as_of, stale_if
from ..resilience.listing import listable_edges
from .audit import AuditEntry
from .catalog_details import (
    SEO_DESCRIPTION_FALLBACK,
    AttributeDefinition,
    Dimensions,
    ProductOption,
    SelectedOption,
    SelectedOptionInput,
    Seo,
    Specification,
    sku_matching,
)
from .common import BadUserInput, Info, Money, PageInfo, page_size
from .enums import describe_values
from .inventory import StockLevel, stock_view
from .media import ProductMedia
from .node import Node, encode_id
from .permissions import staff_only
from .pricing import Price, PriceRange, Promotion

# The sources' enums are the schema's: one list of values, no mapping to drift.
ProductKind = strawberry.enum(
    ProductKindRecord, name="ProductKind", description="What kind of thing a product sells."
)
describe_values(
    ProductKindRecord,
    {
        "PHYSICAL": "Goods that ship in a parcel.",
        "SERVICE": "A service done at the buyer's address (an appointment, no parcel).",
        "BUNDLE": "A set of other SKUs sold together (bundleItems), shipped as they are.",
    },
)
FulfillmentMode = strawberry.enum(
    FulfillmentRecord, name="FulfillmentMode", description="Who ships a product."
)
describe_values(
    FulfillmentRecord,
    {
        "WAREHOUSE": "The shop, from its own warehouses.",
        "DROPSHIP": "A drop-ship supplier, straight to the buyer.",
    },
)
ProductSort = strawberry.enum(
    ProductSortRecord, name="ProductSort", description="The order of a product listing."
)
describe_values(
    ProductSortRecord,
    {
        "NEWEST": "Most recently created first.",
        "PRICE_ASC": "Lowest sale price first.",
        "PRICE_DESC": "Highest sale price first.",
        "NAME": "By name, A to Z.",
    },
)


def visible(info: Info, product: ProductRecord | None) -> ProductRecord | None:
    """Unpublished products exist only for staff who manage products."""
    if product is None:
        return None
    if product.is_published or info.context.viewer.has(Permission.MANAGE_PRODUCTS):
        return product
    return None


@strawberry.type(description="A drop-ship supplier: it ships its products to buyers itself.")
class Supplier:
    id: strawberry.ID = strawberry.field(description="The supplier's global id (Relay).")
    name: str = strawberry.field(description="The supplier's name, unique in the shop.")


@strawberry.type(
    description=(
        "A presale: buyers pay a deposit now and the balance when it ends; "
        "goods ship from shipsFrom."
    )
)
class Presale:
    deposit: Money = strawberry.field(description="The deposit per unit, paid at checkout.")
    starts_at: datetime = strawberry.field(description="When buyers can start ordering (UTC).")
    ends_at: datetime = strawberry.field(
        description="When ordering ends and the balance falls due (UTC)."
    )
    ships_from: datetime = strawberry.field(description="The earliest the goods ship (UTC).")

    @strawberry.field(
        description="The presale's terms: the balance must be paid by then (UTC; "
        "ORDER_BALANCE_TTL after endsAt). An order whose balance is still unpaid is "
        "cancelled then and its deposit is kept, not refunded (定金不退)."
    )
    def balance_due_at(self, info: Info) -> datetime:
        ttl = timedelta(seconds=info.context.settings.payments.order_balance_ttl_seconds)
        return balance_due_at(self.ends_at, ttl)


@strawberry.type(description="A catalog category; categories form a tree.")
class Category(Node):
    slug: str = strawberry.field(description="The category's URL name, unique in the shop.")
    name: str = strawberry.field(
        description="The category's display name, in the request's language (Accept-Language; "
        "its base name where it has no translation)."
    )
    record: strawberry.Private[CategoryRecord]

    @classmethod
    def from_record(cls, record: CategoryRecord) -> Category:
        return cls(
            id=encode_id("Category", record.id),
            slug=record.slug,
            name=name_in_language(record.name, record.translations),
            record=record,
        )

    @strawberry.field(description="The category it sits under; null at the top.")
    async def parent(self, info: Info) -> Category | None:
        if self.record.parent_id is None:
            return None
        parent = await info.context.loaders.catalog.category.load(self.record.parent_id)
        return Category.from_record(parent) if parent else None

    @strawberry.field(
        description="The specifications this category's products carry: its own attributes "
        "and its parent categories', the nearest category's first."
    )
    async def attributes(self, info: Info) -> list[AttributeDefinition]:
        found = await info.context.loaders.catalog.category_attributes.load(self.record.id)
        return [AttributeDefinition.from_record(a) for a in found]

    @strawberry.field(
        description="Published products in this category and its subcategories, newest first."
    )
    async def products(
        self,
        info: Info,
        first: Annotated[
            int | None,
            strawberry.argument(
                description=(
                    "Page size: at most GATEWAY_MAX_PAGE_SIZE (100 by default); 20 when omitted."
                )
            ),
        ] = None,
        after: Annotated[
            str | None,
            strawberry.argument(
                description="A cursor from a previous page's edges (or pageInfo.endCursor)."
            ),
        ] = None,
    ) -> ProductConnection:
        size = page_size(info, first)
        if after is not None:
            try:
                parse_newest_cursor(after)
            except InvalidCursor as exc:
                raise BadUserInput(f"after: {exc}", code="INVALID_CURSOR") from None
        page = await info.context.loaders.catalog.category_products.load(
            (self.record.id, size, after)
        )
        connection = ProductConnection.from_page(page, after=after)
        connection.edges = await listable_edges(info, connection.edges)
        return connection


@strawberry.type(description="A product's name and description in one language.")
class ProductTranslation:
    language: str = strawberry.field(description='Its language, a BCP 47 tag: "zh-CN", "en".')
    name: str = strawberry.field(description="The product's name in it.")
    description: str | None = strawberry.field(
        description="The product's description in it; null where only the name is translated."
    )

    @classmethod
    def from_record(cls, record: TranslationRecord) -> ProductTranslation:
        return cls(language=record.language, name=record.name, description=record.description)


@strawberry.type(
    description=(
        "A product: what a listing shows, with the SKUs a buyer picks from. "
        "Unpublished products are visible to MANAGE_PRODUCTS staff only."
    )
)
class Product(Node):
    slug: str = strawberry.field(description="The product's URL name, unique in the shop.")
    name: str = strawberry.field(
        description="The product's display name, in the request's language (Accept-Language; "
        "its base name where it has no translation)."
    )
    description: str = strawberry.field(
        description="The product's description, plain text, in the request's language."
    )
    kind: ProductKindRecord = strawberry.field(
        description="Physical goods, a service or a bundle of other SKUs."
    )
    fulfillment: FulfillmentRecord = strawberry.field(
        description="Who ships it: the shop's warehouses or a drop-ship supplier."
    )
    published: bool = strawberry.field(description="Whether buyers can see and order it.")
    brand: str | None = strawberry.field(
        description="The brand, in the request's language; null when none."
    )
    presale: Presale | None = strawberry.field(
        description="Null unless sold on presale (deposit now, balance later)."
    )
    options: list[ProductOption] = strawberry.field(
        description="How the product's SKUs differ (e.g. Colour: Black, White), each "
        "option's values in display order; empty for a product with one SKU."
    )
    tags: list[str] = strawberry.field(description="Merchandising tags, in the order set.")
    weight_grams: int | None = strawberry.field(
        description="Shipping weight in grams; null when not recorded."
    )
    dimensions: Dimensions | None = strawberry.field(
        description="Shipping size; null when not recorded."
    )
    archived: bool = strawberry.field(
        description="Archived products are withdrawn for good (never deleted: orders name "
        "them); they are unpublished."
    )
    reserve_on_add: bool = strawberry.field(
        description="A flash-sale item: adding one of its SKUs to a cart holds the stock at "
        "once (CartLine.reservedUntil), so the buyer who has it in the cart can check it out."
    )
    record: strawberry.Private[ProductRecord]

    @classmethod
    def from_record(cls, record: ProductRecord) -> Product:
        presale = None
        if record.presale is not None:
            p = record.presale
            presale = Presale(
                deposit=Money.of(p.deposit, p.currency),
                starts_at=p.starts_at,
                ends_at=p.ends_at,
                ships_from=p.ships_from,
            )
        text = translated(record.translations)
        brand = record.brand
        if brand is not None:
            brand = name_in_language(brand, record.brand_translations)
        return cls(
            id=encode_id("Product", record.id),
            slug=record.slug,
            name=text.name if text else record.name,
            description=text.description if text and text.description else record.description,
            kind=record.kind,
            fulfillment=record.fulfillment,
            published=record.is_published,
            brand=brand,
            presale=presale,
            options=[ProductOption.from_record(o) for o in record.options],
            tags=list(record.tags),
            weight_grams=record.weight_grams,
            dimensions=Dimensions.from_record(record.dimensions) if record.dimensions else None,
            archived=record.archived_at is not None,
            reserve_on_add=record.reserve_on_add,
            record=record,
        )

    @strawberry.field(description="Search-engine title and description, with fallbacks.")
    def seo(self) -> Seo:
        record = self.record
        description = record.seo_description
        if not description:
            description = self.description[:SEO_DESCRIPTION_FALLBACK]
        return Seo(title=record.seo_title or self.name, description=description)

    @strawberry.field(
        extensions=staff_only(Permission.MANAGE_PRODUCTS),
        description="Its name and description in each language beyond the base ones "
        "(productUpdate's translations sets them). MANAGE_PRODUCTS staff only (null for "
        "others).",
    )
    def translations(self) -> list[ProductTranslation] | None:
        return [ProductTranslation.from_record(t) for t in self.record.translations]

    @strawberry.field(
        description="The SKU whose options are exactly these picks (one per option), so "
        "a product page resolves a buyer's choice in the same request; null when none is."
    )
    async def sku_by_selected_options(
        self,
        info: Info,
        selected_options: Annotated[
            list[SelectedOptionInput],
            strawberry.argument(
                description=(
                    'One value per option, e.g. [{name: "Colour", value: "Black"}] (at most 20).'
                )
            ),
        ],
    ) -> Sku | None:
        if len(selected_options) > 20:
            raise BadUserInput("selectedOptions: at most 20 options")
        skus = await info.context.loaders.catalog.skus_by_product.load(self.record.id)
        found = sku_matching(skus, selected_options)
        return Sku.from_record(found, self.record) if found else None

    @strawberry.field(
        description="The product's images in order (the first is its main picture); a "
        "listing asking for them costs one catalog call for all its products."
    )
    async def media(
        self,
        info: Info,
        first: Annotated[
            int,
            strawberry.argument(
                description="How many images, first to last (at most GATEWAY_MAX_PAGE_SIZE)."
            ),
        ] = 20,
    ) -> list[ProductMedia]:
        if not 0 <= first <= 100:
            raise BadUserInput("first must be 0 to 100")
        found = await info.context.loaders.catalog.media.load(self.record.id)
        return [ProductMedia.from_record(m) for m in found[:first]]

    @strawberry.field(
        description="The product's specifications (typed attribute values), in the order "
        "of their definitions."
    )
    async def specifications(self, info: Info) -> list[Specification]:
        found = await info.context.loaders.catalog.specifications.load(self.record.id)
        return [Specification.from_record(s) for s in found]

    @strawberry.field(description="The category it is listed in; null when none.")
    async def category(self, info: Info) -> Category | None:
        if self.record.category_id is None:
            return None
        category = await info.context.loaders.catalog.category.load(self.record.category_id)
        return Category.from_record(category) if category else None

    @strawberry.field(description="The product's SKUs, in the order created.")
    async def skus(self, info: Info) -> list[Sku]:
        skus = await info.context.loaders.catalog.skus_by_product.load(self.record.id)
        return [Sku.from_record(s, self.record) for s in skus]

    @strawberry.field(description="Sale prices of the product's active SKUs, lowest to highest.")
    async def price_range(self, info: Info) -> PriceRange:
        loaders = info.context.loaders
        skus = await loaders.catalog.skus_by_product.load(self.record.id)
        # Active SKUs only, as the listing's price sort and filter see them.
        chosen = [s for s in skus if s.is_active]
        prices = [p for p in await loaders.pricing.price.load_many([s.id for s in chosen]) if p]
        currency = info.context.settings.currency
        amounts = [p.sale_amount for p in prices] or [Decimal(0)]
        price_range = PriceRange(
            min=Money.of(min(amounts), currency), max=Money.of(max(amounts), currency)
        )
        return stale_if(price_range, *prices)  # type: ignore[return-value]

    @strawberry.field(description="Whether any active SKU can be ordered now.")
    async def in_stock(self, info: Info) -> bool:
        loaders = info.context.loaders
        skus = [
            s for s in await loaders.catalog.skus_by_product.load(self.record.id) if s.is_active
        ]
        levels = await loaders.inventory.stock.load_many([s.id for s in skus])
        return stale_if(any(level.in_stock for level in levels), *levels)  # type: ignore[return-value]

    @strawberry.field(description="Empty unless kind is BUNDLE.")
    async def bundle_items(self, info: Info) -> list[BundleItem]:
        items = await info.context.loaders.catalog.bundle_items.load(self.record.id)
        return [
            BundleItem(sku=Sku.from_record(item.sku, item.product), quantity=item.quantity)
            for item in items
            if visible(info, item.product)
        ]

    @strawberry.field(description="Active promotions that can apply to this product now.")
    async def promotions(self, info: Info) -> list[Promotion]:
        loaders = info.context.loaders
        path: tuple[int, ...] = ()
        if self.record.category_id is not None:
            category = await loaders.catalog.category.load(self.record.category_id)
            path = category.path if category else ()
        promotions = await loaders.pricing.promotions.load((self.record.id, path))
        return stale_if(  # type: ignore[return-value]
            [Promotion.from_record(p) for p in promotions], promotions
        )

    @strawberry.field(
        extensions=staff_only(Permission.MANAGE_PRODUCTS),
        description="Publishing changes, newest first.",
    )
    async def audit_log(
        self,
        info: Info,
        first: Annotated[
            int,
            strawberry.argument(
                description="How many entries, newest first (at most GATEWAY_MAX_PAGE_SIZE)."
            ),
        ] = 20,
    ) -> list[AuditEntry] | None:
        entries = await info.context.loaders.catalog.audit.load(
            (self.record.id, page_size(info, first))
        )
        return [AuditEntry.from_record(e) for e in entries]

    @strawberry.field(
        extensions=staff_only(Permission.MANAGE_PRODUCTS),
        description=(
            "The drop-ship supplier; null for warehouse goods. MANAGE_PRODUCTS "
            "staff only (null for others)."
        ),
    )
    async def supplier(self, info: Info) -> Supplier | None:
        if self.record.supplier_id is None:
            return None
        supplier = await info.context.loaders.catalog.supplier.load(self.record.supplier_id)
        if supplier is None:
            return None
        return Supplier(id=encode_id("Supplier", supplier.id), name=supplier.name)


@strawberry.type(
    description=(
        "A stock-keeping unit: one buyable variant of a product, with its own price and stock."
    )
)
class Sku(Node):
    code: str = strawberry.field(description="The merchant's SKU code, unique in the shop.")
    name: str = strawberry.field(
        description="The SKU's display name, e.g. the product name with its options."
    )
    active: bool = strawberry.field(
        description="Whether it can be ordered (an inactive SKU stays visible but unbuyable)."
    )
    purchase_limit: int | None = strawberry.field(description="Per customer; null when unlimited.")
    selected_options: list[SelectedOption] = strawberry.field(
        description="This SKU's value of each of its product's options."
    )
    record: strawberry.Private[SkuRecord]
    product_record: strawberry.Private[ProductRecord | None]

    @classmethod
    def from_record(cls, record: SkuRecord, product: ProductRecord | None = None) -> Sku:
        return cls(
            id=encode_id("Sku", record.id),
            code=record.code,
            name=record.name,
            active=record.is_active,
            purchase_limit=record.purchase_limit,
            selected_options=[SelectedOption.from_record(o) for o in record.selected_options],
            record=record,
            product_record=product,
        )

    @strawberry.field(
        description="The SKU's own picture (e.g. the photo of its colour); null when it "
        "has none (show the product's first image)."
    )
    async def image(self, info: Info) -> ProductMedia | None:
        if self.record.image_id is None:
            return None
        media = await info.context.loaders.catalog.media.load(self.record.product_id)
        found = next((m for m in media if m.id == self.record.image_id), None)
        return ProductMedia.from_record(found) if found else None

    @strawberry.field(description="The product it belongs to.")
    async def product(self, info: Info) -> Product:
        product = self.product_record or await info.context.loaders.catalog.product.load(
            self.record.product_id
        )
        if product is None:  # a SKU without its product is a broken catalog, not input
            raise RuntimeError(f"SKU {self.record.id} has no product")
        return Product.from_record(product)

    @strawberry.field(description="Its prices now.")
    async def price(self, info: Info) -> Price:
        price = await info.context.loaders.pricing.price.load(self.record.id)
        if price is None:
            raise RuntimeError(
                f"SKU {self.record.id} has no price in {info.context.settings.currency}"
            )
        return stale_if(Price.from_record(price, as_of(price)), price)  # type: ignore[return-value]

    @strawberry.field(
        description="Its stock: what buyers may know, and more for MANAGE_STOCK staff."
    )
    async def stock(self, info: Info) -> StockLevel:
        level = await info.context.loaders.inventory.stock.load(self.record.id)
        return stale_if(StockLevel.from_record(level, stock_view(info)), level)  # type: ignore[return-value]

    @strawberry.field(
        extensions=staff_only(
            Permission.MANAGE_STOCK, Permission.MANAGE_PRICES, Permission.VIEW_FINANCE
        ),
        description="Stock and price changes, newest first.",
    )
    async def audit_log(
        self,
        info: Info,
        first: Annotated[
            int,
            strawberry.argument(
                description="How many entries, newest first (at most GATEWAY_MAX_PAGE_SIZE)."
            ),
        ] = 20,
    ) -> list[AuditEntry] | None:
        key = (self.record.id, page_size(info, first))
        loaders = info.context.loaders
        stock, prices = await asyncio.gather(
            loaders.inventory.audit.load(key), loaders.pricing.audit.load(key)
        )
        merged = sorted([*stock, *prices], key=lambda e: e.at, reverse=True)[: key[1]]
        return [AuditEntry.from_record(e) for e in merged]

    @strawberry.field(
        extensions=staff_only(Permission.VIEW_FINANCE, Permission.MANAGE_PRICES),
        description=(
            "What the shop pays for one unit, in the shop's currency. VIEW_FINANCE "
            "or MANAGE_PRICES staff only (null for others)."
        ),
    )
    async def cost_price(self, info: Info) -> Money | None:
        cost = await info.context.loaders.pricing.cost_price.load(self.record.id)
        return Money.of(cost, info.context.settings.currency) if cost is not None else None


@strawberry.type(description="One SKU in a bundle and how many of it a bundle holds.")
class BundleItem:
    sku: Sku = strawberry.field(description="The SKU included.")
    quantity: int = strawberry.field(description="Units of it in one bundle.")


@strawberry.type(description="One product and its cursor.")
class ProductEdge:
    cursor: str = strawberry.field(
        description="Pass as `after` to get the products after this one."
    )
    node: Product = strawberry.field(description="The product.")


@strawberry.type(description="A page of products (Relay connection).")
class ProductConnection:
    edges: list[ProductEdge] = strawberry.field(
        description="The products on this page, each with its cursor."
    )
    page_info: PageInfo = strawberry.field(
        description="Whether there are more pages, and the cursors to reach them."
    )
    total_count: int = strawberry.field(
        description="How many products match the filter, across all pages."
    )

    @classmethod
    def from_page(cls, page: ProductPage, *, after: str | None) -> ProductConnection:
        edges = [
            ProductEdge(cursor=cursor, node=Product.from_record(product))
            for product, cursor in zip(page.products, page.cursors, strict=True)
        ]
        return cls(
            edges=edges,
            page_info=PageInfo.of(page.cursors, has_next_page=page.has_next_page, after=after),
            # Not counted only when the query does not select totalCount (resolvers/catalog).
            total_count=page.total_count if page.total_count is not None else 0,
        )


@strawberry.input(
    description="A facet on a specification: products whose value of the attribute with "
    "this code is one of values (TEXT, CHOICE), within min..max (NUMBER), or equal to "
    "boolean (BOOLEAN)."
)
class AttributeFilterInput:
    code: str = strawberry.field(description="The attribute's code, e.g. screen_size.")
    values: list[str] | None = strawberry.field(default=None, description="Any of these.")
    min: Decimal | None = strawberry.field(default=None, description="At least this.")
    max: Decimal | None = strawberry.field(default=None, description="At most this.")
    boolean: bool | None = strawberry.field(default=None, description="Exactly this.")


MAX_ATTRIBUTE_FILTERS = 10


@strawberry.input(description="Narrows a product listing; the conditions given must all hold.")
class ProductFilter:
    category_slug: str | None = strawberry.field(
        default=None, description="In this category or any below it (Category.slug)."
    )
    kind: ProductKindRecord | None = strawberry.field(
        default=None, description="Of this kind only."
    )
    in_stock: bool | None = strawberry.field(
        default=None, description="True: only products a buyer can order now."
    )
    search: str | None = strawberry.field(
        default=None, description="Words to find in the name, brand or description."
    )
    min_price: Decimal | None = strawberry.field(
        default=None,
        description="Sale price at least this, a Decimal string in the shop's currency.",
    )
    max_price: Decimal | None = strawberry.field(
        default=None,
        description="Sale price at most this, a Decimal string in the shop's currency.",
    )
    attributes: list[AttributeFilterInput] | None = strawberry.field(
        default=None,
        description="Specification facets; each must hold (at most 10).",
    )
    brands: list[str] | None = strawberry.field(
        default=None, description="Products of any of these brands (a search facet's values)."
    )
    category_slugs: list[str] | None = strawberry.field(
        default=None,
        description="Products in any of these categories or their subcategories.",
    )
    price_band: str | None = strawberry.field(
        default=None,
        description="A price facet value such as 100-300: lowest price from 100, below 300.",
    )

    def attribute_conditions(self) -> tuple[AttributeConditionRecord, ...]:
        return tuple(
            AttributeConditionRecord(
                code=a.code, values=tuple(a.values or ()), min=a.min, max=a.max, boolean=a.boolean
            )
            for a in self.attributes or ()
        )

    def validate(self) -> None:
        for name, value in (("minPrice", self.min_price), ("maxPrice", self.max_price)):
            if value is not None and (not value.is_finite() or value < 0):
                raise BadUserInput(f"filter.{name} must be a non-negative amount")
        if (
            self.min_price is not None
            and self.max_price is not None
            and self.min_price > self.max_price
        ):
            raise BadUserInput("filter.minPrice must not exceed filter.maxPrice")
        if self.search is not None and (len(self.search) > 200 or "\x00" in self.search):
            raise BadUserInput("filter.search must be at most 200 characters of text")
        if self.category_slug is not None and "\x00" in self.category_slug:
            raise BadUserInput("filter.categorySlug is not a slug")
        for name, texts in (("brands", self.brands), ("categorySlugs", self.category_slugs)):
            if len(texts or ()) > 50 or any(len(t) > 200 or "\x00" in t for t in texts or ()):
                raise BadUserInput(f"filter.{name}: at most 50 names")
        if self.price_band is not None and (len(self.price_band) > 40 or "\x00" in self.price_band):
            raise BadUserInput("filter.priceBand is a price facet's value")
        facets = self.attributes or []
        if len(facets) > MAX_ATTRIBUTE_FILTERS:
            raise BadUserInput(f"filter.attributes: at most {MAX_ATTRIBUTE_FILTERS}")
        for facet in facets:
            if not 0 < len(facet.code) <= 64 or "\x00" in facet.code:
                raise BadUserInput("filter.attributes.code is an attribute's code")
            if len(facet.values or ()) > 50 or any(
                len(v) > 500 or "\x00" in v for v in facet.values or ()
            ):
                raise BadUserInput("filter.attributes.values: at most 50 texts")
            for bound in (facet.min, facet.max):
                if bound is not None and (not bound.is_finite() or abs(bound) >= Decimal("1e14")):
                    raise BadUserInput("filter.attributes.min and max are numbers")
