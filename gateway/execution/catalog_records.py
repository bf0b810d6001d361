"""Record forms of the listing's small objects (gateway/execution/records.py): money, price
ranges, prices, stock levels, promotions and categories, completed from what the sources
return. Each function gives what the strawberry type's attribute holds after its
``from_record`` (the differential tests compare every field with standard execution, which
builds the objects); ``build`` is that ``from_record``, for the fields not listed here.

The batch forms in gateway/execution/catalog_batches.py return these values; standard
execution never sees them.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import Any, TypeAlias

from sources.catalog.records import Category as CategoryRecord
from sources.catalog.records import Product as ProductRecord
from sources.catalog.records import Sku as SkuRecord
from sources.common.money import CENT
from sources.inventory.records import StockLevel as StockRecord
from sources.pricing.records import Price as PriceRecord
from sources.pricing.records import Promotion as PromotionRecord

from ..i18n.request import name_in_language, translated
from ..resilience.degrade import as_of
from ..schema.catalog import Category, Product, ProductEdge, Sku
from ..schema.catalog_details import SelectedOption
from ..schema.common import Money
from ..schema.inventory import StockLevel
from ..schema.node import encode_id
from ..schema.pricing import Price, PriceRange, Promotion
from ..stock.view import StockView
from .records import RecordForm, expression, record_form

# The small values the batch forms give (catalog_batches.py) are plain tuples, and each
# type's form takes values of exactly ``tuple``. They were a tuple subclass per type: one
# such value costs some 1,100 instructions more to make and free than the tuple it holds
# (the subclass's constructor copies a tuple made first; its dealloc goes the generic
# way), and a listing makes some 600 (1.2 % of its instructions). The class told the
# executor nothing a tuple does not: at these types' positions the other values are the
# strawberry objects resolvers answer, never a plain tuple.
MoneyValue: TypeAlias = tuple[Decimal, str]  # an amount (not yet quantized), its currency
PriceRangeValue: TypeAlias = tuple[MoneyValue, MoneyValue]  # the lowest and highest sale price
StockValue: TypeAlias = tuple[StockRecord, int]  # the record, its exact figure (summed once)
# A SKU's record and its product's (what ``Sku.from_record`` is given): a listing's SKUs
# stay these, with no strawberry ``Sku`` each, where every field asked for comes from the
# table below or a batch form that takes them (ObjectPlan.keeps_records).
SkuValue: TypeAlias = tuple[SkuRecord, ProductRecord | None]
EdgeValue: TypeAlias = tuple[str, ProductRecord]  # a listing's edge: its cursor, its product


def product_records(parents: Sequence[Any]) -> list[ProductRecord]:
    """The product records of a batch form's parents: records or strawberry ``Product``s
    (the executor never mixes the two in one call)."""
    if parents and type(parents[0]) is ProductRecord:
        return list(parents)
    return [p.record for p in parents]


def sku_records(parents: Sequence[Any]) -> list[SkuRecord]:
    """The SKU records of a batch form's parents: ``SkuValue``s or strawberry ``Sku``s
    (the executor never mixes the two in one call)."""
    if parents and type(parents[0]) is tuple:
        return [p[0] for p in parents]
    return [p.record for p in parents]


# sources.common.money.quantize's rounding, with the default context's precision and traps
# (a Context copies DefaultContext's), called as a context's method: its two arguments go
# positionally, where ``Decimal.quantize``'s keyword costs _decimal a keyword parse per
# call (some 1,400 of the 4,400 instructions of each of a listing's ~300 amounts).
_CENTS = Context(rounding=ROUND_HALF_UP)


def stock(record: StockRecord) -> StockValue:
    return (record, record.available)


def _viewer_stock(context: Any) -> StockView:
    # gateway/schema/inventory.py:stock_view, from the context rather than an Info.
    return StockView.for_viewer(context.settings.stock, context.viewer)


record_form(
    RecordForm(
        "Money",
        tuple,  # MoneyValue
        build=lambda v, _: Money.of(v[0], v[1]),
        # Strawberry's Decimal serializes with str(): the amount quantized, as a string.
        fields={
            # quantize(amount), written out: the listing writes some 300 amounts.
            "amount": expression(
                "str(quantize({r}[0], CENT))", quantize=_CENTS.quantize, CENT=CENT
            ),
            "currency": expression("{r}[1]"),
        },
        serialized=frozenset({"amount"}),
    )
)

record_form(
    RecordForm(
        "PriceRange",
        tuple,  # PriceRangeValue
        build=lambda v, _: PriceRange(min=Money.of(*v[0]), max=Money.of(*v[1])),
        fields={"min": expression("{r}[0]"), "max": expression("{r}[1]")},
    )
)

record_form(
    RecordForm(
        "Price",
        PriceRecord,
        build=lambda r, _: Price.from_record(r, as_of(r)),
        fields={
            "list": expression("({r}.list_amount, {r}.currency)"),
            "sale": expression("({r}.sale_amount, {r}.currency)"),
            "asOf": lambda r, _: as_of(r),
        },
    )
)

record_form(
    RecordForm(
        "StockLevel",
        tuple,  # StockValue
        build=lambda v, view: StockLevel.from_record(v[0], view),
        fields={
            "available": expression("{env}.available({r}[1])"),
            "inStock": expression("{r}[1] > 0"),
            "status": expression("{env}.status({r}[1])"),
        },
        environment=_viewer_stock,
    )
)


def _promotion_name(record: PromotionRecord, _: Any) -> str:
    text = translated(record.translations)
    return text.name if text else record.name


def _promotion_description(record: PromotionRecord, _: Any) -> str:
    text = translated(record.translations)
    return text.description if text and text.description else record.description


record_form(
    RecordForm(
        "Promotion",
        PromotionRecord,
        build=lambda r, _: Promotion.from_record(r),
        fields={
            "id": expression("encode_id('Promotion', {r}.id)", encode_id=encode_id),
            "name": _promotion_name,
            "kind": expression("{r}.kind"),
            "description": _promotion_description,
            "startsAt": expression("{r}.starts_at"),
            "endsAt": expression("{r}.ends_at"),
            "couponRequired": expression("{r}.coupon_required"),
        },
        shared=True,  # the same live promotions' records for every product of a page
    )
)

record_form(
    RecordForm(
        "Category",
        CategoryRecord,
        build=lambda r, _: Category.from_record(r),
        fields={
            "id": expression("encode_id('Category', {r}.id)", encode_id=encode_id),
            "slug": expression("{r}.slug"),
            "name": expression(
                "name_in_language({r}.name, {r}.translations)", name_in_language=name_in_language
            ),
        },
        shared=True,  # one record per category, memoised by its loader
    )
)

record_form(
    RecordForm(
        "Sku",
        tuple,  # SkuValue
        build=lambda v, _: Sku.from_record(v[0], v[1]),
        fields={
            "id": expression("encode_id('Sku', {r}[0].id)", encode_id=encode_id),
            "code": expression("{r}[0].code"),
            "name": expression("{r}[0].name"),
            "active": expression("{r}[0].is_active"),
            "purchaseLimit": expression("{r}[0].purchase_limit"),
            "selectedOptions": lambda v, _: [
                SelectedOption.from_record(o) for o in v[0].selected_options
            ],
        },
    )
)


# Product.from_record's text, field by field (it picks the request's language).
def _product_name(r: ProductRecord, _: Any) -> str:
    text = translated(r.translations)
    return text.name if text else r.name


def _product_description(r: ProductRecord, _: Any) -> str:
    text = translated(r.translations)
    return text.description if text and text.description else r.description


def _product_brand(r: ProductRecord, _: Any) -> str | None:
    return None if r.brand is None else name_in_language(r.brand, r.brand_translations)


record_form(
    RecordForm(
        "Product",
        ProductRecord,
        build=lambda r, _: Product.from_record(r),
        fields={
            "id": expression("encode_id('Product', {r}.id)", encode_id=encode_id),
            "slug": expression("{r}.slug"),
            "name": _product_name,
            "description": _product_description,
            "kind": expression("{r}.kind"),
            "fulfillment": expression("{r}.fulfillment"),
            "published": expression("{r}.is_published"),
            "brand": _product_brand,
            "tags": expression("list({r}.tags)"),
            "weightGrams": expression("{r}.weight_grams"),
            "archived": expression("{r}.archived_at is not None"),
            "reserveOnAdd": expression("{r}.reserve_on_add"),
        },
    )
)

record_form(
    RecordForm(
        "ProductEdge",
        tuple,  # EdgeValue
        build=lambda v, _: ProductEdge(cursor=v[0], node=Product.from_record(v[1])),
        fields={"cursor": expression("{r}[0]"), "node": expression("{r}[1]")},
    )
)
