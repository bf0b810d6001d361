"""Inputs and payloads of the back-office catalog mutations. In an update, a field left
out is left as it is and a nullable field given as null is cleared."""

from decimal import Decimal

import strawberry

from sources.catalog.records import AttributeKind as AttributeKindRecord
from sources.catalog.records import FulfillmentMode as FulfillmentRecord
from sources.catalog.records import ProductKind as ProductKindRecord

from .catalog import Category, Supplier
from .catalog_details import AttributeDefinition, SelectedOptionInput
from .errors import UserError


@strawberry.input(description="An option and its values, in display order.")
class ProductOptionInput:
    name: str = strawberry.field(description="The option's name, e.g. Colour.")
    values: list[str] = strawberry.field(description="Its values, in display order.")


@strawberry.input(description="A product's size for shipping, in millimetres.")
class DimensionsInput:
    length_mm: int = strawberry.field(description="Length in millimetres.")
    width_mm: int = strawberry.field(description="Width in millimetres.")
    height_mm: int = strawberry.field(description="Height in millimetres.")


@strawberry.input(
    description="A value of one attribute of the product's category, in the field its "
    "kind uses (TEXT and CHOICE: text)."
)
class SpecificationInput:
    attribute_id: strawberry.ID = strawberry.field(description="The attribute's id.")
    text: str | None = strawberry.field(default=None, description="TEXT or CHOICE value.")
    number: Decimal | None = strawberry.field(default=None, description="NUMBER value.")
    boolean: bool | None = strawberry.field(default=None, description="BOOLEAN value.")


@strawberry.input(description="A product's name and description in one language.")
class ProductTranslationInput:
    language: str = strawberry.field(
        description='A BCP 47 tag, e.g. "zh-CN" or "en" (one of the shop\'s languages is '
        "what buyers are shown; matched without regard to case)."
    )
    name: str = strawberry.field(description="The product's name in it (1 to 300 characters).")
    description: str | None = strawberry.field(
        default=None,
        description="Its description in it; null or left out: buyers are shown the base one.",
    )


@strawberry.input(
    description="A product's fields. productCreate needs name (slug defaults to it); "
    "productUpdate changes what is given, and a nullable field given as null is cleared."
)
class ProductInput:
    name: str | None = strawberry.field(default=strawberry.UNSET, description="Display name.")
    slug: str | None = strawberry.field(
        default=strawberry.UNSET, description="URL key: lowercase words joined by hyphens."
    )
    description: str | None = strawberry.field(default=strawberry.UNSET, description="Text.")
    kind: ProductKindRecord | None = strawberry.field(
        default=strawberry.UNSET, description="PHYSICAL unless given (create only)."
    )
    fulfillment: FulfillmentRecord | None = strawberry.field(
        default=strawberry.UNSET, description="WAREHOUSE unless given."
    )
    category_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="The category it is listed in."
    )
    brand: str | None = strawberry.field(
        default=strawberry.UNSET, description="Brand name (a new one is added)."
    )
    supplier_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="Drop-ship supplier."
    )
    options: list[ProductOptionInput] | None = strawberry.field(
        default=strawberry.UNSET,
        description="At most 3; every SKU must still pick one value of each.",
    )
    tags: list[str] | None = strawberry.field(default=strawberry.UNSET, description="Tags.")
    seo_title: str | None = strawberry.field(default=strawberry.UNSET, description="SEO title.")
    seo_description: str | None = strawberry.field(
        default=strawberry.UNSET, description="SEO description."
    )
    weight_grams: int | None = strawberry.field(
        default=strawberry.UNSET, description="Shipping weight in grams."
    )
    dimensions: DimensionsInput | None = strawberry.field(
        default=strawberry.UNSET, description="Shipping size."
    )
    specifications: list[SpecificationInput] | None = strawberry.field(
        default=strawberry.UNSET, description="Replaces all of the product's values when given."
    )
    published: bool | None = strawberry.field(
        default=strawberry.UNSET, description="Unpublished unless given (create)."
    )
    reserve_on_add: bool | None = strawberry.field(
        default=strawberry.UNSET,
        description="A flash-sale item: adding one of its SKUs to a cart holds the stock at "
        "once for CART_RESERVATION_TTL (CartLine.reservedUntil). False unless given (create).",
    )
    translations: list[ProductTranslationInput] | None = strawberry.field(
        default=strawberry.UNSET,
        description="Its name and description in other languages, each language once; "
        "replaces all of them when given (an empty list or null removes them). Search finds "
        "the product by them on the next request.",
    )


@strawberry.input(description="A SKU's sale and list price in the shop's currency.")
class SkuPriceInput:
    list: Decimal = strawberry.field(description="List price.")
    sale: Decimal = strawberry.field(description="Sale price (at most the list price).")


@strawberry.input(
    description="A SKU's fields. skuCreate needs name, code and price; skuUpdate changes "
    "what is given (its price changes through priceSet)."
)
class SkuInput:
    name: str | None = strawberry.field(default=strawberry.UNSET, description="Display name.")
    code: str | None = strawberry.field(
        default=strawberry.UNSET, description="Unique code (warehouse and price files)."
    )
    active: bool | None = strawberry.field(
        default=strawberry.UNSET, description="Sellable; true unless given (create)."
    )
    purchase_limit: int | None = strawberry.field(
        default=strawberry.UNSET, description="Per customer; null: unlimited."
    )
    selected_options: list[SelectedOptionInput] | None = strawberry.field(
        default=strawberry.UNSET, description="One value of each of the product's options."
    )
    price: SkuPriceInput | None = strawberry.field(
        default=strawberry.UNSET, description="skuCreate only: its first price."
    )


@strawberry.input(description="A category's fields; categoryUpdate changes what is given.")
class CategoryInput:
    name: str | None = strawberry.field(default=strawberry.UNSET, description="Display name.")
    slug: str | None = strawberry.field(
        default=strawberry.UNSET, description="URL key; defaults to the name's."
    )
    parent_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="categoryCreate only (moving: categoryMove)."
    )
    position: int | None = strawberry.field(
        default=strawberry.UNSET, description="Order among its siblings."
    )


@strawberry.input(description="An attribute of a category, created or changed by its code.")
class AttributeDefineInput:
    category_id: strawberry.ID = strawberry.field(description="The category it is defined on.")
    code: str = strawberry.field(description="Stable identifier, unique in the category.")
    name: str = strawberry.field(description="Shown to buyers.")
    kind: AttributeKindRecord = strawberry.field(description="How values are typed.")
    unit: str | None = strawberry.field(default=None, description="NUMBER only.")
    choices: list[str] | None = strawberry.field(default=None, description="CHOICE only.")
    position: int = strawberry.field(default=0, description="Order in the category.")


@strawberry.type(description="The category written, or why not.")
class CategoryPayload:
    category: Category | None = strawberry.field(default=None, description="As written.")
    replayed: bool = strawberry.field(
        default=False, description="True when an earlier request with this key created it."
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list, description="Why not.")


@strawberry.type(description="The attribute written, or why not.")
class AttributePayload:
    attribute: AttributeDefinition | None = strawberry.field(
        default=None, description="As written."
    )
    replayed: bool = strawberry.field(
        default=False, description="True when an earlier request with this key wrote it."
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list, description="Why not.")


@strawberry.type(description="The supplier created, or why not.")
class SupplierPayload:
    supplier: Supplier | None = strawberry.field(default=None, description="As created.")
    replayed: bool = strawberry.field(
        default=False, description="True when an earlier request with this key created it."
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list, description="Why not.")
