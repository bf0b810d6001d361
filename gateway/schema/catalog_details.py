"""What a product page shows beyond name and price: options and the SKU a buyer's picks
name, typed specifications, SEO text, shipping weight and size."""

from __future__ import annotations

from decimal import Decimal

import strawberry

from sources.catalog.records import AttributeDefinition as AttributeRecord
from sources.catalog.records import AttributeKind as AttributeKindRecord
from sources.catalog.records import Dimensions as DimensionsRecord
from sources.catalog.records import ProductOption as ProductOptionRecord
from sources.catalog.records import SelectedOption as SelectedOptionRecord
from sources.catalog.records import Sku as SkuRecord
from sources.catalog.records import Specification as SpecificationRecord

from .enums import describe_values
from .node import encode_id

AttributeKind = strawberry.enum(
    AttributeKindRecord,
    name="AttributeKind",
    description="How an attribute's value is typed: free text, a number with the "
    "attribute's unit, yes or no, or one of the attribute's choices.",
)
describe_values(
    AttributeKindRecord,
    {
        "TEXT": "Free text.",
        "NUMBER": "A Decimal number in the attribute's unit.",
        "BOOLEAN": "Yes or no.",
        "CHOICE": "One of the attribute's choices, by its code.",
    },
)


@strawberry.type(description="One way a product's SKUs differ, with its values in order.")
class ProductOption:
    name: str = strawberry.field(description='The option\'s name, e.g. "Colour".')
    values: list[str] = strawberry.field(description="Its values, in display order.")

    @classmethod
    def from_record(cls, record: ProductOptionRecord) -> ProductOption:
        return cls(name=record.name, values=list(record.values))


@strawberry.type(description="The value a SKU takes for one of its product's options.")
class SelectedOption:
    name: str = strawberry.field(description="The option's name.")
    value: str = strawberry.field(description="This SKU's value of it.")

    @classmethod
    def from_record(cls, record: SelectedOptionRecord) -> SelectedOption:
        return cls(name=record.name, value=record.value)


@strawberry.input(description="A buyer's pick of one option's value.")
class SelectedOptionInput:
    name: str = strawberry.field(description="The option's name.")
    value: str = strawberry.field(description="The value picked.")


def sku_matching(skus: list[SkuRecord], picks: list[SelectedOptionInput]) -> SkuRecord | None:
    """The SKU whose options are exactly the picks (every option named once); names and
    values compare exactly, as the product lists them."""
    wanted = {p.name: p.value for p in picks}
    if len(wanted) != len(picks):
        return None
    for sku in skus:
        if sku.selected_options and {o.name: o.value for o in sku.selected_options} == wanted:
            return sku
    return None


@strawberry.type(description="Search-engine text for the product page.")
class Seo:
    title: str = strawberry.field(description="The page title; the product's name if unset.")
    description: str = strawberry.field(
        description="The meta description; the start of the product's description if unset."
    )


SEO_DESCRIPTION_FALLBACK = 160


@strawberry.type(description="A parcel's size for shipping, in millimetres.")
class Dimensions:
    length_mm: int = strawberry.field(description="Length in millimetres.")
    width_mm: int = strawberry.field(description="Width in millimetres.")
    height_mm: int = strawberry.field(description="Height in millimetres.")

    @classmethod
    def from_record(cls, record: DimensionsRecord) -> Dimensions:
        return cls(length_mm=record.length_mm, width_mm=record.width_mm, height_mm=record.height_mm)


@strawberry.type(
    description="A typed specification defined on a category; it applies to the products "
    "of that category and every category under it."
)
class AttributeDefinition:
    id: strawberry.ID = strawberry.field(
        description="Its id, for productCreate's and productUpdate's specifications."
    )
    code: str = strawberry.field(description="Stable identifier, unique in its category.")
    name: str = strawberry.field(description='Shown to buyers, e.g. "Screen size".')
    kind: AttributeKindRecord = strawberry.field(description="How values are typed.")
    unit: str | None = strawberry.field(description='NUMBER attributes: e.g. "in", "mAh".')
    choices: list[str] = strawberry.field(description="CHOICE attributes: the allowed values.")
    record: strawberry.Private[AttributeRecord]

    @classmethod
    def from_record(cls, record: AttributeRecord) -> AttributeDefinition:
        return cls(
            id=encode_id("AttributeDefinition", record.id),
            code=record.code,
            name=record.name,
            kind=record.kind,
            unit=record.unit,
            choices=list(record.choices),
            record=record,
        )


def _display(record: SpecificationRecord) -> str:
    kind = record.attribute.kind
    if kind is AttributeKindRecord.BOOLEAN:
        return "Yes" if record.boolean else "No"
    if kind is AttributeKindRecord.NUMBER and record.number is not None:
        unit = record.attribute.unit
        return f"{record.number} {unit}" if unit else str(record.number)
    return record.text or ""


@strawberry.type(description="A product's value of one attribute.")
class Specification:
    attribute: AttributeDefinition = strawberry.field(description="What the value is of.")
    text: str | None = strawberry.field(description="TEXT and CHOICE attributes: the value.")
    number: Decimal | None = strawberry.field(description="NUMBER attributes: the value.")
    boolean: bool | None = strawberry.field(description="BOOLEAN attributes: the value.")
    display: str = strawberry.field(
        description='The value as a product page prints it: "6.1 in", "Yes", "OLED".'
    )

    @classmethod
    def from_record(cls, record: SpecificationRecord) -> Specification:
        return cls(
            attribute=AttributeDefinition.from_record(record.attribute),
            text=record.text,
            number=record.number,
            boolean=record.boolean,
            display=_display(record),
        )
