"""Plain records the catalog hands out; ORM objects never leave the source."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sources.common.batches import BatchRefusal
from sources.common.fast_init import fast_inits
from sources.common.translations import Translation


class ProductKind(StrEnum):
    PHYSICAL = "PHYSICAL"
    SERVICE = "SERVICE"
    BUNDLE = "BUNDLE"


class FulfillmentMode(StrEnum):
    WAREHOUSE = "WAREHOUSE"
    DROPSHIP = "DROPSHIP"


class ProductSort(StrEnum):
    NEWEST = "NEWEST"
    PRICE_ASC = "PRICE_ASC"
    PRICE_DESC = "PRICE_DESC"
    NAME = "NAME"


class AttributeKind(StrEnum):
    TEXT = "TEXT"
    NUMBER = "NUMBER"  # a decimal, with the attribute's unit
    BOOLEAN = "BOOLEAN"
    CHOICE = "CHOICE"  # one of the attribute's choices


@dataclass(frozen=True, slots=True)
class ProductOption:
    """One way a product's SKUs differ ("Colour": Black, White), values in display order."""

    name: str
    values: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SelectedOption:
    name: str
    value: str


@dataclass(frozen=True, slots=True)
class Dimensions:
    """A parcel's size for shipping, in millimetres."""

    length_mm: int
    width_mm: int
    height_mm: int


@dataclass(frozen=True, slots=True)
class Category:
    id: int
    slug: str
    name: str
    parent_id: int | None
    path: tuple[int, ...]  # ids from the root down to this category, inclusive
    translations: tuple[Translation, ...] = ()  # its name in the shop's other languages


@dataclass(frozen=True, slots=True)
class Presale:
    deposit: Decimal
    currency: str
    starts_at: datetime
    ends_at: datetime
    ships_from: datetime


@dataclass(frozen=True, slots=True)
class Product:
    id: int
    slug: str
    name: str
    description: str
    kind: ProductKind
    fulfillment: FulfillmentMode
    is_published: bool
    category_id: int | None
    brand: str | None
    supplier_id: int | None
    created_at: datetime
    presale: Presale | None
    price_min: Decimal | None
    price_max: Decimal | None
    currency: str
    in_stock: bool
    # Defaulted so records built before they existed (tests, old callers) still construct.
    options: tuple[ProductOption, ...] = ()
    tags: tuple[str, ...] = ()
    seo_title: str | None = None
    seo_description: str | None = None
    weight_grams: int | None = None
    dimensions: Dimensions | None = None
    archived_at: datetime | None = None
    reserve_on_add: bool = False  # a cart holds its stock on add (flash sales)
    # Name and description in the shop's other languages, and the brand's name in them:
    # read with the row, so every language costs the same one query.
    translations: tuple[Translation, ...] = ()
    brand_translations: tuple[Translation, ...] = ()


@dataclass(frozen=True, slots=True)
class Sku:
    id: int
    product_id: int
    code: str
    name: str
    is_active: bool
    purchase_limit: int | None
    selected_options: tuple[SelectedOption, ...] = ()
    image_id: int | None = None  # one of its product's media


@dataclass(frozen=True, slots=True)
class ProductMedia:
    """One image of a product: where its bytes are stored, what they are, alt text by
    language ("en", "zh-CN")."""

    id: int
    product_id: int
    position: int
    storage_key: str
    content_type: str
    width: int
    height: int
    alt: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class MediaFields:
    """A stored image being attached to a product (the gateway has checked its bytes)."""

    storage_key: str
    content_type: str
    width: int
    height: int
    alt: tuple[tuple[str, str], ...] = ()
    sku_ids: tuple[int, ...] = ()  # SKUs this becomes the image of


@dataclass(frozen=True, slots=True)
class MediaWrite:
    """The media written; for a removal, ``storage_key`` is what storage may now drop."""

    id: int | None = None
    refusal: CatalogRefusal | None = None
    detail: str = ""
    replayed: bool = False
    storage_key: str | None = None


@dataclass(frozen=True, slots=True)
class AttributeDefinition:
    """A typed specification defined on a category; it applies to the products of that
    category and of every category under it."""

    id: int
    category_id: int
    code: str
    name: str
    kind: AttributeKind
    unit: str | None
    choices: tuple[str, ...]
    position: int


@dataclass(frozen=True, slots=True)
class Specification:
    """A product's value of one attribute; exactly the field of its kind is set (TEXT and
    CHOICE: ``text``)."""

    attribute: AttributeDefinition
    text: str | None = None
    number: Decimal | None = None
    boolean: bool | None = None


@dataclass(frozen=True, slots=True)
class BundleItem:
    """One part of a bundle, with its SKU and product, so a bundle page resolves its parts
    in the same tick as its own SKUs (and their stock and prices batch together)."""

    bundle_product_id: int
    quantity: int
    sku: Sku
    product: Product


@dataclass(frozen=True, slots=True)
class Supplier:
    id: int
    name: str


@dataclass(frozen=True, slots=True)
class AttributeCondition:
    """A facet: products whose value of the attribute with this code is one of ``values``
    (TEXT, CHOICE), within [``min``, ``max``] (NUMBER), or equal to ``boolean``."""

    code: str
    values: tuple[str, ...] = ()
    min: Decimal | None = None
    max: Decimal | None = None
    boolean: bool | None = None


@dataclass(frozen=True, slots=True)
class ProductFilter:
    """Listing filter; every field is optional and they combine with AND."""

    category_id: int | None = None
    category_slug: str | None = None
    kind: ProductKind | None = None
    in_stock: bool | None = None
    search: str | None = None
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    include_unpublished: bool = False
    attributes: tuple[AttributeCondition, ...] = ()
    # What search facets select: any of these brands, any of these categories (each with
    # its subcategories).
    brands: tuple[str, ...] = ()
    category_slugs: tuple[str, ...] = ()
    price_band: str | None = None  # a price facet value: "100-300" (lowest price within)


class SearchSort(StrEnum):
    RELEVANCE = "RELEVANCE"
    PRICE_ASC = "PRICE_ASC"
    PRICE_DESC = "PRICE_DESC"
    NEWEST = "NEWEST"


@dataclass(frozen=True, slots=True)
class SearchFacetValue:
    value: str
    label: str
    count: int
    translations: tuple[Translation, ...] = ()  # the label in other languages


@dataclass(frozen=True, slots=True)
class SearchFacet:
    name: str  # "category", "brand", "kind", "price", "availability", "spec:<code>"
    label: str
    values: tuple[SearchFacetValue, ...]
    translations: tuple[Translation, ...] = ()  # the label in other languages


@dataclass(frozen=True, slots=True)
class SearchPage:
    """One page of ranked results, with the facet value counts of the whole result
    (each facet counted under the other filters, not its own) and, when the engine
    searched for a corrected spelling, what it searched for."""

    products: list[Product]
    cursors: list[str]
    has_next_page: bool
    total_count: int
    facets: tuple[SearchFacet, ...] = ()
    corrected_query: str | None = None


@dataclass(frozen=True, slots=True)
class SearchSuggestions:
    """What to offer while the buyer types: products, categories and completed words."""

    products: list[Product]
    category_ids: list[int]
    queries: list[str]


@dataclass(frozen=True, slots=True)
class ProductPage:
    products: list[Product]
    cursors: list[str]
    has_next_page: bool
    # None when the caller did not ask for it (``list_products(with_total=False)``).
    total_count: int | None


@dataclass(frozen=True, slots=True)
class PublishChange:
    product_id: int
    published: bool
    ref: int = 0


@dataclass(frozen=True, slots=True)
class PublishBatch:
    """The product after each change (None: no such product), in the order asked;
    ``replayed`` when an earlier batch with the same key applied them; ``refusal`` when
    nothing was applied (an unknown product with ``atomic``, or a reused key)."""

    products: tuple[Product | None, ...]
    replayed: bool = False
    refusal: BatchRefusal | None = None


@dataclass(frozen=True, slots=True)
class ListingUpdate:
    """A product's listing projection as pricing and inventory now say it is."""

    product_id: int
    price_range: tuple[Decimal, Decimal] | None = None
    in_stock: bool | None = None


class CatalogRefusal(StrEnum):
    """Why the catalog refused a back-office write (nothing was written)."""

    NOT_FOUND = "NOT_FOUND"  # the product, SKU, category or attribute named does not exist
    SLUG_TAKEN = "SLUG_TAKEN"
    CODE_TAKEN = "CODE_TAKEN"
    NAME_TAKEN = "NAME_TAKEN"
    CATEGORY_NOT_FOUND = "CATEGORY_NOT_FOUND"
    SUPPLIER_NOT_FOUND = "SUPPLIER_NOT_FOUND"
    CATEGORY_CYCLE = "CATEGORY_CYCLE"  # a category moved under itself or its descendant
    OPTIONS_INVALID = "OPTIONS_INVALID"  # a SKU's picks do not match its product's options
    OPTIONS_TAKEN = "OPTIONS_TAKEN"  # another SKU of the product has the same picks
    OPTIONS_IN_USE = "OPTIONS_IN_USE"  # new options would leave a SKU's picks invalid
    ATTRIBUTE_INVALID = "ATTRIBUTE_INVALID"  # not of the product's category, or mistyped
    ARCHIVED = "ARCHIVED"  # an archived product takes no changes
    KEY_REUSED = "KEY_REUSED"


@dataclass(frozen=True, slots=True)
class SpecificationValue:
    """A value for one attribute, in the field of its kind (TEXT and CHOICE: ``text``)."""

    attribute_id: int
    text: str | None = None
    number: Decimal | None = None
    boolean: bool | None = None


@dataclass(frozen=True, slots=True)
class ProductFields:
    """A product's writable fields. On create the gateway has checked the required ones;
    on update None leaves a field as it is, and ``clear`` names nullable fields to empty."""

    name: str | None = None
    slug: str | None = None
    description: str | None = None
    kind: ProductKind | None = None
    fulfillment: FulfillmentMode | None = None
    category_id: int | None = None
    brand: str | None = None
    supplier_id: int | None = None
    options: tuple[ProductOption, ...] | None = None
    tags: tuple[str, ...] | None = None
    seo_title: str | None = None
    seo_description: str | None = None
    weight_grams: int | None = None
    dimensions: Dimensions | None = None
    specifications: tuple[SpecificationValue, ...] | None = None  # replaces all when set
    is_published: bool | None = None
    reserve_on_add: bool | None = None
    clear: tuple[str, ...] = ()
    # Name and description by language ({"zh-CN": {"name": ..., "description": ...}});
    # replaces all when set.
    translations: dict[str, dict[str, str]] | None = None


@dataclass(frozen=True, slots=True)
class SkuFields:
    name: str | None = None
    code: str | None = None
    is_active: bool | None = None
    purchase_limit: int | None = None
    selected_options: tuple[SelectedOption, ...] | None = None
    clear: tuple[str, ...] = ()  # "purchase_limit"


@dataclass(frozen=True, slots=True)
class CategoryFields:
    name: str | None = None
    slug: str | None = None
    parent_id: int | None = None
    position: int | None = None


@dataclass(frozen=True, slots=True)
class AttributeFields:
    category_id: int
    code: str
    name: str
    kind: AttributeKind
    unit: str | None = None
    choices: tuple[str, ...] = ()
    position: int = 0


@dataclass(frozen=True, slots=True)
class CatalogWrite:
    """What a back-office write did: the id written (created or changed), or why nothing
    was (``detail`` says what to fix); ``replayed`` when an earlier request with the same
    idempotency key did it."""

    id: int | None = None
    refusal: CatalogRefusal | None = None
    detail: str = ""
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class CartCatalog:
    """What a cart's price and validation need of the catalog, read in one call: its SKUs
    and their products, the bundles' parts, the service areas of its services and the
    categories (with their ancestors) of every product, bundle parts' included. A SKU that
    does not exist is absent from ``skus``."""

    skus: dict[int, Sku]
    products: dict[int, Product]
    bundles: dict[int, list[BundleItem]]
    service_areas: dict[int, list[str]]
    categories: dict[int, Category]


# Every record above: a cheaper __init__ (sources/common/fast_init.py).
fast_inits(globals())
